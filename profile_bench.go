//go:build benchprofile

package main

// Built only by tools/bench (go build -tags benchprofile), never into the
// binary that ships: with MUC_KICK_CPUPROFILE set to a file name, SIGUSR1
// starts a CPU profile of the process into that file and SIGUSR2 ends it,
// so that the bench profiles exactly the runs it measures.

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("MUC_KICK_CPUPROFILE")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sig {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path); err == nil && pprof.StartCPUProfile(f) != nil {
					f.Close()
					f = nil
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				f.Close()
				f = nil
			}
		}
	}()
}

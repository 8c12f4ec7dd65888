// Command holdserver is the memory baseline of tools/bench: the smallest
// server that does what muc-kick's HTTP side does for a kick waiting on a
// slow XMPP server. It serves POST /muc_kick with httprouter on an
// http.Server with muc-kick's timeouts, decodes the JSON body, and holds the
// request until POST /release; GET /readyz answers 200. Its resident memory
// with N requests held is the floor that net/http sets for N kicks in
// flight.
//
// Released, it is part 2's floor: with a PEER, a request to
// /muc_kick?trip=DURATION is answered after one round trip to it (peer.go)
// that the peer answers DURATION late, as a kick waits for its IQ's reply;
// every other one at once. With -echo it is that peer.
//
//	holdserver 127.0.0.1:PORT [PEER]
//	holdserver -echo 127.0.0.1:PORT
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/tools/bench/baseline"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-echo" {
		fmt.Fprintln(os.Stderr, "holdserver:", echo(os.Args[2]))
		os.Exit(1)
	}
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: holdserver host:port [peer] | holdserver -echo host:port")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdserver:", err)
		os.Exit(1)
	}
	var p *peer
	if len(os.Args) == 3 {
		if p, err = dialPeer(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "holdserver:", err)
			os.Exit(1)
		}
	}
	var held atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	r := httprouter.New()
	r.POST("/muc_kick", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		if !baseline.Decode(w, req) {
			return
		}
		held.Add(1)
		defer held.Add(-1)
		select {
		case <-release:
		case <-req.Context().Done():
			return
		}
		if d, err := time.ParseDuration(req.URL.Query().Get("trip")); err == nil && p != nil {
			if p.roundTrip(req.Context(), d) != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		baseline.Answer(w)
	})
	r.POST("/release", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		once.Do(func() { close(release) })
	})
	r.GET("/readyz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {})
	r.GET("/held", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		fmt.Fprintln(w, held.Load())
	})
	r.GET("/metrics", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\ngo_memstats_sys_bytes %d\n",
			runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, ms.Sys)
	})
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	fmt.Fprintln(os.Stderr, srv.Serve(ln))
}

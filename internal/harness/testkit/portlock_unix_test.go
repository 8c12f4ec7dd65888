//go:build unix

package testkit

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// lockFrom takes port's lock through a file of its own, as another process
// (another package's test binary) would: flock(2) locks belong to the open
// file, so a second open in this process stands for another process.
func lockFrom(t *testing.T, port int) (*os.File, error) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// TestFreePortsHoldsItsPortsAgainstOtherProcesses: a port FreePorts hands
// out stays locked for as long as this process runs, and a port another
// process holds is not handed out.
func TestFreePortsHoldsItsPortsAgainstOtherProcesses(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range ports {
		if _, err := lockFrom(t, port); !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Errorf("port %d: another process could lock it (%v)", port, err)
		}
	}
	pickedMu.Lock()
	defer pickedMu.Unlock()
	// A port this process did not pick, locked now as another process would.
	other := portMax
	for ; picked[other] || !lockedHere(t, other); other-- {
		if other < portMax-100 {
			t.Fatal("no port near the top of the range to lock")
		}
	}
	if reservePort(other) {
		t.Errorf("port %d, held by another process, was reserved", other)
	}
}

func lockedHere(t *testing.T, port int) bool {
	_, err := lockFrom(t, port)
	return err == nil
}

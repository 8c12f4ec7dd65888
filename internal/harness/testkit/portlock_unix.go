//go:build unix

package testkit

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// portLockDir holds one lock file per port handed out by FreePorts, in
// any process on this machine.
var portLockDir = filepath.Join(os.TempDir(), "muc-kick-test-ports")

// lockedPorts keeps the lock files open, and so their locks held, until
// the process ends: the kernel then lets them go, however it ends.
var lockedPorts []*os.File

// reservePort takes port for this process against every other one that
// reserves ports the same way: go test runs the packages' test binaries
// side by side, and each has its own record of the ports it picked, so two
// of them could otherwise hand one port to two servers (an ejabberd then
// failed to start with "address already in use"). It reports false when
// another process holds port. Called with pickedMu held.
func reservePort(port int) bool {
	if err := os.MkdirAll(portLockDir, 0o1777); err != nil {
		return true // no lock dir: fall back to the bind check alone
	}
	f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	lockedPorts = append(lockedPorts, f)
	return true
}

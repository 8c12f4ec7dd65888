//go:build !unix

package testkit

// reservePort has no lock to take where flock(2) is missing: FreePorts
// relies on its bind check alone.
func reservePort(int) bool { return true }

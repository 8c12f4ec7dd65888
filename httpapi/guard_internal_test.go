package httpapi

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// TestGuardMemoryIsBounded floods the guard from many addresses: its table
// never holds more than its maximum, an address that cannot be tracked is
// not blocked, and addresses that stopped failing make room.
func TestGuardMemoryIsBounded(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newGuard(Options{Now: func() time.Time { return clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FailureLogInterval: time.Hour})
	g.max = 100
	addr := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	for i := range 10000 {
		for range DefaultFailureBurst + 1 {
			g.failed(addr(i))
		}
	}
	if len(g.addrs) != g.max {
		t.Fatalf("%d addresses tracked, want %d", len(g.addrs), g.max)
	}
	if g.blocked(addr(0)) == 0 || g.blocked(addr(9999)) != 0 {
		t.Errorf("the first address should be limited, the untracked last one not")
	}
	clock = clock.Add(time.Minute) // all have refilled
	g.failed(addr(20000))
	if len(g.addrs) != 1 {
		t.Errorf("%d addresses tracked after the others stopped failing, want 1", len(g.addrs))
	}
}

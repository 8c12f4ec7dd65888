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

// TestGuardForgetsByAge: addresses that stopped failing are forgotten, least
// recently failed first, as new ones come, without waiting for the table to
// fill (which took a scan of the whole table under the mutex); one still
// failing, or with its summary window open, is kept, and so are those that
// failed after it.
func TestGuardForgetsByAge(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newGuard(Options{Now: func() time.Time { return clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FailureLogInterval: time.Hour})
	addr := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 32)
	}
	for i := range 10 {
		g.failed(addr(i))
	}
	clock = clock.Add(time.Minute) // all have refilled
	g.failed(addr(10))
	if len(g.addrs) != 1 || g.order.Len() != 1 {
		t.Fatalf("%d addresses tracked (%d in order) after the others stopped failing, want 1", len(g.addrs), g.order.Len())
	}
	g.audit(addr(10), false) // its window is open for an hour
	g.failed(addr(11))
	clock = clock.Add(time.Minute)
	g.failed(addr(12))
	if len(g.addrs) != 3 {
		t.Errorf("%d addresses tracked, want 3: the open window keeps its address and those behind it", len(g.addrs))
	}
}

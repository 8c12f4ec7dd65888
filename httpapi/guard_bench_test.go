package httpapi

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// v6addr is the i-th /64 of 2001:db8::/32.
func v6addr(i int) netip.Prefix {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(b[4:], uint32(i))
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// BenchmarkFailedAuth100kAddresses measures the bookkeeping of one failed
// authentication from a new address (what a 401 costs the guard: blocked,
// failed, audit) while 100,000 addresses that are still failing, each with
// an open summary window, fill the table.
func BenchmarkFailedAuth100kAddresses(b *testing.B) {
	const tracked = 100_000
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newGuard(Options{Now: func() time.Time { return clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FailureLogInterval: time.Hour})
	g.max = tracked
	for i := range tracked {
		a := v6addr(i)
		for range DefaultFailureBurst {
			g.failed(a)
		}
		g.audit(a, false)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a := v6addr(tracked + i)
		g.blocked(a)
		g.failed(a)
		g.audit(a, false)
	}
}

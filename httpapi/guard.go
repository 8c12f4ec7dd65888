package httpapi

import (
	"container/list"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits of failed authentication, per remote address.
const (
	// DefaultFailureBurst failed authentications are allowed at once from
	// one address, then DefaultFailureRate a second; beyond, requests from
	// that address get 429 before their credential is even looked at.
	DefaultFailureBurst = 10
	DefaultFailureRate  = 1.0
	// DefaultFailureLogInterval: the first failure from an address is
	// logged as any request is; the others in the following interval are
	// counted and logged as one line at its end.
	DefaultFailureLogInterval = 30 * time.Second
	// maxTrackedAddrs bounds the table of addresses (some 270 bytes each).
	maxTrackedAddrs = 10000
)

// guard limits and summarises failed authentication per remote address.
//
// Only an address that failed has an entry, and only an address whose
// failures used up its burst is refused, so a client never waits for
// another address's failures. An IPv6 address counts as its /64, which its
// owner holds whole. When the table is full of addresses still failing, a
// new address is not limited (its failures are still counted and
// summarised): an attacker with more than maxTrackedAddrs addresses escapes
// the limit, but can neither grow the memory nor block anyone.
//
// Every operation is O(1) under the mutex that every request takes: the
// entries are kept in the order of their last failure, least recent first,
// and before an address gets a new entry the least recent are forgotten as
// long as they have stopped failing (their burst refilled, their summary
// window closed). The first that has not stops the search: entries behind
// it are forgotten once it is.
type guard struct {
	now      func() time.Time
	log      *slog.Logger
	burst    int
	rate     rate.Limit // failures a second
	interval time.Duration
	trusted  []netip.Prefix // proxies whose X-Forwarded-For is believed
	max      int

	mu       sync.Mutex
	addrs    map[netip.Prefix]*list.Element // of order
	order    list.List                      // of *failures, least recently failed first
	overflow *failures                      // the addresses the full table has no room for
}

// failures is what the guard knows of one address.
type failures struct {
	addr  netip.Prefix
	limit *rate.Limiter // a token a failure
	// The summary window: open from the first failure until the timer logs
	// how many followed.
	open              bool
	failed, throttled int
}

func newGuard(opts Options) *guard {
	g := &guard{now: opts.Now, log: opts.Logger, burst: DefaultFailureBurst, rate: DefaultFailureRate,
		interval: opts.FailureLogInterval, trusted: opts.TrustedProxies, max: maxTrackedAddrs,
		addrs: make(map[netip.Prefix]*list.Element), overflow: &failures{}}
	if g.interval <= 0 {
		g.interval = DefaultFailureLogInterval
	}
	return g
}

// addr is the address a request is limited by: its peer's, or, from a
// trusted proxy, the last address of X-Forwarded-For (the one that proxy
// added). The zero Prefix if there is none (a test's request).
func (g *guard) addr(r *http.Request) netip.Prefix {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	a := ap.Addr().Unmap()
	if g.isTrusted(a) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			list := xff[len(xff)-1]
			last := strings.TrimSpace(list[strings.LastIndexByte(list, ',')+1:])
			if fa, err := netip.ParseAddr(last); err == nil {
				a = fa.Unmap()
			}
		}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

func (g *guard) isTrusted(a netip.Addr) bool {
	for _, p := range g.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// blocked says how long addr must wait before it may try again; 0: now.
func (g *guard) blocked(addr netip.Prefix) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.addrs[addr]
	if e == nil {
		return 0
	}
	if tokens := e.Value.(*failures).limit.TokensAt(g.now()); tokens < 1 {
		return time.Duration((1 - tokens) / float64(g.rate) * float64(time.Second))
	}
	return 0
}

// failed records a failed authentication from addr.
func (g *guard) failed(addr netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.entry(addr)
	if f == g.overflow {
		return
	}
	f.limit.AllowN(g.now(), 1) // none left: the address waits for the next
	g.order.MoveToBack(g.addrs[addr])
}

// entry finds or makes addr's entry; the overflow one if there is no room.
// g.mu is held.
func (g *guard) entry(addr netip.Prefix) *failures {
	if e := g.addrs[addr]; e != nil {
		return e.Value.(*failures)
	}
	g.forget()
	if len(g.addrs) >= g.max {
		return g.overflow
	}
	f := &failures{addr: addr, limit: rate.NewLimiter(g.rate, g.burst)}
	g.addrs[addr] = g.order.PushBack(f)
	return f
}

// forget drops the least recently failed entries for as long as they have
// stopped failing: their burst refilled and no summary window open. Each
// entry is dropped once, so this costs O(1) a call, amortised. g.mu is held.
func (g *guard) forget() {
	now := g.now()
	for e := g.order.Front(); e != nil; e = g.order.Front() {
		f := e.Value.(*failures)
		if f.open || !full(f.limit, now) {
			return
		}
		g.order.Remove(e)
		delete(g.addrs, f.addr)
	}
}

// audit reports whether the audit line of a failed or throttled request
// from addr should be written: yes for the first of a summary window, which
// it opens; the others are counted, for the summary at the window's end.
func (g *guard) audit(addr netip.Prefix, throttled bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.entry(addr)
	if f.open {
		if throttled {
			f.throttled++
		} else {
			f.failed++
		}
		return false
	}
	f.open = true
	time.AfterFunc(g.interval, func() { g.summarise(addr, f) })
	return true
}

// summarise logs how many failures followed the first of f's window, and
// closes it.
func (g *guard) summarise(addr netip.Prefix, f *failures) {
	g.mu.Lock()
	failed, throttled := f.failed, f.throttled
	f.open, f.failed, f.throttled = false, 0, 0
	g.mu.Unlock()
	if failed+throttled == 0 {
		return // the first, alone, has its audit line
	}
	from := addrString(addr)
	if f == g.overflow {
		from = "addresses beyond the table of failing ones"
	}
	// The first of the window had its audit line; these followed it.
	g.log.Warn(fmt.Sprintf("%d failed attempts from %s in the last %s", 1+failed+throttled, from, g.interval),
		"remote", from, "unauthorized_unlogged", failed, "throttled_unlogged", throttled)
}

// addrString writes an IPv4 address as itself, an IPv6 one as its /64.
func addrString(p netip.Prefix) string {
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

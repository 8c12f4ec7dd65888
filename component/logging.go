package component

import (
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// What the component logs about what strangers send: clipped, and at a
// limited rate.

// clip shortens what a stranger controls before it goes into a log line.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// limiter lets an event through at most once every so often and counts the
// ones it held back. The pacing is golang.org/x/time/rate's token bucket
// (one token, refilled every interval); the count is ours.
type limiter struct {
	lim *rate.Limiter

	mu   sync.Mutex
	held int
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{lim: rate.NewLimiter(rate.Every(every), 1)}
}

// allow reports whether the event may go through now and, if so, how many
// were held back since the last that did.
func (l *limiter) allow() (ok bool, held int) { return l.allowAt(time.Now()) }

// allowAt is allow at the time now.
func (l *limiter) allowAt(now time.Time) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lim.AllowN(now, 1) {
		l.held++
		return false, 0
	}
	held, l.held = l.held, 0
	return true, held
}

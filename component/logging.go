package component

import (
	"sync"
	"time"
	"unicode/utf8"
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
// ones it held back.
type limiter struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time
	held int
}

// allow reports whether the event may go through now and, if so, how many
// were held back since the last that did.
func (l *limiter) allow() (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	l.next = now.Add(l.every)
	held, l.held = l.held, 0
	return true, held
}

package app

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// errorLogBurst is how many of net/http's own error lines are logged in
// each interval; the rest are counted and summarised.
const errorLogBurst = 5

// errorSummary is net/http's ErrorLog: its lines ("http: TLS handshake
// error from …", "http: Accept error …") are what any peer can trigger
// without authenticating, one per connection, so at most errorLogBurst of
// them are logged each interval and the rest summarised in one line at the
// end of it, with their count and the last one.
type errorSummary struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	logged     int    // lines logged in this interval
	suppressed int    // lines counted, not logged, in this interval
	last       string // the last line suppressed
	timer      *time.Timer
}

// Write logs or counts one line of net/http's error log.
func (e *errorSummary) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timer == nil {
		e.timer = time.AfterFunc(e.interval, e.flush)
	}
	if e.logged < errorLogBurst {
		e.logged++
		e.log.Warn(line)
		return len(p), nil
	}
	e.suppressed++
	e.last = line
	return len(p), nil
}

// flush ends an interval: it logs the count of the lines not logged, if
// any, and starts the next interval at the next line.
func (e *errorSummary) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.suppressed > 0 {
		e.log.Warn(fmt.Sprintf("HTTP server errors not logged (the first %d of each interval are)", errorLogBurst),
			"count", e.suppressed, "interval", e.interval, "last", e.last)
	}
	e.logged, e.suppressed, e.last, e.timer = 0, 0, "", nil
}

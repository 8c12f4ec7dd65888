package component

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Run keeps the component connected until ctx ends, reconnecting with capped
// exponential backoff and jitter. It returns nil when ctx ends, or an error
// wrapping ErrHandshake when the server refuses the component.
func (c *Component) Run(ctx context.Context) error {
	delay := c.opts.BackoffMin
	for attempt := 1; ; attempt++ {
		s, err := c.connect(ctx)
		switch {
		case ctx.Err() != nil:
			if s != nil {
				s.close(time.Second)
			}
			return nil
		case errors.Is(err, ErrHandshake):
			return fmt.Errorf("%w by %s for %s: check component.domain and the secret on both sides", err, c.opts.Server, c.opts.Domain)
		case errors.Is(err, ErrConflict):
			if !c.standBy(ctx, err) {
				return nil
			}
			continue
		case err != nil:
			wait := jitter(delay)
			c.log.Warn("component: cannot connect", "server", c.opts.Server, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
			if !sleep(ctx, wait) {
				return nil
			}
			delay = min(delay*2, c.opts.BackoffMax)
			continue
		}
		upFor := c.serveLogged(ctx, s)
		if ctx.Err() != nil {
			return nil
		}
		c.reconnects.Add(1)
		attempt = 0
		// A stream that stayed up ends the outage before it: back off from
		// the start again, so that a restart soon after an outage is not met
		// with the outage's delay. A stream dropped at once (a flapping
		// server) keeps the delay growing.
		if upFor >= min(time.Second, c.opts.BackoffMax) {
			delay = c.opts.BackoffMin
		}
		if !sleep(ctx, jitter(delay)) {
			return nil
		}
		delay = min(delay*2, c.opts.BackoffMax)
	}
}

// connect dials the server and authenticates, within ConnectTimeout.
func (c *Component) connect(ctx context.Context) (*session, error) {
	dctx, cancel := context.WithTimeoutCause(ctx, c.opts.ConnectTimeout,
		fmt.Errorf("no handshake within %s", c.opts.ConnectTimeout))
	defer cancel()
	return dial(dctx, c.opts.Dial, c.opts.Server, c.opts.Domain, c.opts.Secret)
}

// standBy waits StandbyInterval after a handshake refused with conflict; it
// reports whether ctx is still alive. A standby retries at a short fixed
// interval, so that it takes over within seconds of the active instance's
// death: growing backoff would leave the domain without a component for up
// to BackoffMax. One line when standing by starts, not one a second.
func (c *Component) standBy(ctx context.Context, err error) bool {
	if !c.standby.Swap(true) {
		c.log.Warn("component: standing by: another connection holds the component domain; not ready until it goes away",
			"server", c.opts.Server, "domain", c.opts.Domain, "retry_every", c.opts.StandbyInterval,
			"cause", "another muc-kick instance is connected with this domain, or the server still holds our previous stream",
			"err", err)
	}
	return sleep(ctx, c.opts.StandbyInterval)
}

// serveLogged serves s until it ends, with a log line at each end, and
// returns how long it was up.
func (c *Component) serveLogged(ctx context.Context, s *session) time.Duration {
	if c.standby.Swap(false) {
		c.log.Info("component: connected: took over the component domain from the stream that held it", "server", c.opts.Server, "domain", c.opts.Domain)
	} else {
		c.log.Info("component: connected", "server", c.opts.Server, "domain", c.opts.Domain)
	}
	started := time.Now()
	c.serve(ctx, s)
	upFor := time.Since(started)
	if ctx.Err() != nil {
		c.log.Info("component: disconnected on shutdown", "server", c.opts.Server)
	} else {
		c.log.Warn("component: disconnected", "server", c.opts.Server, "reason", s.err, "up_for", upFor.Round(time.Millisecond))
	}
	return upFor
}

// serve runs one session until it ends or ctx ends.
func (c *Component) serve(ctx context.Context, s *session) {
	c.share.reset(s, c.opts.Probe > 0)
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	if c.handler != nil {
		c.handler.SessionChanged(true)
	}

	// serve owns the session's goroutines: each returns once the session
	// has failed (s.done closed, the connection closed), and serve waits
	// for them before it reports the session gone.
	var wg sync.WaitGroup
	wg.Go(s.writeLoop)
	wg.Go(func() { s.readLoop(c.wants, func(f frame) { c.handleFrame(s, f) }) })
	if c.opts.KeepaliveInterval > 0 {
		wg.Go(func() { c.keepalive(s) })
	}
	if c.opts.Probe > 0 {
		wg.Go(func() { c.probeLoop(s) })
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.close(time.Second)
	}
	wg.Wait()

	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	if c.handler != nil {
		c.handler.SessionChanged(false)
	}
}

// jitter spreads d over [d/2, d) so that many daemons do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

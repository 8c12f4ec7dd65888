package component

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Run keeps the component connected until ctx ends, reconnecting with capped
// exponential backoff and jitter. It returns nil when ctx ends, or an error
// wrapping ErrHandshake when the server refuses the component.
func (c *Component) Run(ctx context.Context) error {
	delay := c.opts.BackoffMin
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeoutCause(ctx, c.opts.ConnectTimeout,
			fmt.Errorf("no handshake within %s", c.opts.ConnectTimeout))
		s, err := dial(dctx, c.opts.Dial, c.opts.Server, c.opts.Domain, c.opts.Secret)
		cancel()
		if ctx.Err() != nil {
			if s != nil {
				s.close(time.Second)
			}
			return nil
		}
		if errors.Is(err, ErrHandshake) {
			return fmt.Errorf("%w by %s for %s: check component.domain and the secret on both sides", err, c.opts.Server, c.opts.Domain)
		}
		if errors.Is(err, ErrConflict) {
			// A standby: retry at a short fixed interval, so that it takes
			// over within seconds of the active instance's death. Growing
			// backoff would leave the domain without a component for up to
			// BackoffMax. One line when standing by starts, not one a second.
			if !c.standby.Swap(true) {
				c.log.Warn("component: standing by: another connection holds the component domain; not ready until it goes away",
					"server", c.opts.Server, "domain", c.opts.Domain, "retry_every", c.opts.StandbyInterval,
					"cause", "another muc-kick instance is connected with this domain, or the server still holds our previous stream",
					"err", err)
			}
			if !sleep(ctx, c.opts.StandbyInterval) {
				return nil
			}
			continue
		}
		if err != nil {
			wait := jitter(delay)
			c.log.Warn("component: cannot connect", "server", c.opts.Server, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
			if !sleep(ctx, wait) {
				return nil
			}
			delay = min(delay*2, c.opts.BackoffMax)
			continue
		}
		if c.standby.Swap(false) {
			c.log.Info("component: connected: took over the component domain from the stream that held it", "server", c.opts.Server, "domain", c.opts.Domain)
		} else {
			c.log.Info("component: connected", "server", c.opts.Server, "domain", c.opts.Domain)
		}
		started := time.Now()
		c.serve(ctx, s)
		if ctx.Err() != nil {
			c.log.Info("component: disconnected on shutdown", "server", c.opts.Server)
			return nil
		}
		c.log.Warn("component: disconnected", "server", c.opts.Server, "reason", s.err, "up_for", time.Since(started).Round(time.Millisecond))
		c.reconnects.Add(1)
		attempt = 0
		// A stream that stayed up ends the outage before it: back off from
		// the start again, so that a restart soon after an outage is not met
		// with the outage's delay. A stream dropped at once (a flapping
		// server) keeps the delay growing.
		if time.Since(started) >= min(time.Second, c.opts.BackoffMax) {
			delay = c.opts.BackoffMin
		}
		if !sleep(ctx, jitter(delay)) {
			return nil
		}
		delay = min(delay*2, c.opts.BackoffMax)
	}
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

	go s.writeLoop()
	go s.readLoop(c.wants, func(f frame) { c.handleFrame(s, f) })
	if c.opts.KeepaliveInterval > 0 {
		go c.keepalive(s)
	}
	if c.opts.Probe > 0 {
		go c.probeLoop(s)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.close(time.Second)
	}

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

package component

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sharing: whether the server splits this component domain's stanzas between
// our stream and another one.
//
// ejabberd accepts any number of streams for one component domain and
// delivers each stanza to one of them at random, replies included: two
// muc-kick instances on one domain would both be connected, and each would
// lose about half of its replies (kicks answered 504 after the IQ timeout).
// Prosody refuses the second stream with <conflict/> instead (see Run: the
// standby). A stream's sharing state, per session:
//
//	          probe: every ping answered,
//	          or none (a silent server is the keepalive's business)
//	probing ───────────────────────────────────────────────▶ ready
//	   │                                                      │  ▲
//	   │ a reply to an id of another instance                 │  │ probe: every ping answered and
//	   │ or a probe with some pings lost and some answered    │  │ no foreign reply for foreignQuiet
//	   ▼                                                      ▼  │
//	shared ◀──────────────────────────────────────────────────┘  │
//	   └─────────────────────────────────────────────────────────┘
//
// Events and what they do:
//
//	event                                   in probing / ready            in shared
//	probe ends, all answered                ready (a no-op in ready)      ready if quiet long enough, else stays
//	probe ends, some lost, some answered    shared, one Error log line    stays (re-probed every sharedRecheck)
//	probe ends, all lost                    ready (not evidence of a split) stays
//	reply with another instance's id prefix shared, one Error log line    stays, quiet period restarts
//	an IQ of a caller times out             probe now (suspect)           ignored (already re-probing)
//	keepalive ping times out                ends the stream (keepalive)   ignored: the split explains it
//	stream ends                             probeLoop returns; the next stream starts in probing
//
// Our IQ ids carry a random per-process prefix ("mk" and 12 hex digits), so
// a reply with such a prefix that is not ours is a reply to another muc-kick.
type sharing struct {
	mu          sync.Mutex
	sess        *session      // the stream the state below is about
	probing     bool          // the first probe of sess has not ended
	shared      bool          // found shared
	lastForeign time.Time     // the last reply to another instance's request (kept across streams)
	wake        chan struct{} // asks sess's probeLoop to probe now; buffered 1
}

// sharedRecheck is the pause between probes while the domain is shared.
const sharedRecheck = 2 * time.Second

// foreignQuiet is how long no reply to another instance must have come
// before a shared domain counts as ours again: longer than two of the other
// instance's probe cycles, each of which sends us about half its replies.
func (c *Component) foreignQuiet() time.Duration { return 2 * (c.opts.IQTimeout + sharedRecheck) }

// reset starts the sharing state of a new stream, before it is published.
func (sh *sharing) reset(s *session, probe bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.sess, sh.probing, sh.shared = s, probe, false
	sh.wake = make(chan struct{}, 1)
}

func (sh *sharing) isShared() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.shared
}

// notReady is why the stream s cannot take requests, or nil.
func (sh *sharing) notReady(s *session, domain string) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case sh.sess != s:
		return ErrNotConnected
	case sh.shared:
		return fmt.Errorf("%w (%s): the server delivers this domain's stanzas to another stream too, so replies get lost; give each muc-kick instance its own component domain", ErrShared, domain)
	case sh.probing:
		return fmt.Errorf("%w: connected, checking that no other stream shares the component domain", ErrNotConnected)
	}
	return nil
}

// foreignID reports whether id looks like one of another muc-kick
// process's IQ ids: "mk", 12 hex digits, "-", and not our prefix.
func (c *Component) foreignID(id string) bool {
	n := len(c.idPrefix)
	if len(id) <= n || id[:n] == c.idPrefix || id[:2] != "mk" || id[n-1] != '-' {
		return false
	}
	for _, r := range id[2 : n-1] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// sawForeignReply notes a reply to a request another instance sent.
func (c *Component) sawForeignReply(s *session, id string) {
	c.share.mu.Lock()
	c.share.lastForeign = time.Now()
	c.share.mu.Unlock()
	c.markShared(s, fmt.Sprintf("received a reply to a request this instance never sent (id %s): another muc-kick is connected with this component domain", clip(id)))
}

// markShared moves s to shared, with one log line naming cause and fix.
func (c *Component) markShared(s *session, cause string) {
	c.share.mu.Lock()
	was := c.share.shared || c.share.sess != s
	if c.share.sess == s {
		c.share.shared, c.share.probing = true, false
	}
	wake := c.share.wake
	c.share.mu.Unlock()
	if !was { // the probe loop may be idle: from now on it rechecks
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	if !was {
		c.log.Error("component: not ready: the server splits this component domain's stanzas between this stream and another one, so replies to kicks get lost",
			"domain", c.opts.Domain, "server", c.opts.Server, "cause", cause,
			"fix", "give each muc-kick instance its own component domain (see contrib/ha); this instance stays connected, answers 503 and rechecks every "+sharedRecheck.String())
	}
}

// suspect asks s's probe loop to probe now (after an IQ timeout).
func (c *Component) suspect(s *session) {
	if c.opts.Probe <= 0 {
		return
	}
	c.share.mu.Lock()
	wake := c.share.wake
	ok := c.share.sess == s
	c.share.mu.Unlock()
	if ok {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// probeLoop probes s once at its start, again when suspect asks, and every
// sharedRecheck while s is shared, until s ends.
func (c *Component) probeLoop(s *session) {
	c.share.mu.Lock()
	wake := c.share.wake
	c.share.mu.Unlock()
	for {
		c.probe(s)
		var recheck <-chan time.Time
		var t *time.Timer
		if c.share.isShared() {
			t = time.NewTimer(sharedRecheck)
			recheck = t.C
		}
		select {
		case <-s.done:
		case <-wake:
		case <-recheck:
		}
		if t != nil {
			t.Stop()
		}
		if isDone(s) {
			return
		}
	}
}

// probe sends Options.Probe pings at once and moves s's state on what came
// back (see the table at the top of this file).
func (c *Component) probe(s *session) {
	started := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, lost := 0, 0
	for range c.opts.Probe {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.sendIQ(context.Background(), s, rawIQ{Type: "get", To: c.opts.KeepaliveTo, Payload: pingPayload{}}, c.opts.IQTimeout)
			var serr *StanzaError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil, errors.As(err, &serr):
				answered++
			case errors.Is(err, ErrTimeout):
				lost++
			}
		}()
	}
	wg.Wait()
	if answered+lost < c.opts.Probe {
		return // the stream ended or a ping could not be sent: no verdict
	}
	if answered > 0 && lost > 0 {
		c.markShared(s, fmt.Sprintf("%d of %d pings to %s were never answered while the others were, on a stream that is otherwise alive", lost, c.opts.Probe, c.opts.KeepaliveTo))
		return
	}
	c.share.mu.Lock()
	if c.share.sess != s {
		c.share.mu.Unlock()
		return
	}
	c.share.probing = false
	cleared := false
	if c.share.shared && lost == 0 && started.Sub(c.share.lastForeign) > c.foreignQuiet() {
		c.share.shared, cleared = false, true
	}
	c.share.mu.Unlock()
	if cleared {
		c.log.Info("component: ready: the component domain is no longer shared with another stream", "domain", c.opts.Domain)
	}
}

func isDone(s *session) bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

package component

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// keepalive pings KeepaliveTo every KeepaliveInterval and ends the session
// when no answer (a result or an error) comes within KeepaliveTimeout:
// a server that stopped answering, a half-open TCP connection, or a
// </stream:stream> that gosrc.io/xmpp-based code would miss, is
// noticed and replaced.
func (c *Component) keepalive(s *session) {
	t := time.NewTicker(c.opts.KeepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		_, err := c.sendIQ(context.Background(), s, rawIQ{Type: "get", To: c.opts.KeepaliveTo, Payload: pingPayload{}}, c.opts.KeepaliveTimeout)
		var serr *StanzaError
		if errors.Is(err, ErrTimeout) && c.share.isShared() {
			continue // the reply went to the other stream on our domain: that explains it
		}
		if err != nil && !errors.As(err, &serr) { // any answer, even an error, proves the stream alive
			s.fail(fmt.Errorf("component: keepalive: %w", err))
			return
		}
	}
}

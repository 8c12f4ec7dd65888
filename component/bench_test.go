package component_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"gosrc.io/xmpp/stanza"
)

// hostilePresence is issue 22's flood stanza: 180 KB, 45,000 empty children
// and one <priority> that does not decode, sent to the component's JID from
// from.
func hostilePresence(from string) string {
	return `<presence from='` + from + `' to='kick.example.org'>` + strings.Repeat("<a/>", 45000) +
		`<priority>high</priority></presence>`
}

// quietHandler is a Handler that keeps no packet and says when a session is up.
type quietHandler struct{ up chan struct{} }

func (quietHandler) HandlePacket(stanza.Packet) {}
func (d quietHandler) SessionChanged(up bool) {
	if up {
		d.up <- struct{}{}
	}
}

// BenchmarkHostilePresence measures what one hostile presence costs the
// component's read loop, through the fake server's TCP stream: b.N of them,
// then an IQ whose reply the stream carries after them all.
func BenchmarkHostilePresence(b *testing.B) {
	for _, bc := range []struct{ name, from string }{
		{"stranger", "eve@example.org/x"},
		{"room", "room@conference.example.org/eve"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := fakeserver.Start(b, domain, secret)
			c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
				RoomDomains:       []string{"conference.example.org"},
				KeepaliveInterval: -1, IQTimeout: hangGuard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			h := quietHandler{up: make(chan struct{}, 10)}
			c.SetHandler(h)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			defer func() { cancel(); <-done }()
			conn := srv.WaitConn(hangGuard)
			<-h.up
			raw := hostilePresence(bc.from)
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for range b.N {
				if err := conn.Send(raw); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.IQ(context.Background(), "get", "", "example.org", nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}

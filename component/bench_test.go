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

// roomTraffic is what a room sends its moderator occupant around one kick:
// the kicked occupant's unavailable presence with status 307, its join when
// it comes back, and a message posted in the room.
var roomTraffic = []string{
	`<presence from='room@conference.example.org/alice' to='kick.example.org/bot' type='unavailable'>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none' jid='alice@example.org/web'>` +
		`<actor nick='bot'/><reason>spam</reason></item><status code='307'/></x></presence>`,
	`<presence from='room@conference.example.org/alice' to='kick.example.org/bot' id='p1'>` +
		`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>` +
		`<show>away</show><priority>5</priority>` +
		`<occupant-id xmlns='urn:xmpp:occupant-id:0' id='dd72603deec90a38ba552f7c68cbcc61bca202cd'/>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@example.org/web'/></x></presence>`,
	`<message from='room@conference.example.org/carol' to='kick.example.org/bot' type='groupchat' id='m1'>` +
		`<body>hello everyone, this is a message of ordinary length</body>` +
		`<occupant-id xmlns='urn:xmpp:occupant-id:0' id='aa72603deec90a38ba552f7c68cbcc61bca202cd'/></message>`,
}

// BenchmarkRoomTraffic measures what the presences and messages a room sends
// around one kick (roomTraffic) cost the component's read loop, decoding
// included, through the fake server's TCP stream.
func BenchmarkRoomTraffic(b *testing.B) {
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
	raw := strings.Join(roomTraffic, "")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := conn.Send(raw); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.IQ(context.Background(), "get", "", "example.org", nil); err != nil {
		b.Fatal(err)
	}
}

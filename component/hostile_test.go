package component_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"gosrc.io/xmpp/stanza"
)

// The test binary registers a muc#user payload as strict as the muc
// package's (a status code is an int): see mucUserX in frame_test.go.

// roundTripTo is where round trips go; no hostile stanza uses it.
const roundTripTo = "roundtrip.example.org"

// roundTrip sends an IQ through c, answers it from the fake server and
// checks that its own reply came back. It returns what else the component
// sent meanwhile. The stream is in order both ways, so when it returns,
// everything the server sent before has been read and handled.
func roundTrip(t *testing.T, c *component.Component, srv *fakeserver.Server, conn *fakeserver.Conn) []fakeserver.Stanza {
	t.Helper()
	return roundTripAfter(t, c, srv, conn, "")
}

// roundTripAfter is roundTrip with before sent to the component while the
// IQ waits, just ahead of its reply.
func roundTripAfter(t *testing.T, c *component.Component, srv *fakeserver.Server, conn *fakeserver.Conn, before string) []fakeserver.Stanza {
	t.Helper()
	type result struct {
		iq  *stanza.IQ
		err error
	}
	done := make(chan result, 1)
	go func() {
		iq, err := c.IQ(context.Background(), "get", "", roundTripTo, struct {
			XMLName xml.Name `xml:"urn:test q"`
		}{})
		done <- result{iq, err}
	}()
	var others []fakeserver.Stanza
	guard := time.After(hangGuard)
	for {
		var s fakeserver.Stanza
		select {
		case s = <-srv.Received():
		case r := <-done: // the IQ ended before the server saw it
			t.Fatalf("the round-trip IQ ended before it reached the server: reply %+v, err %v", r.iq, r.err)
		case <-guard:
			t.Fatal("the round-trip IQ never reached the server")
		}
		// The round trip's own request, not an error the component sent to
		// the same address for an input that named it as its sender.
		if s.To != roundTripTo || !strings.Contains(s.Raw, `type="get"`) || !strings.Contains(s.Raw, `urn:test`) {
			others = append(others, s)
			continue
		}
		if err := conn.Send(before + fakeserver.Result(s)); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || r.iq.Id != s.ID || r.iq.From != roundTripTo {
				t.Fatalf("round trip: reply %+v, err %v; want the reply to %s", r.iq, r.err, s.ID)
			}
		case <-time.After(hangGuard):
			t.Fatal("the round-trip reply was not delivered")
		}
		return others
	}
}

// TestHostileStanzasLeaveTheStreamUp sends one hostile element after another
// on one stream. After each: the session is still up with no reconnect, an
// IQ round trip works, the counters moved as they should, and the component
// answered exactly what it should (only IQ errors, always with from).
func TestHostileStanzasLeaveTheStreamUp(t *testing.T) {
	checkGoroutines(t)
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // roundTrip answers
	c, rec, _ := start(t, srv, component.Options{})
	conn := srv.WaitConn(hangGuard)

	const (
		eve       = "eve@example.org/x"
		errPrefix = `<iq type="error" id="%s" from="%s" to="%s"><error type="%s"><%s xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></%[5]s></error></iq>`
	)
	iqError := func(id, from, to, typ, cond string) string { return fmt.Sprintf(errPrefix, id, from, to, typ, cond) }
	deep := strings.Repeat("<a>", 20000) + strings.Repeat("</a>", 20000)
	huge := strings.Repeat("A", 300<<10)
	bigID := strings.Repeat("i", 100<<10)

	for _, tc := range []struct {
		name      string
		raw       string
		reply     string // the exact reply, "" for none
		malformed uint64 // how much Malformed() moves
		unmatched uint64 // how much UnmatchedReplies() moves
		handled   bool   // the Handler gets it
	}{
		{name: "muc#user status code abc to the bare JID",
			raw:       `<presence from='` + eve + `' to='kick.example.org'><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></presence>`,
			malformed: 1, handled: true},
		{name: "muc#user status code abc to a full JID",
			raw:       `<presence from='` + eve + `' to='kick.example.org/r1'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='1x'/></x></presence>`,
			malformed: 1, handled: true},
		{name: "presence with a broken priority",
			raw:       `<presence from='` + eve + `' to='kick.example.org'><priority>high</priority></presence>`,
			malformed: 1, handled: true},
		{name: "forged 110 and 307 presence",
			raw:     `<presence type='unavailable' from='room@conference.example.org/kickbot' to='kick.example.org/r1'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='110'/><status code='307'/></x></presence>`,
			handled: true},
		{name: "message with junk",
			raw:     `<message from='` + eve + `' to='kick.example.org' type='chat'><body>hi</body><junk xmlns='urn:junk'><a b='c'>` + strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20) + `</a></junk><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></message>`,
			handled: true},
		{name: "message with junk nested 1000 deep", // over maxDepth: dropped unread (it was handled before the bound)
			raw:       `<message from='` + eve + `' to='kick.example.org' type='chat'><body>hi</body><junk xmlns='urn:junk'><a b='c'>` + strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000) + `</a></junk><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></message>`,
			malformed: 1},
		{name: "message nested 20000 deep", // over maxDepth: dropped unread (it was handled before the bound)
			raw:       `<message from='` + eve + `' to='kick.example.org'>` + deep + `</message>`,
			malformed: 1},
		{name: "message with 2000 children", // over maxElements: dropped unread
			raw:       `<message from='` + eve + `' to='kick.example.org'>` + strings.Repeat("<a/>", 2000) + `<body>hi</body></message>`,
			malformed: 1},
		{name: "iq set with 2000 elements",
			raw:       `<iq type='set' id='many' from='` + eve + `' to='kick.example.org'><q xmlns='urn:x'>` + strings.Repeat("<a/>", 2000) + `</q></iq>`,
			reply:     iqError("many", "kick.example.org", eve, "modify", "bad-request"),
			malformed: 1},
		{name: "iq get with an undecodable payload",
			raw:       `<iq type='set' id='bad1' from='` + eve + `' to='kick.example.org/r1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items max_items='abc' node='n'/></pubsub></iq>`,
			reply:     iqError("bad1", "kick.example.org/r1", eve, "modify", "bad-request"),
			malformed: 1},
		{name: "iq get nested 20000 deep",
			raw:       `<iq type='get' id='deep1' from='` + eve + `' to='kick.example.org'>` + deep + `</iq>`,
			reply:     iqError("deep1", "kick.example.org", eve, "modify", "bad-request"),
			malformed: 1},
		{name: "iq set with two payloads",
			raw:   `<iq type='set' id='two' from='` + eve + `' to='kick.example.org'><query xmlns='urn:a'/><query xmlns='urn:b'/></iq>`,
			reply: iqError("two", "kick.example.org", eve, "modify", "bad-request")},
		{name: "iq get without payload",
			raw:   `<iq type='get' id='none' from='` + eve + `' to='kick.example.org'/>`,
			reply: iqError("none", "kick.example.org", eve, "modify", "bad-request")},
		{name: "iq get of an unknown namespace",
			raw:   `<iq type='get' id='disco' from='` + eve + `' to='kick.example.org'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			reply: iqError("disco", "kick.example.org", eve, "cancel", "service-unavailable")},
		{name: "ping from a stranger",
			raw:   `<iq type='get' id='p' from='` + eve + `' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`,
			reply: iqError("p", "kick.example.org", eve, "cancel", "service-unavailable")},
		{name: "ping set",
			raw:   `<iq type='set' id='ps' from='example.org' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`,
			reply: iqError("ps", "kick.example.org", "example.org", "cancel", "feature-not-implemented")},
		{name: "iq get to another domain is answered from ours",
			raw:   `<iq type='get' id='elsewhere' from='` + eve + `' to='other.example.org'><q xmlns='urn:x'/></iq>`,
			reply: iqError("elsewhere", "kick.example.org", eve, "cancel", "service-unavailable")},
		{name: "iq get without from is not answered",
			raw: `<iq type='get' id='nofrom' to='kick.example.org'><q xmlns='urn:x'/></iq>`},
		{name: "iq get with a 100 KiB id",
			raw:   `<iq type='get' id='` + bigID + `' from='` + eve + `' to='kick.example.org'><q xmlns='urn:x'/></iq>`,
			reply: iqError(bigID, "kick.example.org", eve, "cancel", "service-unavailable")},
		{name: "iq get over 256 KiB",
			raw:       `<iq type='get' id='big' from='` + eve + `' to='kick.example.org'><q xmlns='urn:x'>` + huge + `</q></iq>`,
			reply:     iqError("big", "kick.example.org", eve, "modify", "policy-violation"),
			malformed: 1},
		{name: "message with a 300 KiB attribute",
			raw:       `<message from='` + eve + `' to='kick.example.org' x='` + huge + `'><body/></message>`,
			malformed: 1},
		{name: "iq of an unknown type",
			raw:       `<iq type='bogus' id='t' from='` + eve + `' to='kick.example.org'><q xmlns='urn:x'/></iq>`,
			malformed: 1},
		{name: "iq result with an unknown id",
			raw:       `<iq type='result' id='nobody-waits' from='` + eve + `' to='kick.example.org'/>`,
			unmatched: 1},
		{name: "iq error with an unknown id and junk",
			raw:       `<iq type='error' id='mk0-1' from='` + eve + `' to='kick.example.org'><error type='bogus' code='x'><junk xmlns='urn:junk'/><text>hi</text></error></iq>`,
			unmatched: 1},
		{name: "iq result with an undecodable payload and an unknown id",
			raw:       `<iq type='result' id='mk0-2' from='` + eve + `' to='kick.example.org'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items max_items='abc' node='n'/></pubsub></iq>`,
			malformed: 1, unmatched: 1},
		{name: "iq in the server namespace",
			raw:       `<iq xmlns='jabber:server' type='get' id='ns' from='` + eve + `' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`,
			malformed: 1},
		{name: "message in a foreign namespace",
			raw:       `<message xmlns='urn:evil' from='` + eve + `' to='kick.example.org'><body>x</body></message>`,
			malformed: 1},
		{name: "unknown top-level element",
			raw:       `<surprise xmlns='urn:example'><a/></surprise>`,
			malformed: 1},
		{name: "a second handshake",
			raw:       `<handshake/>`,
			malformed: 1},
		{name: "stream features",
			raw:       `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>`,
			malformed: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m0, u0 := c.Malformed(), c.UnmatchedReplies()
			if err := conn.Send(tc.raw); err != nil {
				t.Fatal(err)
			}
			// The first round trip proves the element read and handled; the
			// second that whatever it made the component send has arrived.
			got := append(roundTrip(t, c, srv, conn), roundTrip(t, c, srv, conn)...)
			assertStillUp(t, c, rec)
			if tc.reply == "" && len(got) != 0 {
				t.Errorf("sent %d stanzas, want none; first: %.300s", len(got), got[0].Raw)
			}
			if tc.reply != "" && (len(got) != 1 || got[0].Raw != tc.reply) {
				var raws []string
				for _, s := range got {
					raws = append(raws, s.Raw)
				}
				t.Errorf("sent\n  %.300q\nwant\n  %.300q", raws, tc.reply)
			}
			if d := c.Malformed() - m0; d != tc.malformed {
				t.Errorf("Malformed() moved by %d, want %d", d, tc.malformed)
			}
			if d := c.UnmatchedReplies() - u0; d != tc.unmatched {
				t.Errorf("UnmatchedReplies() moved by %d, want %d", d, tc.unmatched)
			}
			select {
			case p := <-rec.packets:
				if !tc.handled {
					t.Errorf("the handler got %T", p)
				}
			default:
				if tc.handled {
					t.Error("the handler got nothing")
				}
			}
		})
	}
}

// TestUndecodableReplyReachesItsWaiter: a reply to a pending IQ that cannot
// be decoded still ends the wait, with what could be read of it, instead of
// a timeout.
func TestUndecodableReplyReachesItsWaiter(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{IQTimeout: hangGuard})
	junk := `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items max_items='abc' node='n'/></pubsub>`
	srv.Handle(func(fc *fakeserver.Conn, s fakeserver.Stanza) {
		if s.Type == "get" {
			fc.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'>%s</iq>", s.ID, s.To, s.From, junk))
		} else {
			fc.Send(fmt.Sprintf("<iq type='error' id='%s' from='%s' to='%s'>%s<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", s.ID, s.To, s.From, junk))
		}
	})
	iq, err := c.IQ(context.Background(), "get", "", "pubsub.example.org", nil)
	if err != nil || iq.Type != stanza.IQTypeResult {
		t.Fatalf("result with a junk payload: %+v, %v", iq, err)
	}
	_, err = c.IQ(context.Background(), "set", "", "pubsub.example.org", nil)
	if !errorIsCondition(err, "undefined-condition") {
		t.Fatalf("error with a junk payload: %v, want undefined-condition", err)
	}
	if c.Malformed() != 2 || c.UnmatchedReplies() != 0 {
		t.Errorf("Malformed() = %d, UnmatchedReplies() = %d; want 2, 0", c.Malformed(), c.UnmatchedReplies())
	}
	assertStillUp(t, c, rec)
}

func errorIsCondition(err error, cond string) bool {
	var serr *component.StanzaError
	return errors.As(err, &serr) && serr.Condition == cond
}

// panicky is a Handler that panics on every message.
type panicky struct{ *recorder }

func (p panicky) HandlePacket(pk stanza.Packet) {
	if _, ok := pk.(stanza.Message); ok {
		panic("handler bug")
	}
	p.recorder.HandlePacket(pk)
}

// TestPanicInHandlerCostsOneStanza: a panic while dispatching one stanza is
// recovered and counted; the stream and the next stanzas are unaffected.
func TestPanicInHandlerCostsOneStanza(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {})
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret, KeepaliveInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := &recorder{packets: make(chan stanza.Packet, 10), sessions: make(chan bool, 10)}
	c.SetHandler(panicky{rec})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitSession(t, rec, true)
	conn := srv.WaitConn(hangGuard)
	conn.Send(`<message from='eve@example.org/x' to='kick.example.org'><body>boom</body></message>` +
		`<presence from='room@conference.example.org/bob' to='kick.example.org/r1'/>`)
	if got := roundTrip(t, c, srv, conn); len(got) != 0 {
		t.Errorf("sent %q in answer to a message", got[0].Raw)
	}
	if c.Malformed() != 1 {
		t.Errorf("Malformed() = %d, want 1", c.Malformed())
	}
	select {
	case p := <-rec.packets:
		if _, ok := p.(stanza.Presence); !ok {
			t.Errorf("handler got %T, want the presence after the panic", p)
		}
	default:
		t.Error("the presence after the panic was not handled")
	}
	assertStillUp(t, c, rec)
}

// TestLenientPresenceKeepsWhatDecodes: a room relays an occupant's presence
// with the occupant's own children, so one child the stanza package cannot
// decode (a priority that is not a number) must not hide the room's muc#user
// payload. The children that decode on their own reach the handler; the
// stanza still counts as malformed.
func TestLenientPresenceKeepsWhatDecodes(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{})
	conn := srv.WaitConn(hangGuard)
	m0 := c.Malformed()
	err := conn.Send(`<presence from='room@conference.example.org/eve' to='kick.example.org/r1'>` +
		`<priority>high</priority><show>away</show><status>hi</status>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></presence>`)
	if err != nil {
		t.Fatal(err)
	}
	var p stanza.Packet
	select {
	case p = <-rec.packets:
	case <-time.After(hangGuard):
		t.Fatal("the handler got nothing")
	}
	pres, ok := p.(stanza.Presence)
	if !ok {
		t.Fatalf("the handler got %T", p)
	}
	if pres.From != "room@conference.example.org/eve" || pres.Show != "away" || pres.Status != "hi" || pres.Priority != 0 {
		t.Errorf("presence decoded as %+v", pres)
	}
	if len(pres.Extensions) != 1 {
		t.Fatalf("%d extensions, want the one muc#user payload that decodes", len(pres.Extensions))
	}
	// The payload type is frame_test.go's strict muc#user (Code int).
	if x := fmt.Sprintf("%+v", pres.Extensions[0]); !strings.Contains(x, "Code:110") {
		t.Errorf("extension %s, want muc#user with status 110", x)
	}
	if d := c.Malformed() - m0; d != 1 {
		t.Errorf("Malformed() moved by %d, want 1", d)
	}
}

// TestStrangersPresenceIsNotDecoded: with RoomDomains set, issue 22's flood
// stanza (180 KB, 45,000 empty children, one <priority> that does not
// decode) sent to the component's JID by a stranger is read past unread and
// counted as ignored; the same from a room is dropped at the element bound.
// Neither reaches the handler or ends the stream, and an IQ afterwards is
// answered. A room's and the server's own presences are still decoded.
func TestStrangersPresenceIsNotDecoded(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // roundTrip answers
	c, rec, _ := start(t, srv, component.Options{RoomDomains: []string{"conference.example.org"}})
	conn := srv.WaitConn(hangGuard)
	for _, tc := range []struct {
		name               string
		raw                string
		ignored, malformed uint64
		handled            bool
	}{
		{"flood from a stranger", hostilePresence("eve@example.org/x"), 1, 0, false},
		{"flood from a room", hostilePresence("room@conference.example.org/eve"), 0, 1, false},
		{"flood from a room domain in other case", hostilePresence("room@Conference.Example.org/eve"), 0, 1, false},
		{"stranger's message", `<message from='eve@example.org/x' to='kick.example.org'><body>hi</body></message>`, 1, 0, false},
		{"stranger on a lookalike domain", `<presence from='eve@evilconference.example.org/x' to='kick.example.org'/>`, 1, 0, false},
		{"stranger without from", `<presence to='kick.example.org'><priority>high</priority></presence>`, 1, 0, false},
		{"room occupant", `<presence from='room@conference.example.org/bob' to='kick.example.org/r1'/>`, 0, 0, true},
		{"MUC service", `<message from='conference.example.org' to='kick.example.org'><body>hi</body></message>`, 0, 0, true},
		{"server", `<presence from='example.org' to='kick.example.org' type='probe'/>`, 0, 0, true},
		// An archived message the room sends muc-kick holds what an occupant
		// posted: from the room's bare JID, it may hold more elements.
		{"archived message of 300 elements", `<message from='room@conference.example.org' to='kick.example.org/r1'><result xmlns='urn:xmpp:mam:2' id='m1'><forwarded xmlns='urn:xmpp:forward:0'><message type='groupchat' from='room@conference.example.org/bob'><body>spam</body>` + strings.Repeat("<a xmlns='x'/>", 300) + `</message></forwarded></result></message>`, 0, 0, true},
		// What an occupant says is read past unread, however long: the
		// handler gets who said it, never what (TestOccupantMessageIsHeadOnly).
		{"an occupant's message of 300 elements", `<message from='room@conference.example.org/bob' to='kick.example.org/r1' type='groupchat'><body>spam</body>` + strings.Repeat("<a xmlns='x'/>", 300) + `</message>`, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i0, m0 := c.Ignored(), c.Malformed()
			if err := conn.Send(tc.raw); err != nil {
				t.Fatal(err)
			}
			if got := append(roundTrip(t, c, srv, conn), roundTrip(t, c, srv, conn)...); len(got) != 0 {
				t.Errorf("sent %.300q in answer", got[0].Raw)
			}
			if d := c.Ignored() - i0; d != tc.ignored {
				t.Errorf("Ignored() moved by %d, want %d", d, tc.ignored)
			}
			if d := c.Malformed() - m0; d != tc.malformed {
				t.Errorf("Malformed() moved by %d, want %d", d, tc.malformed)
			}
			select {
			case p := <-rec.packets:
				if !tc.handled {
					t.Errorf("the handler got %T", p)
				}
			default:
				if tc.handled {
					t.Error("the handler got nothing")
				}
			}
			assertStillUp(t, c, rec)
		})
	}
	// An IQ request from a stranger is still read and answered.
	conn.Send(`<iq type='get' id='after' from='eve@example.org/x' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`)
	// The first round trip proves it read; the second that the answer arrived.
	got := append(roundTrip(t, c, srv, conn), roundTrip(t, c, srv, conn)...)
	if len(got) != 1 || !strings.Contains(got[0].Raw, `id="after"`) || !strings.Contains(got[0].Raw, "service-unavailable") {
		t.Errorf("answer to a ping after the floods: %q", got)
	}
}

// TestOccupantMessageIsHeadOnly: a message from a room's occupant, or from
// the MUC service, reaches the handler with its attributes and nothing of
// its content, unread whatever it holds; a message from a room's bare JID
// (an archived message) is still decoded in full.
func TestOccupantMessageIsHeadOnly(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {})
	c, rec, _ := start(t, srv, component.Options{RoomDomains: []string{"conference.example.org"}})
	conn := srv.WaitConn(hangGuard)
	for _, tc := range []struct {
		name, raw, from, typ, id, body string
	}{
		{"groupchat", `<message from='room@conference.example.org/bob' to='kick.example.org/r1' type='groupchat' id='g1'><body>hello</body></message>`,
			"room@conference.example.org/bob", "groupchat", "g1", ""},
		{"private, with 300 elements", `<message from='room@conference.example.org/bob' to='kick.example.org/r1' type='chat' id='p1'><body>hi</body>` + strings.Repeat("<a xmlns='x'/>", 300) + `</message>`,
			"room@conference.example.org/bob", "chat", "p1", ""},
		{"deep", `<message from='room@conference.example.org/eve' to='kick.example.org/r1' type='groupchat' id='d1'>` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</message>`,
			"room@conference.example.org/eve", "groupchat", "d1", ""},
		{"room's own, decoded in full", `<message from='room@conference.example.org' to='kick.example.org/r1' type='groupchat' id='s1'><body>subject</body></message>`,
			"room@conference.example.org", "groupchat", "s1", "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m0 := c.Malformed()
			if err := conn.Send(tc.raw); err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c, srv, conn)
			select {
			case p := <-rec.packets:
				m, ok := p.(stanza.Message)
				if !ok {
					t.Fatalf("the handler got %T", p)
				}
				if m.From != tc.from || string(m.Type) != tc.typ || m.Id != tc.id || m.To != "kick.example.org/r1" || m.Body != tc.body {
					t.Errorf("the handler got from %q type %q id %q to %q body %q", m.From, m.Type, m.Id, m.To, m.Body)
				}
				if tc.body == "" && len(m.Extensions) != 0 {
					t.Errorf("the handler got extensions %v", m.Extensions)
				}
			default:
				t.Error("the handler got nothing")
			}
			if d := c.Malformed() - m0; d != 0 {
				t.Errorf("Malformed() moved by %d", d)
			}
			assertStillUp(t, c, rec)
		})
	}
}

// TestReplyOverTheBoundReachesItsWaiter: a reply to a pending IQ with more
// elements than the read loop tokenizes is dropped unread, and still ends
// the wait with what its start tag says, instead of a timeout.
func TestReplyOverTheBoundReachesItsWaiter(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{})
	junk := `<q xmlns='urn:x'>` + strings.Repeat("<a/>", 9000) + `</q>`
	srv.Handle(func(fc *fakeserver.Conn, s fakeserver.Stanza) {
		if s.Type == "get" {
			fc.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'>%s</iq>", s.ID, s.To, s.From, junk))
		} else {
			fc.Send(fmt.Sprintf("<iq type='error' id='%s' from='%s' to='%s'>%s<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", s.ID, s.To, s.From, junk))
		}
	})
	iq, err := c.IQ(context.Background(), "get", "", "big.example.org", nil)
	if err != nil || iq.Type != stanza.IQTypeResult {
		t.Fatalf("result over the bound: %+v, %v", iq, err)
	}
	_, err = c.IQ(context.Background(), "set", "", "big.example.org", nil)
	if !errorIsCondition(err, "undefined-condition") {
		t.Fatalf("error over the bound: %v, want undefined-condition", err)
	}
	if c.Malformed() != 2 || c.UnmatchedReplies() != 0 {
		t.Errorf("Malformed() = %d, UnmatchedReplies() = %d; want 2, 0", c.Malformed(), c.UnmatchedReplies())
	}
	assertStillUp(t, c, rec)
}

// TestLongReplyIsRead: a reply to a pending IQ may hold more elements than
// a stanza from anyone else (an affiliation list of a big room), and is
// decoded whole.
func TestLongReplyIsRead(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{})
	items := strings.Repeat("<item affiliation='outcast' jid='spam@example.org'/>", 2000)
	srv.Handle(func(fc *fakeserver.Conn, s fakeserver.Stanza) {
		fc.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/disco#items'>%s</query></iq>", s.ID, s.To, s.From, items))
	})
	iq, err := c.IQ(context.Background(), "get", "", "big.example.org", nil)
	if err != nil || iq.Type != stanza.IQTypeResult || iq.Payload == nil && iq.Any == nil {
		t.Fatalf("a long reply: %+v, %v", iq, err)
	}
	if c.Malformed() != 0 {
		t.Errorf("Malformed() = %d for a reply we asked for", c.Malformed())
	}
	assertStillUp(t, c, rec)
}

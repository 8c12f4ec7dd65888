package muc_test

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
	"gosrc.io/xmpp/stanza"
)

// mustRoom and mustJID parse the JIDs a test names.
func mustRoom(s string) jid.JID {
	j, err := jid.ParseRoom(s)
	if err != nil {
		panic(err)
	}
	return j
}

func mustJID(s string) jid.JID {
	j, err := jid.Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

const (
	compDomain = "kick.example.org"
	occupant   = compDomain + "/muc-kick"
	mucDomain  = "conference.example.org"
)

// fakeMUC plays a MUC service the way Prosody does: kicks only from a present
// moderator, entry answered with a self-presence.
type fakeMUC struct {
	mu        sync.Mutex
	rooms     map[string]map[string]bool // room → nicks present
	joins     []fakeserver.Stanza
	leaves    []fakeserver.Stanza
	kicks     []fakeserver.Stanza
	in        map[string]string // rooms the component is in → its nick
	onJoin    func(c *fakeserver.Conn, s fakeserver.Stanza) bool
	bareKicks bool // allow kicks from outside the room
	conn      *fakeserver.Conn
	jids      map[string]map[string]string // room → nick → real JID
	failNick  map[string]string            // nick → error condition its kick gets
	versions  map[string][2]string         // domain → its XEP-0092 name and version
	identity  map[string]string            // domain → its disco#info identity name
	others    map[string][]string          // room → presences of other occupants sent on entry
	asked     []string                     // domains asked for their version
	affs      map[string]string            // JID → affiliation, in every room

	joinTimeout time.Duration // the Manager's; default 2s
}

func newFakeMUC(rooms ...string) *fakeMUC {
	f := &fakeMUC{rooms: map[string]map[string]bool{}, in: map[string]string{}}
	for _, r := range rooms {
		f.rooms[r] = map[string]bool{"Bob": true, "Eve": true}
	}
	return f
}

func (f *fakeMUC) handle(c *fakeserver.Conn, s fakeserver.Stanza) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn = c
	room, nick, _ := strings.Cut(s.To, "/")
	switch {
	case s.Name == "presence" && s.Type == "unavailable":
		f.leaves = append(f.leaves, s)
		delete(f.in, room)
	case s.Name == "presence":
		f.joins = append(f.joins, s)
		if f.onJoin != nil && f.onJoin(c, s) {
			return
		}
		f.in[room] = nick
		for other, real := range f.jids[room] {
			c.Send(fmt.Sprintf("<presence from='%s/%s' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='%s'/></x></presence>",
				room, other, occupant, real))
		}
		for _, p := range f.others[room] {
			c.Send(p)
		}
		c.Send(selfPresence(s.To, "moderator"))
	case s.Name == "iq" && s.Type == "get" && strings.Contains(s.Raw, "jabber:iq:version"):
		f.asked = append(f.asked, s.To)
		v, ok := f.versions[s.To]
		if !ok {
			c.Send(fakeserver.Error(s, "cancel", "service-unavailable", ""))
			return
		}
		c.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><query xmlns='jabber:iq:version'><name>%s</name><version>%s</version></query></iq>",
			s.ID, s.To, s.From, v[0], v[1]))
	case s.Name == "iq" && s.Type == "get" && f.identity[s.To] != "":
		c.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='%s'/></query></iq>",
			s.ID, s.To, s.From, f.identity[s.To]))
	case s.Name == "iq" && s.Type == "get" && strings.Contains(s.Raw, "muc#admin"):
		f.answerList(c, s)
	case s.Name == "iq" && s.Type == "get": // disco#info
		if f.rooms[s.To] == nil {
			c.Send(fakeserver.Error(s, "cancel", "item-not-found", ""))
		} else {
			c.Send(fakeserver.Result(s))
		}
	case s.Name == "iq":
		f.kicks = append(f.kicks, s)
		var q muc.AdminQuery
		if err := xml.Unmarshal([]byte(innerQuery(s.Raw)), &q); err != nil {
			c.Send(fakeserver.Error(s, "modify", "bad-request", err.Error()))
			return
		}
		switch {
		case f.rooms[s.To] == nil:
			c.Send(fakeserver.Error(s, "cancel", "item-not-found", ""))
		case !f.bareKicks && (s.From != occupant || f.in[s.To] == ""):
			c.Send(fakeserver.Error(s, "cancel", "not-allowed", ""))
		case q.Item.Nick != "" && !f.rooms[s.To][q.Item.Nick]:
			c.Send(fakeserver.Error(s, "modify", "item-not-found", ""))
		case f.failNick[q.Item.Nick] != "":
			c.Send(fakeserver.Error(s, "cancel", f.failNick[q.Item.Nick], ""))
		default:
			if q.Item.JID != "" && q.Item.Affiliation != "" {
				f.setAffiliation(q.Item.JID, q.Item.Affiliation)
			}
			c.Send(fakeserver.Result(s))
		}
	}
}

// setAffiliation records jid's affiliation in every room; f.mu held.
func (f *fakeMUC) setAffiliation(jid, aff string) {
	if f.affs == nil {
		f.affs = make(map[string]string)
	}
	f.affs[strings.ToLower(jid)] = aff
}

// answerList answers an affiliation list request; f.mu held.
func (f *fakeMUC) answerList(c *fakeserver.Conn, s fakeserver.Stanza) {
	if f.rooms[s.To] == nil {
		c.Send(fakeserver.Error(s, "cancel", "item-not-found", ""))
		return
	}
	var q muc.AdminQuery
	if err := xml.Unmarshal([]byte(innerQuery(s.Raw)), &q); err != nil {
		c.Send(fakeserver.Error(s, "modify", "bad-request", err.Error()))
		return
	}
	items := ""
	for jid, aff := range f.affs {
		if aff == q.Item.Affiliation {
			items += fmt.Sprintf("<item affiliation='%s' jid='%s'/>", aff, jid)
		}
	}
	c.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/muc#admin'>%s</query></iq>",
		s.ID, s.To, s.From, items))
}

func selfPresence(occupantJID, role string, statuses ...int) string {
	st := "<status code='110'/>"
	for _, s := range statuses {
		st += fmt.Sprintf("<status code='%d'/>", s)
	}
	return fmt.Sprintf("<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='%s'/>%s</x></presence>",
		occupantJID, occupant, role, st)
}

func innerQuery(raw string) string {
	i := strings.Index(raw, "<query")
	j := strings.LastIndex(raw, "</iq>")
	if i < 0 || j < i {
		return ""
	}
	return raw[i:j]
}

func (f *fakeMUC) counts() (joins, leaves, kicks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.joins), len(f.leaves), len(f.kicks)
}

// env is a Manager connected to a fake server.
type env struct {
	m       *muc.Manager
	srv     *fakeserver.Server
	c       *component.Component
	handled chan stanza.Packet // every packet the Manager has handled, in order
}

// handler passes the component's events to the Manager and reports them.
type handler struct {
	m       *muc.Manager
	up      chan struct{}
	handled chan stanza.Packet
}

func (h *handler) HandlePacket(p stanza.Packet) {
	h.m.HandlePacket(p)
	select {
	case h.handled <- p:
	default:
	}
}

func (h *handler) SessionChanged(up bool) {
	h.m.SessionChanged(up)
	if up {
		select {
		case h.up <- struct{}{}:
		default:
		}
	}
}

// setup connects a component to a fake server playing f and returns a Manager.
func setup(t *testing.T, f *fakeMUC, linger time.Duration) (*muc.Manager, *fakeserver.Server) {
	e := setupEnv(t, f, linger)
	return e.m, e.srv
}

func setupEnv(t *testing.T, f *fakeMUC, linger time.Duration) *env {
	t.Helper()
	srv := fakeserver.Start(t, compDomain, "secret")
	srv.Handle(f.handle)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := component.New(component.Options{Server: srv.Addr, Domain: compDomain, Secret: "secret",
		IQTimeout: 2 * time.Second, KeepaliveInterval: -1, Logger: log})
	joinTimeout := cmp.Or(f.joinTimeout, 2*time.Second)
	m := muc.NewManager(c, muc.Options{Domains: []string{mucDomain}, Nick: "kickbot", Linger: linger,
		JoinTimeout: joinTimeout, Logger: log})
	h := &handler{m: m, up: make(chan struct{}, 1), handled: make(chan stanza.Packet, 1000)}
	c.SetHandler(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-h.up: // the Manager knows the stream is up
	case <-time.After(5 * time.Second):
		t.Fatal("the component did not come up within 5s")
	}
	return &env{m: m, srv: srv, c: c, handled: h.handled}
}

// sent waits for the next stanza the component sent that matches.
func (e *env) sent(t *testing.T, match func(fakeserver.Stanza) bool) fakeserver.Stanza {
	t.Helper()
	for {
		s, ok := e.srv.Next(5 * time.Second)
		if !ok {
			t.Fatal("no matching stanza sent within 5s")
		}
		if match(s) {
			return s
		}
	}
}

// barrier returns once the fake server has handled every stanza the
// component sent before it: a disco#info it answers, on the same stream.
func (e *env) barrier(t *testing.T) {
	t.Helper()
	_, err := e.c.IQ(context.Background(), "get", "", "barrier@"+mucDomain, struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
	}{})
	var serr *muc.StanzaError
	if err != nil && !errors.As(err, &serr) {
		t.Fatalf("barrier: %v", err)
	}
}

// handled waits until the Manager has handled a presence that matches.
func (e *env) handledPresence(t *testing.T, match func(stanza.Presence) bool) {
	t.Helper()
	for {
		select {
		case p := <-e.handled:
			if pres, ok := p.(stanza.Presence); ok && match(pres) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no matching presence handled within 5s")
		}
	}
}

func isLeave(s fakeserver.Stanza) bool { return s.Name == "presence" && s.Type == "unavailable" }

func TestKickIQIsExactAndEscaped(t *testing.T) {
	f := newFakeMUC("room@" + mucDomain)
	f.bareKicks = true
	f.rooms["room@"+mucDomain][`<b>&"q'`] = true
	m, _ := setup(t, f, time.Minute)
	reason := "]]> <x/> & \"quoted\" ünïcødé 🚪"
	if err := m.Kick(context.Background(), mustRoom("room@"+mucDomain), `<b>&"q'`, reason); err != nil {
		t.Fatal(err)
	}
	got := f.kicks[0].Raw
	want := fmt.Sprintf(`<iq type="set" id="%s" from="kick.example.org" to="room@conference.example.org">`+
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item nick="&lt;b&gt;&amp;&#34;q&#39;" role="none">`+
		`<reason>]]&gt; &lt;x/&gt; &amp; &#34;quoted&#34; ünïcødé 🚪</reason></item></query></iq>`, f.kicks[0].ID)
	if got != want {
		t.Errorf("kick IQ\n got %s\nwant %s", got, want)
	}
}

func TestKickEntersRoomWhenNotAllowedAndLeavesAfterLinger(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	e := setupEnv(t, f, 200*time.Millisecond)
	m := e.m
	if err := m.Kick(context.Background(), mustRoom(room), "Bob", "bye"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if len(f.kicks) != 2 || f.kicks[0].From != compDomain || f.kicks[1].From != occupant {
		t.Fatalf("want a kick from %s then from %s, got %+v", compDomain, occupant, f.kicks)
	}
	wantJoin := `<presence from="kick.example.org/muc-kick" to="room@conference.example.org/kickbot"><x xmlns="http://jabber.org/protocol/muc"><history maxchars="0"></history></x></presence>`
	if len(f.joins) != 1 || f.joins[0].Raw != wantJoin {
		t.Fatalf("join\n got %+v\nwant %s", f.joins, wantJoin)
	}
	f.mu.Unlock()
	if m.Rooms() != 1 {
		t.Errorf("Rooms() = %d, want 1", m.Rooms())
	}
	// A second kick while in the room goes straight from the occupant JID.
	if err := m.Kick(context.Background(), mustRoom(room), "Eve", ""); err != nil {
		t.Fatal(err)
	}
	if j, _, k := f.counts(); j != 1 || k != 3 {
		t.Errorf("joins=%d kicks=%d, want 1 and 3", j, k)
	}
	e.sent(t, isLeave) // the linger timer fired
	e.barrier(t)
	_, leaves, _ := f.counts()
	if leaves != 1 || m.Rooms() != 0 {
		t.Fatalf("after linger: %d leaves, %d rooms; want 1 and 0", leaves, m.Rooms())
	}
	if f.leaves[0].Raw != `<presence from="kick.example.org/muc-kick" to="room@conference.example.org/kickbot" type="unavailable"></presence>` {
		t.Errorf("leave: %s", f.leaves[0].Raw)
	}
}

func TestConcurrentKicksShareOneEntry(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	for i := range 20 {
		f.rooms[room][fmt.Sprint("user", i)] = true
	}
	m, _ := setup(t, f, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- m.Kick(context.Background(), mustRoom(room), fmt.Sprint("user", i), "")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if j, _, _ := f.counts(); j != 1 {
		t.Errorf("%d entries for 20 concurrent kicks, want 1", j)
	}
}

func TestOutcomes(t *testing.T) {
	room := "room@" + mucDomain
	for _, tc := range []struct {
		name   string
		room   string
		nick   string
		onJoin func(c *fakeserver.Conn, s fakeserver.Stanza) bool
		want   error
		joins  int
		leaves int
	}{
		{name: "unknown domain", room: "room@elsewhere.example.org", nick: "Bob", want: muc.ErrUnknownDomain},
		{name: "no such room", room: "nope@" + mucDomain, nick: "Bob", want: muc.ErrRoomNotFound},
		{name: "no such occupant", room: room, nick: "Mallory", want: muc.ErrOccupantNotFound, joins: 1},
		{name: "entry refused", room: room, nick: "Bob", want: muc.ErrEntryRefused, joins: 1, onJoin: func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
			c.Send(fmt.Sprintf("<presence type='error' from='%s' to='%s'><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>", s.To, s.From))
			return true
		}},
		{name: "entry created the room", room: room, nick: "Bob", want: muc.ErrRoomNotFound, joins: 1, leaves: 1, onJoin: func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
			c.Send(selfPresence(s.To, "moderator", 201))
			return true
		}},
		{name: "not a moderator", room: room, nick: "Bob", want: muc.ErrEntryRefused, joins: 1, leaves: 1, onJoin: func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
			c.Send(selfPresence(s.To, "participant"))
			return true
		}},
		{name: "entry never answered", room: room, nick: "Bob", want: muc.ErrNoAnswer, joins: 1, leaves: 1, onJoin: func(*fakeserver.Conn, fakeserver.Stanza) bool {
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMUC(room)
			f.onJoin = tc.onJoin
			f.joinTimeout = 100 * time.Millisecond // for "entry never answered"
			e := setupEnv(t, f, time.Minute)
			err := e.m.Kick(context.Background(), mustRoom(tc.room), tc.nick, "")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			e.barrier(t) // any leave was sent before the kick returned
			if j, l, _ := f.counts(); j != tc.joins || l != tc.leaves {
				t.Errorf("joins=%d leaves=%d, want %d and %d", j, l, tc.joins, tc.leaves)
			}
			if tc.want == muc.ErrUnknownDomain {
				if _, _, k := f.counts(); k != 0 {
					t.Errorf("%d stanzas sent for a room on another domain", k)
				}
			}
		})
	}
}

func TestNickConflictRetriesWithSuffix(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.onJoin = func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
		if strings.HasSuffix(s.To, "/kickbot") {
			c.Send(fmt.Sprintf("<presence type='error' from='%s' to='%s'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>", s.To, s.From))
			return true
		}
		return false
	}
	m, _ := setup(t, f, time.Minute)
	if err := m.Kick(context.Background(), mustRoom(room), "Bob", ""); err != nil {
		t.Fatal(err)
	}
	if len(f.joins) != 2 || !strings.Contains(f.joins[1].To, "/kickbot-") {
		t.Fatalf("joins: %+v", f.joins)
	}
}

func TestKickedComponentEntersAgain(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	e := setupEnv(t, f, time.Minute)
	m := e.m
	if err := m.Kick(context.Background(), mustRoom(room), "Bob", ""); err != nil {
		t.Fatal(err)
	}
	e.barrier(t)
	// Someone kicks the component itself.
	f.mu.Lock()
	delete(f.in, room)
	f.conn.Send("<presence type='unavailable' from='room@conference.example.org/kickbot' to='kick.example.org/muc-kick'>" +
		"<x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='110'/><status code='307'/></x></presence>")
	f.mu.Unlock()
	e.handledPresence(t, func(p stanza.Presence) bool { return p.Type == stanza.PresenceTypeUnavailable })
	if m.Rooms() != 0 {
		t.Fatal("the manager did not notice it was kicked")
	}
	if err := m.Kick(context.Background(), mustRoom(room), "Eve", ""); err != nil {
		t.Fatal(err)
	}
	if j, _, _ := f.counts(); j != 2 {
		t.Errorf("%d entries, want 2: it must enter again after being kicked", j)
	}
}

func TestCloseLeavesEveryRoom(t *testing.T) {
	f := newFakeMUC("a@"+mucDomain, "b@"+mucDomain)
	e := setupEnv(t, f, time.Hour)
	m := e.m
	for _, r := range []string{"a@" + mucDomain, "b@" + mucDomain} {
		if err := m.Kick(context.Background(), mustRoom(r), "Bob", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sent(t, isLeave)
	e.sent(t, isLeave)
	e.barrier(t)
	if _, l, _ := f.counts(); l != 2 {
		t.Errorf("%d rooms left on Close, want 2", l)
	}
	if err := m.Kick(context.Background(), mustRoom("a@"+mucDomain), "Eve", ""); !errors.Is(err, muc.ErrClosed) {
		t.Errorf("kick after Close: %v", err)
	}
}

func TestKickByJID(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.rooms[room]["Bob (phone)"] = true
	f.jids = map[string]map[string]string{room: {
		"Bob": "Bob@Example.org/laptop", "Bob (phone)": "bob@example.org/phone", "Eve": "eve@example.org/x",
	}}
	m, _ := setup(t, f, time.Minute)
	nicks, err := m.KickJID(context.Background(), mustRoom(room), mustJID("bob@example.org/phone"), "")
	if err != nil || len(nicks) != 1 || nicks[0] != "Bob (phone)" {
		t.Fatalf("full JID: %v %v", nicks, err)
	}
	nicks, err = m.KickJID(context.Background(), mustRoom(room), mustJID("bob@example.org"), "all of them")
	if err != nil || strings.Join(nicks, ",") != "Bob,Bob (phone)" {
		t.Fatalf("bare JID: %v %v", nicks, err)
	}
	if _, err := m.KickJID(context.Background(), mustRoom(room), mustJID("mallory@example.org"), ""); !errors.Is(err, muc.ErrOccupantNotFound) {
		t.Fatalf("nobody: %v", err)
	}
	if _, err := m.KickJID(context.Background(), mustRoom(room), mustJID("eve@example.org/y"), ""); !errors.Is(err, muc.ErrOccupantNotFound) {
		t.Fatalf("another session of eve: %v", err)
	}
	if _, err := m.KickJID(context.Background(), mustRoom("ghost@"+mucDomain), mustJID("eve@example.org"), ""); !errors.Is(err, muc.ErrRoomNotFound) {
		t.Fatalf("missing room: %v", err)
	}
	if j, _, _ := f.counts(); j != 1 {
		t.Errorf("%d entries, want 1: a missing room must not be entered (that would create it)", j)
	}
}

func TestBanAndUnbanFromOutside(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.bareKicks = true
	m, _ := setup(t, f, time.Minute)
	if err := m.Ban(context.Background(), mustRoom(room), mustJID("bob@example.org"), "spam & <more>"); err != nil {
		t.Fatal(err)
	}
	if lifted, err := m.Unban(context.Background(), mustRoom(room), mustJID("bob@example.org")); err != nil || !lifted {
		t.Fatal(lifted, err)
	}
	want := []string{
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item jid="bob@example.org" affiliation="outcast"><reason>spam &amp; &lt;more&gt;</reason></item></query>`,
		`<query xmlns="http://jabber.org/protocol/muc#admin"><item jid="bob@example.org" affiliation="none"></item></query>`,
	}
	for i, w := range want {
		if !strings.Contains(f.kicks[i].Raw, w) || f.kicks[i].From != compDomain {
			t.Errorf("IQ %d from %s:\n got %s\nwant %s", i, f.kicks[i].From, f.kicks[i].Raw, w)
		}
	}
	if j, _, _ := f.counts(); j != 0 {
		t.Errorf("entered the room %d times for a ban the server takes from outside", j)
	}
}

// The review's reproduction: the room lets the component in and kicks it in
// the same burst. Every kick enters again instead of believing it is in
// (before: 403 forever without entering), and once the room lets the
// component stay, kicks work.
func TestRemovedInTheEntryBurstHeals(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.onJoin = func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
		c.Send(selfPresence(s.To, "moderator") +
			"<presence type='unavailable' from='" + s.To + "' to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='110'/><status code='307'/></x></presence>")
		return true
	}
	m, _ := setup(t, f, time.Minute)
	for round := range 5 {
		joins, _, _ := f.counts()
		err := m.Kick(context.Background(), mustRoom(room), "Bob", "")
		if !errors.Is(err, muc.ErrEntryRefused) && !errors.Is(err, muc.ErrRefused) {
			t.Fatalf("round %d: got %v, want a refusal", round, err)
		}
		if j, _, _ := f.counts(); j == joins {
			t.Fatalf("round %d: no new entry", round)
		}
	}
	f.mu.Lock()
	f.onJoin = nil
	f.mu.Unlock()
	if err := m.Kick(context.Background(), mustRoom(room), "Bob", ""); err != nil {
		t.Fatal(err)
	}
}

// Hostile presences to the component leave the stream up and make it send
// nothing: junk in muc#user, and forged "this is you" (110) presences from
// strangers and about rooms we never entered.
func TestHostilePresencesChangeNothing(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	e := setupEnv(t, f, time.Minute)
	hostile := []string{
		"<presence to='kick.example.org'><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></presence>",
		"<presence to='kick.example.org/muc-kick'><x xmlns='http://jabber.org/protocol/muc#user'><status code='99999999999999999999'/><status/><item role='&#x263A;' jid='not a jid'/><destroy><reason>x</reason></destroy></x></presence>",
		"<presence from='evil@example.org/x' to='kick.example.org'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status code='110'/></x></presence>",
		"<presence from='never@conference.example.org/kickbot' to='kick.example.org/muc-kick'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status code='110'/></x></presence>",
		"<presence from='room@conference.example.org/Mallory' to='kick.example.org/muc-kick'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status code='110'/><status code='201'/></x></presence>",
	}
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	if conn == nil {
		e.barrier(t) // the fake learns its connection from the first stanza
		f.mu.Lock()
		conn = f.conn
		f.mu.Unlock()
	}
	for _, h := range hostile {
		conn.Send(h)
	}
	for range hostile {
		e.handledPresence(t, func(stanza.Presence) bool { return true })
	}
	if err := e.m.Kick(context.Background(), mustRoom(room), "Bob", ""); err != nil {
		t.Fatal(err)
	}
	if n := e.c.Reconnects(); n != 0 {
		t.Errorf("%d reconnects", n)
	}
	e.barrier(t)
	if j, l, _ := f.counts(); j != 1 || l != 0 {
		t.Errorf("joins=%d leaves=%d, want 1 and 0: nothing but the one entry", j, l)
	}
}

// An entry that comes back without the moderator role names the fix for the
// server the component talks to, learnt over XEP-0092 (or its disco#info
// identity) once per session.
func TestNotModeratorNamesTheFix(t *testing.T) {
	room := "room@" + mucDomain
	for _, tc := range []struct {
		name     string
		versions map[string][2]string
		identity map[string]string
		has      []string
		hasNot   []string
	}{
		{name: "Prosody 0.12", versions: map[string][2]string{"example.org": {"Prosody", "0.12.3"}},
			has: []string{"Prosody 0.12.3", `admins = { "kick.example.org" }`}, hasNot: []string{"component_admins_as_room_owners", "ejabberd"}},
		{name: "Prosody 13", versions: map[string][2]string{"example.org": {"Prosody", "13.0.1"}},
			has: []string{"Prosody 13.0.1", "component_admins_as_room_owners = true", `admins = { "kick.example.org" }`}, hasNot: []string{"ejabberd", "0.12"}},
		{name: "ejabberd 24.12", versions: map[string][2]string{"example.org": {"ejabberd", "24.12"}},
			has: []string{"ejabberd 24.12", "access_admin: muc_admin", "server: kick.example.org", `"user:"`}, hasNot: []string{"prosody.cfg.lua"}},
		{name: "ejabberd 23.01 on the MUC service", versions: map[string][2]string{mucDomain: {"ejabberd", "23.01"}},
			has: []string{"ejabberd 23.01", "access_admin: muc_admin"}, hasNot: []string{"prosody.cfg.lua"}},
		{name: "Prosody without mod_version", identity: map[string]string{mucDomain: "Prosody Chatrooms"},
			has: []string{"Prosody, version unknown", "on Prosody 0.12:", "on Prosody 13 or later:", "component_admins_as_room_owners = true"}, hasNot: []string{"ejabberd"}},
		{name: "unknown", has: []string{"unknown software", "on Prosody 0.12:", "on Prosody 13 or later:", "on ejabberd:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMUC(room)
			f.versions, f.identity = tc.versions, tc.identity
			f.onJoin = func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
				c.Send(selfPresence(s.To, "participant"))
				return true
			}
			m, _ := setup(t, f, time.Minute)
			for range 2 {
				err := m.Kick(context.Background(), mustRoom(room), "Bob", "")
				if !errors.Is(err, muc.ErrEntryRefused) {
					t.Fatalf("got %v, want ErrEntryRefused", err)
				}
				for _, h := range tc.has {
					if !strings.Contains(err.Error(), h) {
						t.Errorf("error lacks %q: %v", h, err)
					}
				}
				for _, h := range tc.hasNot {
					if strings.Contains(err.Error(), h) {
						t.Errorf("error has %q: %v", h, err)
					}
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if strings.Join(f.asked, ",") != mucDomain+",example.org" && strings.Join(f.asked, ",") != "example.org,"+mucDomain {
				t.Errorf("asked for the version of %v; want the MUC service and its parent, once per session", f.asked)
			}
		})
	}
}

func TestModeratorFix(t *testing.T) {
	for _, tc := range []struct{ software, version, has, hasNot string }{
		{"Prosody", "0.12.3", `admins = { "k.example" }`, "component_admins_as_room_owners"},
		{"Prosody", "0.11.9", `admins = { "k.example" }`, "component_admins_as_room_owners"},
		{"Prosody", "13.0.1", "component_admins_as_room_owners = true", "0.12"},
		{"Prosody", "14.0", "component_admins_as_room_owners = true", "0.12"},
		{"Prosody", "trunk", "on Prosody 13 or later", "ejabberd"},
		{"ejabberd", "24.12", "muc_admin: server: k.example", "prosody"},
		{"Openfire", "4.7", "on ejabberd", ""},
	} {
		got := muc.ModeratorFix(tc.software, tc.version, "k.example")
		if !strings.Contains(got, tc.has) || tc.hasNot != "" && strings.Contains(got, tc.hasNot) {
			t.Errorf("%s %s: %s\nwant %q and not %q", tc.software, tc.version, got, tc.has, tc.hasNot)
		}
	}
}

// A kick by JID that fails part-way returns who was kicked with the error.
func TestKickByJIDFailingPartWay(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.rooms[room]["Bob (phone)"] = true
	f.jids = map[string]map[string]string{room: {"Bob": "bob@example.org/laptop", "Bob (phone)": "bob@example.org/phone"}}
	f.failNick = map[string]string{"Bob (phone)": "internal-server-error"}
	m, _ := setup(t, f, time.Minute)
	nicks, err := m.KickJID(context.Background(), mustRoom(room), mustJID("bob@example.org"), "")
	var serr *muc.StanzaError
	if !errors.As(err, &serr) || serr.Condition != "internal-server-error" || strings.Join(nicks, ",") != "Bob" {
		t.Fatalf("got %v %v, want [Bob] and internal-server-error", nicks, err)
	}
}

// occupantPresence is a room's presence of another occupant; jid and id are
// left out when empty.
func occupantPresence(room, nick, affiliation, role, real, id string) string {
	item := fmt.Sprintf("<item affiliation='%s' role='%s'", affiliation, role)
	if real != "" {
		item += fmt.Sprintf(" jid='%s'", real)
	}
	p := fmt.Sprintf("<presence from='%s/%s' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'>%s/></x>", room, nick, occupant, item)
	if id != "" {
		p += fmt.Sprintf("<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%s'/>", id)
	}
	return p + "</presence>"
}

// Occupants enters the room as a kick does and lists who is there, with
// what the presences said, without the component itself; the room is then
// held, and a second call reads the list kept up to date.
func TestOccupants(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.others = map[string][]string{room: {
		occupantPresence(room, "Carol", "member", "visitor", "Carol@Example.org/c", "id-carol"),
		occupantPresence(room, "Alice", "owner", "moderator", "alice@example.org/a", "id-alice"),
		occupantPresence(room, "Bob", "none", "participant", "", ""),
	}}
	e := setupEnv(t, f, time.Minute)
	got, err := e.m.Occupants(context.Background(), mustRoom(room))
	want := []muc.Occupant{
		{Nick: "Alice", Role: "moderator", Affiliation: "owner", JID: mustJID("alice@example.org/a"), OccupantID: "id-alice"},
		{Nick: "Bob", Role: "participant", Affiliation: "none"},
		{Nick: "Carol", Role: "visitor", Affiliation: "member", JID: mustJID("carol@example.org/c"), OccupantID: "id-carol"},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Occupants = %+v, %v\nwant %+v", got, err, want)
	}
	if j, _, k := f.counts(); j != 1 || k != 0 || e.m.Rooms() != 1 {
		t.Fatalf("joins=%d admin IQs=%d rooms=%d, want 1, 0 and 1 (held as after a kick)", j, k, e.m.Rooms())
	}
	f.mu.Lock()
	f.conn.Send(fmt.Sprintf("<presence type='unavailable' from='%s/Bob' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>", room, occupant))
	f.conn.Send(occupantPresence(room, "Carol", "member", "participant", "carol@example.org/c", "id-carol"))
	f.mu.Unlock()
	e.handledPresence(t, func(p stanza.Presence) bool {
		return p.Type == stanza.PresenceTypeUnavailable && strings.HasSuffix(p.From, "/Bob")
	})
	e.handledPresence(t, func(p stanza.Presence) bool { return strings.HasSuffix(p.From, "/Carol") }) // the one after it
	got, err = e.m.Occupants(context.Background(), mustRoom(room))
	want = []muc.Occupant{want[0], {Nick: "Carol", Role: "participant", Affiliation: "member", JID: mustJID("carol@example.org/c"), OccupantID: "id-carol"}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("after Bob left and Carol got voice: %+v, %v\nwant %+v", got, err, want)
	}
	if j, _, _ := f.counts(); j != 1 {
		t.Errorf("%d entries, want 1: the room was held", j)
	}
}

// Occupants of a missing room is ErrRoomNotFound without entering (which
// would create it), of a room on another domain ErrUnknownDomain; a room it
// entered is left under the room policy, as after a kick.
func TestOccupantsOutcomes(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	e := setupEnv(t, f, time.Millisecond)
	if _, err := e.m.Occupants(context.Background(), mustRoom("ghost@"+mucDomain)); !errors.Is(err, muc.ErrRoomNotFound) {
		t.Errorf("missing room: %v", err)
	}
	if _, err := e.m.Occupants(context.Background(), mustRoom("room@elsewhere.example.org")); !errors.Is(err, muc.ErrUnknownDomain) {
		t.Errorf("other domain: %v", err)
	}
	if j, _, _ := f.counts(); j != 0 {
		t.Fatalf("%d entries for a missing room and another domain, want 0", j)
	}
	if got, err := e.m.Occupants(context.Background(), mustRoom(room)); err != nil || len(got) != 0 {
		t.Fatalf("a room where nobody else is: %+v, %v", got, err)
	}
	e.sent(t, isLeave) // the linger ended
}

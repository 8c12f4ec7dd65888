package muc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"github.com/muc-kick/muc-kick/muc"
)

// fakeArchive adds to fakeMUC what a retraction needs: the room's features,
// its archive (XEP-0313) and moderation (XEP-0425), Prosody-like: both only
// for a present moderator.
type fakeArchive struct {
	*fakeMUC
	amu       sync.Mutex
	features  []string
	messages  []fakeMessage // oldest first
	retracted []string      // ids, in order
	moderates []fakeserver.Stanza
	queries   []fakeserver.Stanza
	extra     func(c *fakeserver.Conn, s fakeserver.Stanza, queryID string) // sent before each page
}

type fakeMessage struct {
	id, nick, jid, occupantID string
	at                        time.Time
}

func (f *fakeArchive) handle(c *fakeserver.Conn, s fakeserver.Stanza) {
	f.amu.Lock()
	defer f.amu.Unlock()
	switch {
	case s.Name == "iq" && s.Type == "get" && strings.Contains(s.Raw, "disco#info") && f.rooms[s.To] != nil:
		vars := ""
		for _, v := range f.features {
			vars += fmt.Sprintf("<feature var='%s'/>", v)
		}
		c.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' type='text' name='room'/>%s</query></iq>", s.ID, s.To, s.From, vars))
	case s.Name == "iq" && strings.Contains(s.Raw, "urn:xmpp:mam:2"):
		f.queries = append(f.queries, s)
		f.answerQuery(c, s)
	case s.Name == "iq" && strings.Contains(s.Raw, "message-moderate"):
		f.moderates = append(f.moderates, s)
		f.answerModerate(c, s)
	default:
		f.fakeMUC.handle(c, s)
	}
}

func (f *fakeArchive) present(s fakeserver.Stanza) bool {
	f.fakeMUC.mu.Lock()
	defer f.fakeMUC.mu.Unlock()
	return s.From == occupant && f.in[s.To] != ""
}

// answerQuery sends the page the query asks for, three messages a page,
// newest page first, as RSM's <before/> asks.
func (f *fakeArchive) answerQuery(c *fakeserver.Conn, s fakeserver.Stanza) {
	if !f.present(s) {
		c.Send(fakeserver.Error(s, "cancel", "forbidden", ""))
		return
	}
	qid := attr(s.Raw, "queryid")
	before := between(s.Raw, "<before>", "</before>")
	end := len(f.messages)
	for i, m := range f.messages {
		if m.id == before {
			end = i
		}
	}
	start := max(0, end-3)
	if strings.Contains(s.Raw, `var="ids"`) { // the extended field: that message alone
		want := between(between(s.Raw, `var="ids"`, "</field>"), "<value>", "</value>")
		start, end = 0, 0
		for i, m := range f.messages {
			if m.id == want {
				start, end = i, i+1
			}
		}
	}
	if f.extra != nil {
		f.extra(c, s, qid)
	}
	for _, m := range f.messages[start:end] {
		body := "<body>hello</body>"
		if slices.Contains(f.retracted, m.id) {
			body = "<retracted xmlns='urn:xmpp:message-retract:1'/>"
		}
		user := ""
		if m.jid != "" {
			user = fmt.Sprintf("<x xmlns='http://jabber.org/protocol/muc#user'><item jid='%s'/></x>", m.jid)
		}
		occ := ""
		if m.occupantID != "" {
			occ = fmt.Sprintf("<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%s'/>", m.occupantID)
		}
		c.Send(fmt.Sprintf("<message from='%s' to='%s'><result xmlns='urn:xmpp:mam:2' queryid='%s' id='%s'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='%s'/><message xmlns='jabber:client' from='%s/%s' type='groupchat'>%s%s%s</message></forwarded></result></message>",
			s.To, s.From, qid, m.id, m.at.Format(time.RFC3339), s.To, m.nick, body, user, occ))
	}
	first := ""
	if start < end {
		first = f.messages[start].id
	}
	c.Send(fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'><fin xmlns='urn:xmpp:mam:2' complete='%v'><set xmlns='http://jabber.org/protocol/rsm'><first>%s</first></set></fin></iq>",
		s.ID, s.To, s.From, start == 0, first))
}

func (f *fakeArchive) answerModerate(c *fakeserver.Conn, s fakeserver.Stanza) {
	id := attr(s.Raw[strings.Index(s.Raw, "message-moderate")-40:], "id")
	switch {
	case !f.present(s):
		c.Send(fakeserver.Error(s, "auth", "forbidden", ""))
	case !slices.ContainsFunc(f.messages, func(m fakeMessage) bool { return m.id == id }):
		c.Send(fakeserver.Error(s, "cancel", "item-not-found", "Message not found"))
	default:
		f.retracted = append(f.retracted, id)
		c.Send(fakeserver.Result(s))
	}
}

func attr(raw, name string) string {
	return between(raw, name+"='", "'") + between(raw, name+`="`, `"`)
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func newFakeArchive(room string, features ...string) *fakeArchive {
	return &fakeArchive{fakeMUC: newFakeMUC(room), features: features}
}

func setupArchive(t *testing.T, f *fakeArchive) *env {
	e := setupEnv(t, f.fakeMUC, time.Minute)
	e.srv.Handle(f.handle)
	return e
}

const (
	nsModerate1 = "urn:xmpp:message-moderate:1"
	nsModerate0 = "urn:xmpp:message-moderate:0"
	nsMAM       = "urn:xmpp:mam:2"
)

func TestMute(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.jids = map[string]map[string]string{room: {"Bob": "bob@example.org/laptop", "Eve": "eve@example.org/x"}}
	m, _ := setup(t, f, time.Minute)
	if err := m.SetRole(context.Background(), mustRoom(room), "Bob", muc.RoleVisitor, "calm down"); err != nil {
		t.Fatal(err)
	}
	nicks, err := m.SetRoleJID(context.Background(), mustRoom(room), mustJID("bob@example.org"), muc.RoleParticipant, "")
	if err != nil || !slices.Equal(nicks, []string{"Bob"}) {
		t.Fatalf("unmute by JID: %v %v", nicks, err)
	}
	want := []string{
		`<item nick="Bob" role="visitor"><reason>calm down</reason></item>`,
		`<item nick="Bob" role="participant"></item>`,
	}
	var got []string
	for _, k := range f.kicks {
		if k.From == occupant {
			got = append(got, innerQuery(k.Raw))
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], want[0]) || !strings.Contains(got[1], want[1]) {
		t.Errorf("role changes from inside:\n got %q\nwant %q", got, want)
	}
	if err := m.SetRole(context.Background(), mustRoom(room), "Mallory", muc.RoleVisitor, ""); !errors.Is(err, muc.ErrOccupantNotFound) {
		t.Errorf("mute of nobody: %v", err)
	}
	f.failNick = map[string]string{"Eve": "not-allowed"}
	err = m.SetRole(context.Background(), mustRoom(room), "Eve", muc.RoleVisitor, "")
	if !errors.Is(err, muc.ErrRefused) || !strings.Contains(err.Error(), "not-allowed") || !strings.Contains(err.Error(), "refused the mute") {
		t.Errorf("a mute the server refuses must be ErrRefused naming the mute and the condition: %v", err)
	}
}

func TestBanRefusesWhatItMustNotStrip(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.bareKicks = true
	f.affs = map[string]string{"owner@example.org": "owner", "admin@example.org": "admin", "member@example.org": "member"}
	m, _ := setup(t, f, time.Minute)
	for _, tc := range []struct {
		jid  string
		want error
		text string
	}{
		{"owner@example.org", muc.ErrAffiliated, "owner@example.org is an owner"},
		{"admin@example.org", muc.ErrAffiliated, "admin@example.org is an admin"},
		{compDomain, muc.ErrProtectedJID, compDomain},
		{"someone@" + compDomain, muc.ErrProtectedJID, compDomain},
		{"other@" + mucDomain, muc.ErrProtectedJID, mucDomain},
		{"example.org", muc.ErrProtectedJID, "example.org"}, // the server: every local account
		{mucDomain, muc.ErrProtectedJID, mucDomain},
	} {
		if err := m.Ban(context.Background(), mustRoom(room), mustJID(tc.jid), ""); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("ban of %s: %v, want %v naming %q", tc.jid, err, tc.want, tc.text)
		}
	}
	if len(f.kicks) != 0 {
		t.Fatalf("a refused ban sent %d changes", len(f.kicks))
	}
	if err := m.Ban(context.Background(), mustRoom(room), mustJID("member@example.org"), ""); err != nil {
		t.Errorf("a member may be banned, also an account of the server muc-kick is on: %v", err)
	}
	if f.affs["member@example.org"] != "outcast" {
		t.Errorf("the member is %q after the ban", f.affs["member@example.org"])
	}
}

func TestUnbanLiftsOnlyABan(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.bareKicks = true
	f.affs = map[string]string{"owner@example.org": "owner", "admin@example.org": "admin", "member@example.org": "member", "spam@example.org": "outcast"}
	m, _ := setup(t, f, time.Minute)
	for _, who := range []string{"owner", "admin", "member"} {
		jid := who + "@example.org"
		if lifted, err := m.Unban(context.Background(), mustRoom(room), mustJID(jid)); !errors.Is(err, muc.ErrAffiliated) || lifted || !strings.Contains(err.Error(), " "+who+" of") {
			t.Errorf("unban of an %s: %v %v", who, lifted, err)
		}
	}
	if lifted, err := m.Unban(context.Background(), mustRoom(room), mustJID("nobody@example.org")); err != nil || lifted {
		t.Errorf("unban of a JID without affiliation: %v %v, want not lifted and no error", lifted, err)
	}
	if len(f.kicks) != 0 {
		t.Fatalf("unbans that change nothing sent %d changes", len(f.kicks))
	}
	if lifted, err := m.Unban(context.Background(), mustRoom(room), mustJID("Spam@Example.org")); err != nil || !lifted {
		t.Errorf("unban of an outcast: %v %v", lifted, err)
	}
	if f.affs["spam@example.org"] != "none" || len(f.kicks) != 1 {
		t.Errorf("after the unban: %q, %d changes", f.affs["spam@example.org"], len(f.kicks))
	}
	if _, err := m.Unban(context.Background(), mustRoom("ghost@"+mucDomain), mustJID("spam@example.org")); !errors.Is(err, muc.ErrRoomNotFound) {
		t.Errorf("unban in a missing room: %v", err)
	}
}

func TestRetractByID(t *testing.T) {
	room := "room@" + mucDomain
	for _, tc := range []struct {
		features []string
		want     string
	}{
		{[]string{nsModerate0, nsModerate1}, `<moderate xmlns="urn:xmpp:message-moderate:1" id="m2"><retract xmlns="urn:xmpp:message-retract:1"></retract><reason>spam</reason></moderate>`},
		{[]string{nsModerate0}, `<apply-to xmlns="urn:xmpp:fasten:0" id="m2"><moderate xmlns="urn:xmpp:message-moderate:0"><retract xmlns="urn:xmpp:message-retract:0"></retract><reason>spam</reason></moderate></apply-to>`},
	} {
		f := newFakeArchive(room, tc.features...)
		f.messages = []fakeMessage{{id: "m1", nick: "Bob"}, {id: "m2", nick: "Bob"}}
		e := setupArchive(t, f)
		res, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{ID: "m2"}, "spam")
		if err != nil || !slices.Equal(res.Retracted, []string{"m2"}) || len(res.Failed) != 0 {
			t.Fatalf("%v: %+v %v", tc.features, res, err)
		}
		if len(f.moderates) != 1 || !strings.Contains(f.moderates[0].Raw, tc.want) || f.moderates[0].From != occupant || f.moderates[0].To != room {
			t.Errorf("%v: sent %+v\nwant %s from %s", tc.features, f.moderates, tc.want, occupant)
		}
		if len(f.queries) != 0 {
			t.Errorf("a retraction by id searched the archive")
		}
		_, err = e.m.Retract(context.Background(), mustRoom(room), muc.Selection{ID: "nope"}, "")
		if !errors.Is(err, muc.ErrMessageNotFound) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("unknown id: %v", err)
		}
	}
}

func TestRetractFromTheArchive(t *testing.T) {
	room := "room@" + mucDomain
	at := func(min int) time.Time { return time.Date(2026, 12, 5, 7, min, 0, 0, time.UTC) }
	f := newFakeArchive(room, nsModerate1, nsMAM)
	f.jids = map[string]map[string]string{room: {"Robert": "bob@example.org/phone"}}
	f.messages = []fakeMessage{
		{id: "m1", nick: "Bob", jid: "bob@example.org/laptop", at: at(1)},
		{id: "m2", nick: "Eve", at: at(2)},
		{id: "m3", nick: "Bob", at: at(3)},
		{id: "m4", nick: "Eve", at: at(4)},
		{id: "m5", nick: "Robert", occupantID: "occ-bob", at: at(5)},
		{id: "m6", nick: "Bob", at: at(6)},
		{id: "m7", nick: "Eve", at: at(7)},
	}
	e := setupArchive(t, f)
	// Robert's presence carries his occupant id.
	f.fakeMUC.mu.Lock()
	f.jids = nil
	f.fakeMUC.mu.Unlock()

	res, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{Nick: "Bob", Last: 2}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m6", "m3"}) {
		t.Fatalf("Bob's last two: %+v %v", res, err)
	}
	res, err = e.m.Retract(context.Background(), mustRoom(room), muc.Selection{Nick: "Bob"}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m1"}) {
		t.Fatalf("the rest of Bob's, past the tombstones: %+v %v", res, err)
	}
	if _, err = e.m.Retract(context.Background(), mustRoom(room), muc.Selection{Nick: "Bob"}, ""); !errors.Is(err, muc.ErrMessageNotFound) {
		t.Fatalf("nothing left of Bob's: %v", err)
	}
	res, err = e.m.Retract(context.Background(), mustRoom(room), muc.Selection{Nick: "Eve", Since: at(4)}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m7", "m4"}) {
		t.Fatalf("Eve's since minute 4: %+v %v", res, err)
	}
	if !strings.Contains(f.queries[len(f.queries)-1].Raw, "<value>2026-12-05T07:04:00Z</value>") {
		t.Errorf("the query does not ask from the start: %s", f.queries[len(f.queries)-1].Raw)
	}
	for _, q := range f.queries {
		if q.From != occupant || q.To != room || q.Type != "set" {
			t.Errorf("archive query %s → %s (%s): must be sent from inside, to the room", q.From, q.To, q.Type)
		}
	}
}

func TestRetractByJIDUsesOccupantIDs(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeArchive(room, nsModerate1, nsMAM)
	f.messages = []fakeMessage{
		{id: "m1", nick: "Bob", jid: "bob@example.org/laptop"},
		{id: "m2", nick: "Robert", occupantID: "occ-bob"},
		{id: "m3", nick: "Eve", occupantID: "occ-eve"},
	}
	f.onJoin = func(c *fakeserver.Conn, s fakeserver.Stanza) bool {
		room, _, _ := strings.Cut(s.To, "/")
		c.Send(fmt.Sprintf("<presence from='%s/Robert' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='bob@example.org/phone'/></x><occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ-bob'/></presence>", room, occupant))
		return false
	}
	e := setupArchive(t, f)
	res, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{JID: mustJID("bob@example.org"), Last: 10}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m2", "m1"}) {
		t.Fatalf("by JID: %+v %v", res, err)
	}
}

func TestRetractNotSupported(t *testing.T) {
	room := "room@" + mucDomain
	for _, tc := range []struct {
		name, identity string
		features       []string
		sel            muc.Selection
		want           string
	}{
		{"prosody without the modules", "Prosody", nil, muc.Selection{ID: "m1"}, "mod_muc_moderation"},
		{"ejabberd 23.01", "ejabberd", []string{nsMAM}, muc.Selection{ID: "m1"}, "ejabberd 24.12 or later"},
		{"prosody without an archive", "Prosody", []string{nsModerate0}, muc.Selection{Nick: "Bob", Last: 1}, `"muc_mam"`},
	} {
		f := newFakeArchive(room, tc.features...)
		f.identity = map[string]string{mucDomain: tc.identity}
		e := setupArchive(t, f)
		_, err := e.m.Retract(context.Background(), mustRoom(room), tc.sel, "")
		if !errors.Is(err, muc.ErrNotSupported) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotSupported naming %s", tc.name, err, tc.want)
		}
		if len(f.moderates)+len(f.queries) != 0 {
			t.Errorf("%s: sent a retraction or a query to a room that cannot", tc.name)
		}
		if j, _, _ := f.counts(); j != 0 {
			t.Errorf("%s: entered the room", tc.name)
		}
	}
	f := newFakeArchive(room, nsModerate1, nsMAM)
	e := setupArchive(t, f)
	if _, err := e.m.Retract(context.Background(), mustRoom("ghost@"+mucDomain), muc.Selection{ID: "m1"}, ""); !errors.Is(err, muc.ErrRoomNotFound) {
		t.Errorf("missing room: %v", err)
	}
}

// Results of an archive query count only from the room asked, for a query
// waiting: anyone can send the component a message that looks like one.
func TestArchiveResultsFromOthersAreIgnored(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeArchive(room, nsModerate1, nsMAM)
	f.messages = []fakeMessage{{id: "m1", nick: "Bob"}}
	forged := func(from, qid string) string {
		return fmt.Sprintf("<message from='%s' to='%s'><result xmlns='urn:xmpp:mam:2' queryid='%s' id='forged'><forwarded xmlns='urn:xmpp:forward:0'><message from='%s/Bob' type='groupchat'><body>x</body></message></forwarded></result></message>", from, occupant, qid, room)
	}
	f.extra = func(c *fakeserver.Conn, s fakeserver.Stanza, qid string) {
		c.Send(forged("mallory@example.org", qid))
		c.Send(forged("other@"+mucDomain, qid))
		c.Send(forged(room, qid+"x"))
	}
	e := setupArchive(t, f)
	res, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{Nick: "Bob", Last: 5}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m1"}) {
		t.Fatalf("%+v %v: only the room's own result may count", res, err)
	}
}

// An affiliation list the component could not read is no empty list: the
// ban or unban it guards is not sent.
func TestUnreadableAffiliationListChangesNothing(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.bareKicks = true
	f.affs = map[string]string{"owner@example.org": "owner"}
	e := setupEnv(t, f, time.Minute)
	e.srv.Handle(func(c *fakeserver.Conn, s fakeserver.Stanza) {
		if s.Type == "get" && strings.Contains(s.Raw, "muc#admin") {
			c.Send(fakeserver.Result(s)) // a result without the list, as a reply over the read loop's bounds is delivered
			return
		}
		f.handle(c, s)
	})
	if err := e.m.Ban(context.Background(), mustRoom(room), mustJID("owner@example.org"), ""); err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Errorf("ban with an unreadable owner list: %v", err)
	}
	if _, err := e.m.Unban(context.Background(), mustRoom(room), mustJID("owner@example.org")); err == nil {
		t.Error("unban with an unreadable owner list: no error")
	}
	if len(f.kicks) != 0 {
		t.Errorf("%d changes sent on unreadable lists", len(f.kicks))
	}
	// Only the outcast list unreadable (a big public room's): once the JID
	// is known to be no owner, admin or member, lifting a ban strips
	// nothing, so the unban goes.
	e.srv.Handle(func(c *fakeserver.Conn, s fakeserver.Stanza) {
		if s.Type == "get" && strings.Contains(s.Raw, "affiliation=\"outcast\"") {
			c.Send(fakeserver.Result(s))
			return
		}
		f.handle(c, s)
	})
	if lifted, err := e.m.Unban(context.Background(), mustRoom(room), mustJID("spam@example.org")); err != nil || !lifted {
		t.Errorf("unban with an unreadable outcast list: %v %v, want the unban sent", lifted, err)
	}
	if len(f.kicks) != 1 || !strings.Contains(f.kicks[0].Raw, `jid="spam@example.org" affiliation="none"`) {
		t.Errorf("changes: %v", f.kicks)
	}
}

// The role of an owner or admin follows its affiliation: a mute or unmute of
// one is refused before anything is sent (Prosody would let an owner mute
// another, and the unmute would leave it a participant).
func TestMuteRefusesOwnersAndAdmins(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeMUC(room)
	f.rooms[room]["Alice"] = true
	f.jids = map[string]map[string]string{room: {"Bob": "bob@example.org/laptop"}}
	f.others = map[string][]string{room: {
		"<presence from='" + room + "/Alice' to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' jid='alice@example.org/x'/></x></presence>",
	}}
	m, _ := setup(t, f, time.Minute)
	for _, role := range []muc.Role{muc.RoleVisitor, muc.RoleParticipant} {
		err := m.SetRole(context.Background(), mustRoom(room), "Alice", role, "")
		if !errors.Is(err, muc.ErrAffiliated) || !strings.Contains(err.Error(), "Alice is an owner") {
			t.Errorf("%s of the owner: %v", role, err)
		}
		if _, err := m.SetRoleJID(context.Background(), mustRoom(room), mustJID("alice@example.org"), role, ""); !errors.Is(err, muc.ErrAffiliated) {
			t.Errorf("%s of the owner by JID: %v", role, err)
		}
	}
	for _, k := range f.kicks {
		if strings.Contains(k.Raw, "Alice") {
			t.Errorf("a role change of the owner was sent: %s", k.Raw)
		}
	}
	if err := m.SetRole(context.Background(), mustRoom(room), "Bob", muc.RoleVisitor, ""); err != nil {
		t.Errorf("a participant may be muted: %v", err)
	}
}

// ejabberd 24.12 retracts an id it never assigned: where the archive takes
// the extended field ids, muc-kick looks the message up first.
func TestRetractLooksTheIDUp(t *testing.T) {
	room := "room@" + mucDomain
	f := newFakeArchive(room, nsModerate1, nsMAM, "urn:xmpp:mam:2#extended")
	f.messages = []fakeMessage{{id: "m1", nick: "Bob"}, {id: "m2", nick: "Bob"}}
	e := setupArchive(t, f)
	_, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{ID: "nope"}, "")
	if !errors.Is(err, muc.ErrMessageNotFound) || len(f.moderates) != 0 {
		t.Fatalf("an id the archive does not hold: %v, %d retractions sent", err, len(f.moderates))
	}
	res, err := e.m.Retract(context.Background(), mustRoom(room), muc.Selection{ID: "m1"}, "")
	if err != nil || !slices.Equal(res.Retracted, []string{"m1"}) || len(f.moderates) != 1 {
		t.Fatalf("an id the archive holds: %+v %v", res, err)
	}
	if q := f.queries[len(f.queries)-1].Raw; !strings.Contains(q, `<field var="ids"><value>m1</value></field>`) {
		t.Errorf("the lookup asks for: %s", q)
	}
}

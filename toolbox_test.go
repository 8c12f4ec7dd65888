package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// The tests of the moderation toolbox beyond kicks (issue 21): mute and
// unmute, the occupant list, the guards of ban and unban, moderated
// retraction and the actions a credential may take, each checked on the
// occupants' side of a real server, not only by the HTTP status.

// Credentials of the named clients of startToolboxDaemon.
const (
	kickerAuth = "Basic a2lja2VyOmtpY2tlcg==" // kicker:kicker, granted "kick" alone
	plainAuth  = "Basic cGxhaW46cGxhaW4="     // plain:plain, names no actions: kick, ban and unban
)

// tbWait bounds every wait for what an occupant receives.
const tbWait = 10 * time.Second

// toolbox is one server with muc-kick running against it.
type toolbox struct {
	srv *xmpptest.Server
	d   *daemon
}

// newToolbox registers the accounts alice, bob and dave on srv and runs
// muc-kick against it with linger 1m, authorization_header testAuth (every
// action) and the clients "kicker" (kickerAuth) and "plain" (plainAuth).
func newToolbox(t *testing.T, srv *xmpptest.Server) *toolbox {
	t.Helper()
	users := []string{"alice", "bob", "dave"}
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = srv.Register(u, u+"-pw")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	cfgText := componentTOML(srv.ComponentAddr, srv.ComponentDomain, srv.Secret, `iq_timeout = "5s"`) + fmt.Sprintf(`
[muc]
domains = [%q]
nick = "kickbot"
room_policy = "linger"
linger = "1m"

[http]
listen = "127.0.0.1:0"
authorization_header = %q

[[http.client]]
name = "kicker"
authorization_header = %q
actions = ["kick"]

[[http.client]]
name = "plain"
authorization_header = %q

[log]
level = "debug"
`, srv.MUCDomain, testAuth, kickerAuth, plainAuth)
	return &toolbox{srv: srv, d: runDaemon(t, srv, path, cfgText)}
}

// stop stops muc-kick and checks its exit code.
func (x *toolbox) stop(t *testing.T) {
	t.Helper()
	if code := x.d.stop(); code != 0 {
		t.Errorf("exit code %d after shutdown, want 0", code)
	}
}

func (x *toolbox) room(name string) string { return name + "@" + x.srv.MUCDomain }
func (x *toolbox) bare(user string) string { return user + "@" + x.srv.UsersDomain }

// account connects a session of user (registered by newToolbox).
func (x *toolbox) account(t *testing.T, user, resource string) *xmpptest.Client {
	t.Helper()
	return xmpptest.ConnectAs(t, x.srv, user, user+"-pw", resource)
}

// moderates reports whether the server has XEP-0425 at all: ejabberd
// before 24 (23.01) has none.
func (x *toolbox) moderates() bool {
	if x.srv.Kind != "ejabberd" {
		return true
	}
	major, _, _ := strings.Cut(x.srv.Version, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 24
}

// crew is a room and its occupants: alice (account alice, who created the
// room: its owner), Bob (account bob, resource laptop) and carol (an
// anonymous user).
type crew struct {
	room                       string
	alice, bob, carol          *xmpptest.Occupant
	aliceC, bobC, carolC       *xmpptest.Client
	aliceJID, bobJID, carolJID string // the full JIDs of the three
}

// gather creates room name with alice, then Bob and carol enter it; it
// returns once each has seen the others.
func (x *toolbox) gather(t *testing.T, name string) *crew {
	t.Helper()
	c := &crew{room: x.room(name)}
	c.aliceC = x.account(t, "alice", "desk")
	c.alice = modJoin(t, c.aliceC, c.room, "alice")
	if !slices.ContainsFunc(c.alice.Presences(), func(p xmpptest.Presence) bool { return p.HasStatus(110) && p.Affiliation == "owner" }) {
		t.Fatalf("alice did not create %s as its owner: %v", c.room, c.alice.Presences())
	}
	c.bobC = x.account(t, "bob", "laptop")
	c.bob = modJoin(t, c.bobC, c.room, "Bob")
	c.carolC = xmpptest.Connect(t, x.srv)
	c.carol = modJoin(t, c.carolC, c.room, "carol")
	modSees(t, c.alice, "Bob", "")
	modSees(t, c.alice, "carol", "")
	modSees(t, c.bob, "carol", "")
	c.aliceJID, c.bobJID, c.carolJID = c.aliceC.JID(), c.bobC.JID(), c.carolC.JID()
	return c
}

// roundTrip has from say a marker that every one of to then receives: what
// the room sent them before, they have received.
func roundTrip(t *testing.T, from *xmpptest.Occupant, to ...*xmpptest.Occupant) {
	t.Helper()
	marker := "marker " + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := from.Say(marker); err != nil {
		t.Fatalf("%s cannot speak: %v", from.Nick, err)
	}
	for _, o := range to {
		if _, err := o.WaitMessage(from.Nick, marker, tbWait); err != nil {
			t.Fatalf("%s: %v", o.Nick, err)
		}
	}
}

// tbCall sends method to path of d with authz and, unless nil, body as
// JSON, and returns the answer.
func tbCall(t *testing.T, d *daemon, method, path, authz string, body any) modResult {
	t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, d.url+path, bytes.NewReader(data))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := modResult{code: resp.StatusCode, raw: strings.TrimSpace(string(raw))}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Errorf("%s %s: the answer is not JSON: %q", method, path, raw)
	}
	t.Logf("%s %s %s → %d %s", method, path, data, r.code, r.raw)
	return r
}

// post sends body to path with the credential of every action.
func (x *toolbox) post(t *testing.T, path string, body any) modResult {
	t.Helper()
	return tbCall(t, x.d, "POST", path, testAuth, body)
}

// occupants asks GET /muc_occupants for room with authz.
func (x *toolbox) occupants(t *testing.T, authz, room string) modResult {
	t.Helper()
	return tbCall(t, x.d, "GET", "/muc_occupants?muc="+url.QueryEscape(room), authz, nil)
}

// strs returns the strings of the JSON array v, sorted.
func strs(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// sorted returns a sorted copy of s.
func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// holdsJID reports whether list holds jid, ignoring case.
func holdsJID(list []string, jid string) bool {
	return slices.ContainsFunc(list, func(j string) bool { return strings.EqualFold(j, jid) })
}

// TestModerationToolbox runs mute and unmute, the occupant list, the
// guards of ban and unban, the actions of credentials and moderated
// retraction against each real server: first on the server as muc-kick's
// contrib snippet sets it up (no archive, no retraction: the 501), then on
// one with contrib's retraction snippet too (xmpptest.Options.Retraction).
func TestModerationToolbox(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("default", func(t *testing.T) {
				x := newToolbox(t, kind.Start(t))
				t.Run("mute and unmute", x.testMute)
				t.Run("occupants", x.testOccupants)
				t.Run("ban and unban guards", x.testBanGuards)
				t.Run("actions", x.testActions)
				t.Run("retraction without the modules", x.testNoRetraction)
				x.stop(t)
			})
			t.Run("retraction", func(t *testing.T) {
				x := newToolbox(t, kind.StartWith(t, xmpptest.Options{Retraction: true}))
				if !x.moderates() {
					t.Run("no XEP-0425 even with an archive", x.testNoRetraction)
				} else {
					t.Run("by id", x.testRetractID)
					t.Run("by nickname, the last two", x.testRetractNick)
					t.Run("by jid, since", x.testRetractJID)
				}
				x.stop(t)
			})
		})
	}
}

// testMute mutes and unmutes by nickname and by account, and tries the
// room's owner.
func (x *toolbox) testMute(t *testing.T) {
	c := x.gather(t, "mute")
	phone := modJoin(t, x.account(t, "bob", "phone"), c.room, "Bob-phone")
	modSees(t, c.carol, "Bob-phone", "")
	modSees(t, c.alice, "Bob-phone", "")

	// By nickname: Bob alone.
	res := x.post(t, "/muc_mute", map[string]string{"muc": c.room, "nickname": "Bob", "reason": "quiet"})
	if res.code != 200 || !slices.Equal(strs(res.body["muted"]), []string{"Bob"}) || res.body["muc"] != c.room {
		t.Fatalf("mute Bob: %d %s, want 200 with muted [Bob] and muc %s", res.code, res.raw, c.room)
	}
	for _, o := range []*xmpptest.Occupant{c.bob, c.carol} {
		p, err := o.WaitRole("Bob", "visitor", tbWait)
		if err != nil {
			t.Fatalf("%s: %v", o.Nick, err)
		}
		if p.Reason != "quiet" {
			t.Errorf("%s saw Bob muted without the reason quiet: %s", o.Nick, p.Raw)
		}
	}
	_, err := c.bob.Say("muted words")
	var se *xmpptest.StanzaError
	if !errors.As(err, &se) {
		t.Errorf("muted Bob's message: %v, want the room's refusal", err)
	} else {
		t.Logf("%s refuses muted Bob's message: %v", x.srv.Name(), se)
	}
	// carol's own message comes after Bob's in the room: had the room
	// passed Bob's on, carol would have it now.
	if _, err := c.carol.Say("after the refusal"); err != nil {
		t.Fatal(err)
	}
	for _, b := range c.carol.Bodies() {
		if strings.Contains(b, "muted words") {
			t.Errorf("carol received muted Bob's message: %s", b)
		}
	}
	// A mute by nickname is of that occupant alone: the account's other
	// session speaks.
	if _, err := phone.Say("the phone still speaks"); err != nil {
		t.Errorf("Bob-phone, not muted: %v", err)
	}

	// Nobody of that nickname or account: 404.
	for _, body := range []map[string]string{{"muc": c.room, "nickname": "nobody"}, {"muc": c.room, "jid": x.bare("dave")}} {
		if res := x.post(t, "/muc_mute", body); res.code != 404 {
			t.Errorf("mute %v: %d %s, want 404", body, res.code, res.raw)
		}
	}

	res = x.post(t, "/muc_unmute", map[string]string{"muc": c.room, "nickname": "Bob"})
	if res.code != 200 || !slices.Equal(strs(res.body["unmuted"]), []string{"Bob"}) || res.body["muc"] != c.room {
		t.Fatalf("unmute Bob: %d %s, want 200 with unmuted [Bob]", res.code, res.raw)
	}
	for _, o := range []*xmpptest.Occupant{c.bob, c.carol} {
		if _, err := o.WaitRole("Bob", "participant", tbWait); err != nil {
			t.Fatalf("%s: %v", o.Nick, err)
		}
	}
	if _, err := c.bob.Say("back"); err != nil {
		t.Fatalf("unmuted Bob cannot speak: %v", err)
	}
	if _, err := c.carol.WaitMessage("Bob", "back", tbWait); err != nil {
		t.Error(err)
	}

	// By account: every session of bob, nobody else.
	res = x.post(t, "/muc_mute", map[string]string{"muc": c.room, "jid": x.bare("bob")})
	if res.code != 200 || !slices.Equal(strs(res.body["muted"]), []string{"Bob", "Bob-phone"}) {
		t.Fatalf("mute %s: %d %s, want 200 with muted [Bob Bob-phone]", x.bare("bob"), res.code, res.raw)
	}
	for _, nick := range []string{"Bob", "Bob-phone"} {
		if _, err := c.carol.WaitRole(nick, "visitor", tbWait); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []*xmpptest.Occupant{c.bob, phone} {
		if _, err := o.Say("muted again"); !errors.As(err, &se) {
			t.Errorf("%s muted by account: its message got %v, want the room's refusal", o.Nick, err)
		}
	}
	roundTrip(t, c.alice, c.carol) // alice still speaks
	for _, p := range c.carol.Presences() {
		if p.Role == "visitor" && (p.From == c.room+"/alice" || p.From == c.room+"/carol") {
			t.Errorf("a mute of bob's account muted another: %s", p.Raw)
		}
	}
	res = x.post(t, "/muc_unmute", map[string]string{"muc": c.room, "jid": x.bare("bob")})
	if res.code != 200 || !slices.Equal(strs(res.body["unmuted"]), []string{"Bob", "Bob-phone"}) {
		t.Fatalf("unmute %s: %d %s, want 200 with unmuted [Bob Bob-phone]", x.bare("bob"), res.code, res.raw)
	}
	for _, nick := range []string{"Bob", "Bob-phone"} {
		if _, err := c.carol.WaitRole(nick, "participant", tbWait); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := phone.Say("the phone is back"); err != nil {
		t.Errorf("Bob-phone unmuted: %v", err)
	}

	x.muteOwner(t, c)
}

// muteOwner tries to mute and unmute alice, the room's owner: muc-kick
// refuses both before anything is sent (409 naming the affiliation), on
// every server. (ejabberd would refuse the component, not-allowed; Prosody
// would let it, as one owner may change another's role, and the unmute
// would leave her a participant, without moderation until she enters
// again.) alice keeps her voice and her role.
func (x *toolbox) muteOwner(t *testing.T, c *crew) {
	t.Helper()
	for _, path := range []string{"/muc_mute", "/muc_unmute"} {
		res := x.post(t, path, map[string]string{"muc": c.room, "nickname": "alice"})
		if res.code != 409 || !strings.Contains(res.errorText(), "owner") {
			t.Errorf("%s of the owner: %d %s, want 409 naming the affiliation owner", path, res.code, res.raw)
		}
		if strings.Contains(res.errorText(), "kick") {
			t.Errorf("the refused %s is told as a kick: %s", path, res.raw)
		}
	}
	roundTrip(t, c.alice, c.carol) // alice still speaks
	for _, p := range c.carol.Presences() {
		if p.From == c.room+"/alice" && p.Role != "moderator" {
			t.Errorf("the owner's role changed: %s", p.Raw)
		}
	}
}

// occupantIDRe finds the XEP-0421 occupant id in a presence as received.
var occupantIDRe = regexp.MustCompile(`<occupant-id\b[^>]*\bid=["']([^"']*)["']`)

// tbOccupant is one entry of GET /muc_occupants's answer.
type tbOccupant struct {
	Nickname    string `json:"nickname"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
	JID         string `json:"jid"`
	OccupantID  string `json:"occupant_id"`
}

// testOccupants lists a room's occupants and asks for a room that does not
// exist.
func (x *toolbox) testOccupants(t *testing.T) {
	c := x.gather(t, "who")
	res := x.occupants(t, testAuth, c.room)
	if res.code != 200 || res.body["muc"] != c.room {
		t.Fatalf("occupants: %d %s, want 200 with muc %s", res.code, res.raw, c.room)
	}
	var answer struct {
		Occupants []tbOccupant `json:"occupants"`
	}
	if err := json.Unmarshal([]byte(res.raw), &answer); err != nil {
		t.Fatal(err)
	}
	got := map[string]tbOccupant{}
	var nicks []string
	for _, o := range answer.Occupants {
		got[o.Nickname] = o
		nicks = append(nicks, o.Nickname)
	}
	// Not kickbot, though the component entered the room to list it.
	if !slices.Equal(sorted(nicks...), []string{"Bob", "alice", "carol"}) {
		t.Errorf("occupants %v, want Bob, alice and carol", nicks)
	}
	if _, err := c.alice.WaitPresence(tbWait, func(p xmpptest.Presence) bool { return p.From == c.room+"/kickbot" && p.Type == "" }); err != nil {
		t.Errorf("the component did not enter the room to list it: %v", err)
	}
	roundTrip(t, c.alice, c.carol)
	for _, w := range []tbOccupant{
		{Nickname: "alice", Role: "moderator", Affiliation: "owner", JID: c.aliceJID},
		{Nickname: "Bob", Role: "participant", Affiliation: "none", JID: c.bobJID},
		{Nickname: "carol", Role: "participant", Affiliation: "none", JID: c.carolJID},
	} {
		o := got[w.Nickname]
		// Both servers show moderators the real JIDs by default
		// (whois moderators), and the component is a moderator.
		if o.Role != w.Role || o.Affiliation != w.Affiliation || !strings.EqualFold(o.JID, w.JID) {
			t.Errorf("%s: %+v, want role %s, affiliation %s, jid %s", w.Nickname, o, w.Role, w.Affiliation, w.JID)
		}
		// The occupant id is the one the room shows the occupants, if it
		// shows one.
		shown := ""
		for _, p := range c.carol.Presences() {
			if m := occupantIDRe.FindStringSubmatch(p.Raw); m != nil && p.From == c.room+"/"+w.Nickname && p.Type == "" {
				shown = m[1]
			}
		}
		if o.OccupantID != shown {
			t.Errorf("%s: occupant_id %q, the room shows carol %q", w.Nickname, o.OccupantID, shown)
		}
		t.Logf("%s: %s shows occupant id %q, muc-kick lists %+v", x.srv.Name(), w.Nickname, shown, o)
	}

	ghost := x.room("who-ghost")
	res = x.occupants(t, testAuth, ghost)
	if res.code != 404 || !strings.Contains(res.errorText(), "does not exist") {
		t.Errorf("occupants of a missing room: %d %s, want 404 saying it does not exist", res.code, res.raw)
	}
	if exists, err := c.carolC.RoomExists(ghost); exists || err != nil {
		t.Errorf("after the occupant list of a missing room, the room exists: %v (%v)", exists, err)
	}
}

// testBanGuards checks that ban and unban change only what they say.
func (x *toolbox) testBanGuards(t *testing.T) {
	c := x.gather(t, "guard")
	alice, bob, dave := x.bare("alice"), x.bare("bob"), x.bare("dave")

	// The owner is not banned, and stays owner.
	res := x.post(t, "/muc_ban", map[string]string{"muc": c.room, "jid": alice, "reason": "coup"})
	if res.code != 409 || !strings.Contains(res.errorText(), "owner") {
		t.Errorf("ban of the owner: %d %s, want 409 naming the affiliation owner", res.code, res.raw)
	}
	owners, err := c.aliceC.AffiliationList(c.room, "owner")
	if err != nil || !holdsJID(owners, alice) {
		t.Errorf("after the refused ban, alice's owner list: %v (%v), want %s in it", owners, err, alice)
	}

	// muc-kick's own domain and the MUC service: 400, nothing sent.
	for _, j := range []string{x.srv.ComponentDomain, x.srv.MUCDomain, "someone@" + x.srv.ComponentDomain, "room@" + x.srv.MUCDomain} {
		res := x.post(t, "/muc_ban", map[string]string{"muc": c.room, "jid": j})
		domain := j[strings.LastIndex(j, "@")+1:]
		if res.code != 400 || !strings.Contains(res.errorText(), domain) {
			t.Errorf("ban of %s: %d %s, want 400 naming the domain", j, res.code, res.raw)
		}
	}
	if outcasts, err := c.aliceC.AffiliationList(c.room, "outcast"); err != nil || len(outcasts) != 0 {
		t.Errorf("outcasts after the refused bans: %v (%v), want none", outcasts, err)
	}

	// No affiliation: already unbanned, nothing sent.
	res = x.post(t, "/muc_unban", map[string]string{"muc": c.room, "jid": dave})
	if res.code != 200 || res.body["unbanned"] != dave || res.body["muc"] != c.room || res.body["already_unbanned"] != true {
		t.Errorf("unban of a JID with no affiliation: %d %s, want 200 with unbanned %s and already_unbanned true", res.code, res.raw, dave)
	}

	// A member, and the owner: 409, unchanged.
	if err := c.aliceC.SetAffiliation(c.room, dave, "member", ""); err != nil {
		t.Fatalf("alice makes dave a member: %v", err)
	}
	for _, tc := range []struct{ jid, aff string }{{dave, "member"}, {alice, "owner"}} {
		res = x.post(t, "/muc_unban", map[string]string{"muc": c.room, "jid": tc.jid})
		if res.code != 409 || !strings.Contains(res.errorText(), tc.aff) {
			t.Errorf("unban of the %s %s: %d %s, want 409 naming the affiliation", tc.aff, tc.jid, res.code, res.raw)
		}
		list, err := c.aliceC.AffiliationList(c.room, tc.aff)
		if err != nil || !holdsJID(list, tc.jid) {
			t.Errorf("after the refused unban, the %s list: %v (%v), want %s in it", tc.aff, list, err, tc.jid)
		}
	}

	// An admin: neither banned nor unbanned, and stays admin.
	if err := c.aliceC.SetAffiliation(c.room, dave, "admin", ""); err != nil {
		t.Fatalf("alice makes dave an admin: %v", err)
	}
	for _, path := range []string{"/muc_ban", "/muc_unban"} {
		res = x.post(t, path, map[string]string{"muc": c.room, "jid": dave})
		if res.code != 409 || !strings.Contains(res.errorText(), "admin") {
			t.Errorf("%s of the admin %s: %d %s, want 409 naming the affiliation", path, dave, res.code, res.raw)
		}
	}
	if admins, err := c.aliceC.AffiliationList(c.room, "admin"); err != nil || !holdsJID(admins, dave) {
		t.Errorf("after the refused ban and unban, the admin list: %v (%v), want %s in it", admins, err, dave)
	}

	// A banned account: lifted, and Bob comes back.
	res = x.post(t, "/muc_ban", map[string]string{"muc": c.room, "jid": bob, "reason": "out"})
	if res.code != 200 {
		t.Fatalf("ban of bob: %d %s", res.code, res.raw)
	}
	if p, err := c.bob.WaitPresence(tbWait, func(p xmpptest.Presence) bool {
		return p.From == c.room+"/Bob" && p.Type == "unavailable"
	}); err != nil || !p.HasStatus(301) {
		t.Fatalf("Bob banned: %s (%v), want status 301", p.Raw, err)
	}
	res = x.post(t, "/muc_unban", map[string]string{"muc": c.room, "jid": bob})
	if res.code != 200 || res.body["unbanned"] != bob || res.body["already_unbanned"] != nil {
		t.Errorf("unban of banned bob: %d %s, want 200 with unbanned %s and no already_unbanned", res.code, res.raw, bob)
	}
	if outcasts, err := c.aliceC.AffiliationList(c.room, "outcast"); err != nil || holdsJID(outcasts, bob) {
		t.Errorf("outcasts after the unban: %v (%v), want no %s", outcasts, err, bob)
	}
	modJoin(t, x.account(t, "bob", "again"), c.room, "Bob")
	modSees(t, c.carol, "Bob", "")
}

// testActions checks that a client not granted an action gets 403 naming
// it, and that nothing happens in the room.
func (x *toolbox) testActions(t *testing.T) {
	c := x.gather(t, "acts")
	bob := x.bare("bob")
	type call struct {
		method, path, action string
		body                 any
	}
	calls := []call{
		{"POST", "/muc_mute", "mute", map[string]string{"muc": c.room, "nickname": "Bob"}},
		{"POST", "/muc_unmute", "unmute", map[string]string{"muc": c.room, "jid": bob}},
		{"POST", "/muc_retract", "retract", map[string]any{"muc": c.room, "nickname": "Bob", "last": 1}},
		{"GET", "/muc_occupants?muc=" + url.QueryEscape(c.room), "occupants", nil},
	}
	forKicker := append(slices.Clone(calls),
		call{"POST", "/muc_ban", "ban", map[string]string{"muc": c.room, "jid": bob}},
		call{"POST", "/muc_unban", "unban", map[string]string{"muc": c.room, "jid": bob}},
	)
	for _, who := range []struct {
		name, authz string
		calls       []call
	}{{"kicker", kickerAuth, forKicker}, {"plain", plainAuth, calls}} {
		for _, cl := range who.calls {
			res := tbCall(t, x.d, cl.method, cl.path, who.authz, cl.body)
			if res.code != 403 || !strings.Contains(res.errorText(), cl.action) {
				t.Errorf("%s, %s %s: %d %s, want 403 naming the action %s", who.name, cl.method, cl.path, res.code, res.raw, cl.action)
			}
		}
	}
	// Nothing happened: Bob speaks, is in, was never muted, and the
	// component never came in.
	roundTrip(t, c.bob, c.alice, c.carol)
	for _, p := range c.carol.Presences() {
		if p.From == c.room+"/kickbot" || p.From == c.room+"/Bob" && (p.Role != "participant" || p.Type != "") {
			t.Errorf("after refused requests, carol saw %s", p.Raw)
		}
	}
	// The kicker may kick.
	res := tbCall(t, x.d, "POST", "/muc_kick", kickerAuth, map[string]string{"muc": c.room, "nickname": "Bob"})
	if res.code != 200 {
		t.Fatalf("kicker's kick: %d %s", res.code, res.raw)
	}
	if _, _, err := c.bob.WaitKicked(tbWait); err != nil {
		t.Error(err)
	}
}

// testNoRetraction asks for retractions in a room that cannot: 501 naming
// what to enable, and no occupant receives anything. ejabberd 24.12 has
// XEP-0425 without an archive: there a retraction by sender is the 501, and
// one by id lands.
func (x *toolbox) testNoRetraction(t *testing.T) {
	c := x.gather(t, "noretract")
	id, err := c.bob.Say("hello")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: the room assigned stanza id %q", x.srv.Name(), id)
	byID := map[string]any{"muc": c.room, "id": id}
	if id == "" {
		byID["id"] = "no-such-id"
	}
	requests := []map[string]any{
		{"muc": c.room, "nickname": "Bob", "last": 1},
		{"muc": c.room, "jid": x.bare("bob"), "since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
	}
	var names []string
	idLands := false
	switch {
	case x.srv.Kind == "prosody":
		names = []string{"mod_muc_moderation", "muc_mam"}
	case !x.moderates():
		names = []string{"24.12"}
	default:
		names = []string{"mod_mam", "mam: true"}
		idLands = true
	}
	if !idLands {
		requests = append(requests, byID)
	}
	for _, body := range requests {
		res := x.post(t, "/muc_retract", body)
		if res.code != 501 {
			t.Errorf("retraction %v: %d %s, want 501", body, res.code, res.raw)
		}
		for _, n := range names {
			if !strings.Contains(res.errorText(), n) {
				t.Errorf("retraction %v: the 501 %q does not name %q", body, res.errorText(), n)
			}
		}
	}
	roundTrip(t, c.alice, c.bob, c.carol)
	for _, o := range []*xmpptest.Occupant{c.alice, c.bob, c.carol} {
		if r := o.Retractions(); len(r) != 0 {
			t.Errorf("%s received retractions: %+v", o.Nick, r)
		}
	}
	if !idLands {
		return
	}
	res := x.post(t, "/muc_retract", byID)
	if res.code != 200 || !slices.Equal(strs(res.body["retracted"]), []string{id}) {
		t.Fatalf("retraction by id in a room without an archive on %s: %d %s, want 200 retracting %s", x.srv.Name(), res.code, res.raw, id)
	}
	for _, o := range []*xmpptest.Occupant{c.alice, c.bob, c.carol} {
		if _, err := o.WaitRetraction(id, tbWait); err != nil {
			t.Errorf("%s: %v", o.Nick, err)
		}
	}
}

// moderateForms returns the XEP-0425 namespaces room advertises to c.
func moderateForms(t *testing.T, c *xmpptest.Client, room string) []string {
	t.Helper()
	features, err := c.Features(room)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, ns := range []string{xmpptest.NSModerate0, xmpptest.NSModerate1} {
		if slices.Contains(features, ns) {
			have = append(have, ns)
		}
	}
	return have
}

// say has o say body and returns the stanza id the room assigned.
func say(t *testing.T, o *xmpptest.Occupant, body string) string {
	t.Helper()
	id, err := o.Say(body)
	if err != nil || id == "" {
		t.Fatalf("%s says %q: stanza id %q, %v", o.Nick, body, id, err)
	}
	return id
}

// retracted checks that res is a 200 retracting exactly ids, that each of
// os received the retraction of each in every form the room advertises,
// with reason, and nothing else; and that the archive of the room no longer
// holds them (ejabberd) or holds tombstones (Prosody), and still holds
// kept.
func (x *toolbox) retracted(t *testing.T, c *crew, res modResult, forms []string, reason string, ids []string, kept map[string]string) {
	t.Helper()
	if res.code != 200 || !slices.Equal(strs(res.body["retracted"]), sorted(ids...)) || res.body["muc"] != c.room || res.body["failed"] != nil {
		t.Fatalf("%d %s, want 200 with retracted %v, muc %s, no failed", res.code, res.raw, ids, c.room)
	}
	for _, o := range []*xmpptest.Occupant{c.alice, c.bob, c.carol} {
		for _, id := range ids {
			r, err := o.WaitRetraction(id, tbWait)
			if err != nil {
				t.Errorf("%s: %v", o.Nick, err)
				continue
			}
			if !slices.Equal(r.Forms, forms) || r.Reason != reason {
				t.Errorf("%s received the retraction of %s in %v with reason %q, want %v and %q: %s", o.Nick, id, r.Forms, r.Reason, forms, reason, r.Raw)
			}
			t.Logf("%s received the retraction of %s in %v, by %q", o.Nick, id, r.Forms, r.By)
		}
	}
	roundTrip(t, c.alice, c.bob, c.carol)
	for _, o := range []*xmpptest.Occupant{c.alice, c.bob, c.carol} {
		for _, r := range o.Retractions() {
			if !slices.Contains(ids, r.ID) {
				t.Errorf("%s received the retraction of %s, which was not asked for: %s", o.Nick, r.ID, r.Raw)
			}
		}
	}
	archive, err := c.carolC.ArchivedMessages(c.room)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]xmpptest.ArchivedMessage{}
	for _, m := range archive {
		got[m.StanzaID] = m
	}
	for _, id := range ids {
		m, ok := got[id]
		switch x.srv.Kind {
		case "ejabberd": // removes the message
			if ok {
				t.Errorf("the archive still holds retracted %s: %s", id, m.Raw)
			}
		default: // keeps a tombstone
			if !ok || !m.Tombstone || m.Body != "" {
				t.Errorf("the archive holds %+v (found %v) for retracted %s, want a tombstone", m, ok, id)
			}
		}
	}
	for id, body := range kept {
		if m, ok := got[id]; !ok || m.Tombstone || m.Body != body {
			t.Errorf("the archive holds %+v (found %v) for %s, want %q kept", m, ok, id, body)
		}
	}
}

// testRetractID retracts one message by its stanza id, and one that does
// not exist.
func (x *toolbox) testRetractID(t *testing.T) {
	c := x.gather(t, "rt-id")
	forms := moderateForms(t, c.aliceC, c.room)
	t.Logf("%s advertises %v", x.srv.Name(), forms)
	if strings.HasPrefix(x.srv.Name(), "prosody-0.12") && !slices.Equal(forms, []string{xmpptest.NSModerate0}) {
		t.Fatalf("Prosody 0.12 with bookworm's prosody-modules: %v, want %s alone", forms, xmpptest.NSModerate0)
	}
	if len(forms) == 0 {
		t.Fatalf("%s with the retraction snippet advertises no XEP-0425", x.srv.Name())
	}
	spam := say(t, c.bob, "spam one")
	other := say(t, c.bob, "spam two")
	kept := say(t, c.carol, "kept")
	res := x.post(t, "/muc_retract", map[string]string{"muc": c.room, "id": spam, "reason": "spam"})
	x.retracted(t, c, res, forms, "spam", []string{spam}, map[string]string{other: "spam two", kept: "kept"})

	// An id the room never assigned: in the form of Prosody's ids and
	// ejabberd's (a number), and in neither.
	for _, id := range []string{"no-such-id", "06b13c16-0000-7000-8000-000000000000", "1"} {
		res = x.post(t, "/muc_retract", map[string]string{"muc": c.room, "id": id})
		if res.code != 404 {
			t.Errorf("retraction of %s, which the room never assigned: %d %s, want 404", id, res.code, res.raw)
		}
	}
	roundTrip(t, c.alice, c.bob, c.carol)
	for _, o := range []*xmpptest.Occupant{c.alice, c.bob, c.carol} {
		for _, r := range o.Retractions() {
			if r.ID != spam {
				t.Errorf("%s received the retraction of %s, which the room never assigned: %s", o.Nick, r.ID, r.Raw)
			}
		}
	}
}

// testRetractNick retracts Bob's last two messages, by his nickname.
func (x *toolbox) testRetractNick(t *testing.T) {
	c := x.gather(t, "rt-nick")
	forms := moderateForms(t, c.aliceC, c.room)
	old := say(t, c.bob, "older")
	one := say(t, c.bob, "wave one")
	kept := say(t, c.carol, "mine")
	two := say(t, c.bob, "wave two")
	res := x.post(t, "/muc_retract", map[string]any{"muc": c.room, "nickname": "Bob", "last": 2, "reason": "wave"})
	x.retracted(t, c, res, forms, "wave", []string{one, two}, map[string]string{old: "older", kept: "mine"})
}

// testRetractJID retracts what every session of bob said since a time.
func (x *toolbox) testRetractJID(t *testing.T) {
	c := x.gather(t, "rt-jid")
	forms := moderateForms(t, c.aliceC, c.room)
	phone := modJoin(t, x.account(t, "bob", "phone"), c.room, "Bob-phone")
	modSees(t, c.carol, "Bob-phone", "")
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	one := say(t, c.bob, "from the laptop")
	kept := say(t, c.carol, "carol's")
	two := say(t, phone, "from the phone")
	res := x.post(t, "/muc_retract", map[string]any{"muc": c.room, "jid": x.bare("bob"), "since": since})
	x.retracted(t, c, res, forms, "", []string{one, two}, map[string]string{kept: "carol's"})
}

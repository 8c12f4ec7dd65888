package xmpptest

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

const waitTimeout = 10 * time.Second

// component is a bare-bones XEP-0114 component connection, so that the
// harness is tested without the project's component package.
type component struct {
	t      testing.TB
	conn   net.Conn
	stream *xmlStream
	mu     sync.Mutex
}

func dialComponent(t testing.TB, s *Server) *component {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.ComponentAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &component{t: t, conn: conn}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	c.send(fmt.Sprintf("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='%s'>", s.ComponentDomain))
	c.stream = newXMLStream(bufio.NewReader(conn))
	header, err := c.stream.open()
	if err != nil {
		t.Fatalf("component stream: %v\n%s", err, s.Log())
	}
	var id string
	for _, a := range header.Attr {
		if a.Name.Local == "id" {
			id = a.Value
		}
	}
	if id == "" {
		t.Fatalf("component stream header without id: %v", header)
	}
	sum := sha1.Sum([]byte(id + s.Secret))
	c.send("<handshake>" + hex.EncodeToString(sum[:]) + "</handshake>")
	el, err := c.stream.next()
	if err != nil {
		t.Fatalf("component handshake: %v\n%s", err, s.Log())
	}
	if el.XMLName.Local != "handshake" || len(el.Kids) != 0 || strings.TrimSpace(el.Text) != "" {
		t.Fatalf("component handshake: got %s", el.raw)
	}
	_ = conn.SetDeadline(time.Time{})
	return c
}

func (c *component) send(s string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("component write: %v", err)
	}
}

// waitFor reads stanzas until one matches, logging the others.
func (c *component) waitFor(what string, match func(*element) bool) *element {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		el, err := c.stream.next()
		if err != nil {
			c.t.Fatalf("component: waiting for %s: %v", what, err)
		}
		if match(el) {
			return el
		}
		c.t.Logf("component received (ignored): %s", el.raw)
	}
}

func TestKick(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			room := "r1@" + s.MUCDomain

			alice := Connect(t, s)
			bob := Connect(t, s)
			if alice.JID() == "" || alice.JID() == bob.JID() {
				t.Fatalf("JIDs: alice %q, bob %q", alice.JID(), bob.JID())
			}
			ao, err := alice.Join(room, "alice")
			if err != nil {
				t.Fatal(err)
			}
			bo, err := bob.Join(room, "bob")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ao.WaitPresence(waitTimeout, func(p Presence) bool {
				return p.From == room+"/bob" && p.Type == ""
			}); err != nil {
				t.Fatal(err)
			}
			if !ao.Present("bob") || !ao.Present("alice") || !bo.Present("alice") {
				t.Errorf("Present: alice sees bob %v, alice %v; bob sees alice %v",
					ao.Present("bob"), ao.Present("alice"), bo.Present("alice"))
			}

			comp := dialComponent(t, s)
			from := s.ComponentDomain + "/r1"
			comp.send(fmt.Sprintf("<presence from='%s' to='%s/kickbot'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>", from, room))
			self := parsePresence(comp.waitFor("own presence", func(el *element) bool {
				return el.XMLName.Local == "presence" && el.attr("from") == room+"/kickbot"
			}))
			t.Logf("component's own presence: %s", self.Raw)
			// Owner although alice created the room: the admin rights given
			// by the contrib snippet work.
			if self.Type != "" || !self.HasStatus(110) || self.Role != "moderator" || self.Affiliation != "owner" {
				t.Fatalf("component join: want available, status 110, role moderator, affiliation owner; got %s", self.Raw)
			}
			if _, err := ao.WaitPresence(waitTimeout, func(p Presence) bool {
				return p.From == room+"/kickbot" && p.Type == ""
			}); err != nil {
				t.Fatal(err)
			}

			comp.send(fmt.Sprintf("<iq type='set' id='k1' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='bob' role='none'><reason>bye</reason></item></query></iq>", from, room))
			res := comp.waitFor("kick result", func(el *element) bool {
				return el.XMLName.Local == "iq" && el.attr("id") == "k1"
			})
			if res.attr("type") != "result" {
				t.Fatalf("kick: got %s", res.raw)
			}

			reason, actor, err := bo.WaitKicked(waitTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if reason != "bye" || actor != "kickbot" {
				t.Errorf("WaitKicked = %q, %q; want \"bye\", \"kickbot\"", reason, actor)
			}
			for _, p := range bo.Presences() {
				if p.HasStatus(307) {
					t.Logf("kick as seen by bob: %s", p.Raw)
				}
			}
			seen, err := ao.WaitPresence(waitTimeout, func(p Presence) bool {
				return p.From == room+"/bob" && p.Type == "unavailable"
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("kick as seen by alice: %s", seen.Raw)
			if !seen.HasStatus(307) || seen.Reason != "bye" || seen.ActorNick != "kickbot" {
				t.Errorf("alice saw: %s", seen.Raw)
			}
			if ao.Present("bob") {
				t.Error("alice still sees bob in the room")
			}
			// A kicked occupant may rejoin at once.
			if _, err := bob.Join(room, "bob"); err != nil {
				t.Fatalf("rejoin after kick: %v", err)
			}

			comp.send(fmt.Sprintf("<presence type='unavailable' from='%s' to='%s/kickbot'/>", from, room))
			if _, err := ao.WaitPresence(waitTimeout, func(p Presence) bool {
				return p.From == room+"/kickbot" && p.Type == "unavailable"
			}); err != nil {
				t.Fatal(err)
			}

			pids := s.pids()
			if len(pids) == 0 {
				t.Fatal("no server process found")
			}
			s.Stop()
			assertStopped(t, s, pids)
			s.Stop() // idempotent
		})
	}
}

// assertStopped checks that none of pids, no process mentioning the server's
// directory and no epmd it started is alive.
func assertStopped(t *testing.T, s *Server, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if testkit.PidAlive(pid) {
			t.Errorf("process %d still alive after Stop", pid)
		}
	}
	if left := testkit.PidsMentioning(s.Dir); len(left) > 0 {
		t.Errorf("processes still using %s: %v", s.Dir, left)
	}
	// An epmd this server started inherits its environment, which names
	// its directory (EJABBERD_CONFIG_PATH); others (another test's cluster,
	// a system one) are not this server's business.
	for _, pid := range testkit.PidsNamed("epmd") {
		if env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ")); err == nil && strings.Contains(string(env), s.Dir) {
			t.Errorf("epmd %d, started by the server, is running", pid)
		}
	}
}

func TestKillAndRestart(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			c := Connect(t, s)
			if _, err := c.Join("r2@"+s.MUCDomain, "carol"); err != nil {
				t.Fatal(err)
			}

			pids := s.pids()
			begin := time.Now()
			s.Kill()
			t.Logf("killed in %v", time.Since(begin).Round(time.Millisecond))
			for _, pid := range pids {
				if testkit.PidAlive(pid) {
					t.Errorf("process %d alive after Kill", pid)
				}
			}
			// The client notices that the server is gone.
			if _, err := c.Join("r3@"+s.MUCDomain, "carol"); err == nil {
				t.Error("Join succeeded on a killed server")
			}

			s.Start()
			c2 := Connect(t, s)
			if _, err := c2.Join("r2@"+s.MUCDomain, "carol"); err != nil {
				t.Fatalf("after restart: %v", err)
			}
			dialComponent(t, s)

			// Accounts survive a graceful restart.
			if err := s.Register("dave", "pw"); err != nil {
				t.Fatal(err)
			}
			pids = s.pids()
			s.Stop()
			assertStopped(t, s, pids)
			s.Start()
			Connect(t, s)
			if got := ConnectAs(t, s, "dave", "pw", "r").JID(); got != "dave@"+s.UsersDomain+"/r" {
				t.Errorf("after restart: JID %q", got)
			}
		})
	}
}

// TestAccounts: two sessions of one account are two occupants of a room.
func TestAccounts(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			begin := time.Now()
			if err := s.Register("bob", "bob-pw"); err != nil {
				t.Fatal(err)
			}
			t.Logf("Register took %v", time.Since(begin).Round(time.Millisecond))
			if err := s.Register("", "x"); err == nil {
				t.Error("Register accepted an empty user name")
			}
			if err := s.Register("a b", "x"); err == nil {
				t.Error("Register accepted a user name with a space")
			}

			room := "acc@" + s.MUCDomain
			// The anonymous creator is the room's owner, a moderator: rooms
			// show moderators the occupants' real JIDs.
			watcher := Connect(t, s)
			wo, err := watcher.Join(room, "watcher")
			if err != nil {
				t.Fatal(err)
			}

			laptop := ConnectAs(t, s, "bob", "bob-pw", "laptop")
			phone := ConnectAs(t, s, "bob", "bob-pw", "phone")
			bare := "bob@" + s.UsersDomain
			if laptop.JID() != bare+"/laptop" || phone.JID() != bare+"/phone" {
				t.Fatalf("JIDs %q and %q, want %s/laptop and %s/phone", laptop.JID(), phone.JID(), bare, bare)
			}
			lo, err := laptop.Join(room, "bob-laptop")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := phone.Join(room, "bob-phone"); err != nil {
				t.Fatal(err)
			}
			for nick, jid := range map[string]string{"bob-laptop": laptop.JID(), "bob-phone": phone.JID()} {
				p, err := wo.WaitPresence(waitTimeout, func(p Presence) bool {
					return p.From == room+"/"+nick && p.Type == ""
				})
				if err != nil {
					t.Fatal(err)
				}
				if p.JID != jid {
					t.Errorf("%s: the moderator sees JID %q, want %q: %s", nick, p.JID, jid, p.Raw)
				}
			}
			if _, err := lo.WaitPresence(waitTimeout, func(p Presence) bool {
				return p.From == room+"/bob-phone" && p.Type == ""
			}); err != nil {
				t.Fatal(err)
			}
			if !lo.Present("bob-phone") || !lo.Present("watcher") || !wo.Present("bob-laptop") {
				t.Errorf("Present: laptop sees phone %v, watcher %v; watcher sees laptop %v",
					lo.Present("bob-phone"), lo.Present("watcher"), wo.Present("bob-laptop"))
			}

			// Wrong password, unknown account: refused, the test goes on.
			for _, tc := range []struct{ user, pw string }{{"bob", "wrong"}, {"nobody", "bob-pw"}} {
				c, err := dial(t, s, s.UsersDomain, saslPlain{tc.user, tc.pw}, "x")
				if err == nil {
					c.Close()
					t.Errorf("%s/%s: logged in", tc.user, tc.pw)
				} else if !strings.Contains(err.Error(), "not-authorized") {
					t.Errorf("%s/%s: %v, want not-authorized", tc.user, tc.pw, err)
				}
			}
			// The account host offers no ANONYMOUS, the anonymous host no
			// PLAIN for accounts.
			if c, err := dial(t, s, s.UsersDomain, saslAnonymous{}, ""); err == nil {
				c.Close()
				t.Errorf("SASL ANONYMOUS on %s worked", s.UsersDomain)
			}
			// Registering again: ejabberd refuses (conflict), Prosody sets
			// the new password.
			err = s.Register("bob", "new-pw")
			t.Logf("registering bob again: %v", err)
			pw := map[string]string{"prosody": "new-pw", "ejabberd": "bob-pw"}[s.Kind]
			if (err == nil) != (s.Kind == "prosody") {
				t.Errorf("registering bob again: %v", err)
			}
			if got := ConnectAs(t, s, "bob", pw, "").JID(); !strings.HasPrefix(got, bare+"/") || len(got) == len(bare)+1 {
				t.Errorf("no resource asked: JID %q", got)
			}
		})
	}
}

func TestConfigureRoom(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			room := "locked@" + s.MUCDomain
			owner := Connect(t, s)
			oo, err := owner.Join(room, "owner")
			if err != nil {
				t.Fatal(err)
			}
			err = oo.ConfigureRoom(map[string][]string{
				"muc#roomconfig_passwordprotectedroom": {"1"},
				"muc#roomconfig_roomsecret":            {"pw"},
			})
			if err != nil {
				t.Fatal(err)
			}
			guest := Connect(t, s)
			_, err = guest.Join(room, "guest")
			var se *StanzaError
			if !errors.As(err, &se) || se.Condition != "not-authorized" {
				t.Fatalf("joining a password-protected room: got %v, want not-authorized", err)
			}
			t.Logf("refused join: %v", err)

			// The refused join left no occupant behind: joining another room
			// and a bad config both work as expected.
			if _, err := guest.Join("open@"+s.MUCDomain, "guest"); err != nil {
				t.Fatal(err)
			}
			err = oo.ConfigureRoom(map[string][]string{"muc#roomconfig_membersonly": {"1"}})
			if err != nil {
				t.Fatal(err)
			}
			gc := Connect(t, s)
			_, err = gc.Join(room, "guest2")
			if !errors.As(err, &se) {
				t.Fatalf("joining a members-only room: got %v, want a stanza error", err)
			}
			t.Logf("refused join (members-only and password): %v", err)
		})
	}
}

func TestLeaveAndRejoin(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			room := "r4@" + s.MUCDomain
			a := Connect(t, s)
			b := Connect(t, s)
			ao, err := a.Join(room, "a")
			if err != nil {
				t.Fatal(err)
			}
			// One client in two rooms.
			if _, err := a.Join("other@"+s.MUCDomain, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Join(room, "again"); err == nil {
				t.Error("joining the same room twice succeeded")
			}
			for range 2 {
				bo, err := b.Join(room, "b")
				if err != nil {
					t.Fatal(err)
				}
				b.Leave(bo)
			}
			// Successive calls see successive matches: two joins, two leaves.
			for i := range 2 {
				for _, typ := range []string{"", "unavailable"} {
					if _, err := ao.WaitPresence(waitTimeout, func(p Presence) bool {
						return p.From == room+"/b" && p.Type == typ
					}); err != nil {
						t.Fatalf("round %d, type %q: %v", i, typ, err)
					}
				}
			}
			if _, err := ao.WaitPresence(100*time.Millisecond, func(p Presence) bool {
				return p.From == room+"/b"
			}); err == nil {
				t.Error("a third presence from b was returned")
			}
			if ao.Present("b") {
				t.Error("b still present after leaving")
			}
			// Nick conflict.
			_, err = b.Join(room, "a")
			var se *StanzaError
			if !errors.As(err, &se) || se.Condition != "conflict" {
				t.Errorf("nick conflict: got %v", err)
			}
		})
	}
}

// TestNoGoroutineLeak checks that closed clients leave no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	s := Kinds()[0].Start(t)
	before := runtime.NumGoroutine()
	for range 3 {
		c := Connect(t, s)
		if _, err := c.Join("leak@"+s.MUCDomain, "n"+strconv.Itoa(before)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines: %d before, %d after", before, n)
	}
}

func TestRawCapture(t *testing.T) {
	const in = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc'>` +
		"\n <presence from='r@c/bob' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/><item role='none' affiliation='none'><actor nick='kick&amp;bot'/><reason>bye &lt;3</reason></item><status code='307'/></x></presence>" +
		"<presence from='r@c/x' type='error'><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text></error></presence>" +
		"</stream:stream>"
	x := newXMLStream(bufio.NewReader(strings.NewReader(in)))
	if _, err := x.open(); err != nil {
		t.Fatal(err)
	}
	el, err := x.next()
	if err != nil {
		t.Fatal(err)
	}
	p := parsePresence(el)
	want := "<presence from='r@c/bob' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/><item role='none' affiliation='none'><actor nick='kick&amp;bot'/><reason>bye &lt;3</reason></item><status code='307'/></x></presence>"
	if p.Raw != want {
		t.Errorf("Raw = %q", p.Raw)
	}
	if p.Type != "unavailable" || !p.HasStatus(307) || !p.HasStatus(110) || p.Reason != "bye <3" || p.ActorNick != "kick&bot" || p.Role != "none" {
		t.Errorf("parsed %+v", p)
	}
	el, err = x.next()
	if err != nil {
		t.Fatal(err)
	}
	p = parsePresence(el)
	if p.Error != "not-authorized" || p.err == nil || p.err.Type != "auth" || p.err.Text != "no" {
		t.Errorf("error presence parsed as %+v (%v)", p, p.err)
	}
	if _, err := x.next(); !errors.Is(err, errStreamClosed) {
		t.Errorf("end of stream: %v", err)
	}
}

// TestServerMatrix fails when an install that $XMPPTEST_REQUIRE names is
// missing, so that CI cannot pass on fewer servers than it should test.
// Under -short no real-server test runs, so none is missing.
func TestServerMatrix(t *testing.T) {
	SkipIfShort(t)
	t.Log(Describe())
	if missing := MissingRequired(); len(missing) > 0 {
		t.Fatalf("%s names servers that are not installed: %v (found: %s)", RequireEnv, missing, Describe())
	}
}

// TestServerVersion proves that each install runs the version its name says
// (an unpacked package must not run the system's code), by asking the
// server over XMPP (XEP-0092).
func TestServerVersion(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			c := Connect(t, s)
			name, version, err := c.SoftwareVersion(s.AnonDomain)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s answers %q %q", s.AnonDomain, name, version)
			if !strings.Contains(strings.ToLower(name), s.Kind) || !strings.HasPrefix(version, s.Version) {
				t.Errorf("server says it is %q %q, want %s %s", name, version, s.Kind, s.Version)
			}
		})
	}
}

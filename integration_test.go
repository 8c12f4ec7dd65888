package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

const testAuth = "Basic dGVzdDp0ZXN0LXNlY3JldA=="

// daemon is muc-kick running in the test process against a real server,
// with its real configuration loading, wiring and HTTP listener.
type daemon struct {
	url  string
	logs *testkit.Buffer
	stop func() int
}

// startDaemon runs muc-kick against srv with room_policy "linger", for
// which most of these tests were written; startDaemonMUC takes the [muc]
// keys other than domains and nick.
func startDaemon(t *testing.T, srv *xmpptest.Server, linger time.Duration) *daemon {
	t.Helper()
	return startDaemonMUC(t, srv, fmt.Sprintf("room_policy = \"linger\"\nlinger = %q\n", linger.String()))
}

func startDaemonMUC(t *testing.T, srv *xmpptest.Server, mucKeys string) *daemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	cfgText := componentTOML(srv.ComponentAddr, srv.ComponentDomain, srv.Secret, `iq_timeout = "5s"`) + fmt.Sprintf(`
[muc]
domains = [%q]
nick = "kickbot"
%s
[http]
listen = "127.0.0.1:0"
authorization_header = %q

[log]
level = "debug"
`, srv.MUCDomain, mucKeys, testAuth)
	return runDaemon(t, srv, path, cfgText)
}

// componentTOML is the [component] table of a test's muc-kick config: the
// listener to dial, the component domain and its secret, then more lines
// (`iq_timeout = "5s"`, say).
func componentTOML(server, domain, secret string, lines ...string) string {
	return fmt.Sprintf("[component]\nserver = %q\ndomain = %q\nsecret = %q\n", server, domain, secret) + strings.Join(lines, "\n") + "\n"
}

// runDaemon writes cfgText to path and runs muc-kick with it in the test
// process (its real configuration loading, wiring and listener) until the
// test ends, then waits for it to be ready. On failure the test log gets
// muc-kick's log and srv's.
func runDaemon(t *testing.T, srv *xmpptest.Server, path, cfgText string) *daemon {
	t.Helper()
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cancel, cfg, log, ln) }()
	d := &daemon{url: "http://" + ln.Addr().String(), logs: logs}
	var once sync.Once
	code := 0
	d.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Error("muc-kick did not stop within 30s")
			}
		})
		return code
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("muc-kick log:\n%s", logs.String())
			t.Logf("%s log:\n%s", srv.Kind, srv.Log())
		}
	})
	d.waitReady(t, true, 20*time.Second)
	return d
}

func (d *daemon) waitReady(t *testing.T, want bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(d.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if (resp.StatusCode == 200) == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not become %v within %s", want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type result struct {
	code   int
	header http.Header
	body   map[string]any
}

func (r result) errorText() string { s, _ := r.body["error"].(string); return s }

func (d *daemon) kick(t testing.TB, authz string, body any) result {
	t.Helper()
	return d.post(t, "/muc_kick", authz, body)
}

func (d *daemon) post(t testing.TB, path, authz string, body any) result {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		data, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest("POST", d.url+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST /muc_kick: %v", err)
		return result{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{code: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Errorf("response is not JSON: %q", raw)
	}
	return r
}

type kickBody struct {
	Nickname string `json:"nickname"`
	MUC      string `json:"muc"`
	Reason   string `json:"reason,omitempty"`
}

// join connects a new client and enters room as nick.
func join(t testing.TB, srv *xmpptest.Server, room, nick string) *xmpptest.Occupant {
	t.Helper()
	c := xmpptest.Connect(t, srv)
	o, err := c.Join(room, nick)
	if err != nil {
		t.Fatalf("%s cannot join %s: %v", nick, room, err)
	}
	return o
}

func notKicked(t *testing.T, o *xmpptest.Occupant) {
	t.Helper()
	if reason, _, err := o.WaitKicked(300 * time.Millisecond); err == nil {
		t.Errorf("%s was kicked (reason %q), but should not have been", o.Nick, reason)
	}
}

// TestRealServers runs muc-kick against each real server the machine has.
func TestRealServers(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			srv := kind.Start(t)
			d := startDaemon(t, srv, time.Second)
			room := func(name string) string { return name + "@" + srv.MUCDomain }

			t.Run("kick lands with the reason verbatim", func(t *testing.T) {
				r1 := room("lands")
				alice := join(t, srv, r1, "alice")
				bob := join(t, srv, r1, "Bob <&> ü")
				reason := `spam <b>&amp; "quotes" ]]> ünïcødé`
				res := d.kick(t, testAuth, kickBody{Nickname: "Bob <&> ü", MUC: r1, Reason: reason})
				if res.code != 200 {
					t.Fatalf("status %d: %v", res.code, res.body)
				}
				got, actor, err := bob.WaitKicked(5 * time.Second)
				if err != nil {
					t.Fatalf("the occupant got no 307 presence: %v", err)
				}
				if got != reason || actor != "kickbot" {
					t.Errorf("kicked with reason %q by %q, want %q by kickbot", got, actor, reason)
				}
				if _, err := alice.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool {
					return p.From == r1+"/Bob <&> ü" && p.Type == "unavailable" && p.HasStatus(307)
				}); err != nil {
					t.Errorf("the other occupant did not see the kick: %v", err)
				}
				// ejabberd 23.10 and later forget the role of a kicked
				// occupant (ejabberd #4035): a kick is not a ban, and the
				// user comes back with the room's default role.
				back := join(t, srv, r1, "Bob <&> ü")
				var role string
				for _, p := range back.Presences() {
					if p.HasStatus(110) {
						role = p.Role
					}
				}
				if role != "participant" {
					t.Errorf("after the kick, Bob rejoined with role %q, want participant", role)
				}
			})

			t.Run("metrics moved after the kick", func(t *testing.T) {
				resp, err := http.Get(d.url + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				for _, re := range []string{
					`(?m)^muc_kick_kicks_total\{outcome="kicked"\} [1-9]`,
					`(?m)^muc_kick_component_connected 1$`,
					`(?m)^muc_kick_room_entries_total [1-9]`,
					`(?m)^muc_kick_rooms_entered [1-9]`,
					`(?m)^muc_kick_http_request_duration_seconds_count\{code="200"\} [1-9]`,
					`(?m)^muc_kick_component_reconnects_total 0$`,
					`(?m)^muc_kick_iqs_in_flight 0$`,
				} {
					if !regexp.MustCompile(re).Match(body) {
						t.Errorf("/metrics lacks %s", re)
					}
				}
			})

			t.Run("refusals change nothing", func(t *testing.T) {
				r2 := room("refusals")
				alice := join(t, srv, r2, "alice")
				bob := join(t, srv, r2, "bob")
				for _, tc := range []struct {
					name, authz string
					body        any
					code        int
					errHas      string
				}{
					{"no credential", "", kickBody{"bob", r2, ""}, 401, "Authorization"},
					{"wrong credential", "Basic Ym9iOmJvYg==", kickBody{"bob", r2, ""}, 401, "Authorization"},
					{"not JSON", testAuth, "nickname=bob", 400, "JSON object"},
					{"nickname not a string", testAuth, `{"nickname": 1, "muc": "` + r2 + `"}`, 400, "string"},
					{"muc with a resource", testAuth, kickBody{"bob", r2 + "/bob", ""}, 400, "resource"},
					{"other domain", testAuth, kickBody{"bob", "refusals@elsewhere.localhost", ""}, 404, "muc.domains"},
					{"no such occupant", testAuth, kickBody{"nobody", r2, ""}, 404, "no occupant"},
					{"nickname with NUL", testAuth, `{"nickname": "bob\u0000", "muc": "` + r2 + `"}`, 400, "control character"},
					{"XML in the nickname", testAuth, kickBody{"bob'/><item nick='alice' role='none'/><x a='", r2, ""}, 404, "no occupant"},
					{"both nickname and jid", testAuth, `{"nickname": "bob", "jid": "bob@localhost", "muc": "` + r2 + `"}`, 400, "not both"},
					{"oversized body", testAuth, `{"nickname": "bob", "muc": "` + r2 + `", "reason": "` + strings.Repeat("x", 70000) + `"}`, 413, "limit"},
					{"array body", testAuth, `[{"nickname": "bob", "muc": "` + r2 + `"}]`, 400, "JSON object"},
					{"room name with a space", testAuth, kickBody{"bob", "re fusals@" + srv.MUCDomain, ""}, 400, "JID cannot hold"},
					{"ban by nickname", testAuth, `{"nickname": "bob", "muc": "` + r2 + `"}`, 400, "jid"},
				} {
					path := "/muc_kick"
					if strings.HasPrefix(tc.name, "ban") {
						path = "/muc_ban"
					}
					res := d.post(t, path, tc.authz, tc.body)
					if res.code != tc.code || !strings.Contains(res.errorText(), tc.errHas) {
						t.Errorf("%s: %d %q, want %d mentioning %q", tc.name, res.code, res.errorText(), tc.code, tc.errHas)
					}
				}
				notKicked(t, bob)
				if _, err := alice.WaitPresence(200*time.Millisecond, func(p xmpptest.Presence) bool {
					return strings.HasSuffix(p.From, "/kickbot")
				}); err == nil {
					t.Error("the component entered the room although every request was refused before XMPP, or only needed the bare kick")
				}
			})

			t.Run("a missing room is 404 and is not created", func(t *testing.T) {
				ghost := room("ghost")
				res := d.kick(t, testAuth, kickBody{"bob", ghost, ""})
				if res.code != 404 || !strings.Contains(res.errorText(), "room does not exist") {
					t.Fatalf("%d %q", res.code, res.errorText())
				}
				// Whoever enters it next creates it: it did not exist.
				o := join(t, srv, ghost, "first")
				created := false
				for _, p := range o.Presences() {
					created = created || p.HasStatus(110) && p.HasStatus(201)
				}
				if !created {
					t.Error("the room existed after the kick: muc-kick created it")
				}
			})

			t.Run("kicking an owner", func(t *testing.T) {
				r3 := room("owners")
				owner := join(t, srv, r3, "owner")
				join(t, srv, r3, "guest")
				res := d.kick(t, testAuth, kickBody{"owner", r3, "no owners"})
				want := map[string]int{"prosody": 200, "ejabberd": 403}[srv.Kind]
				if res.code != want {
					t.Fatalf("status %d %q, want %d on %s", res.code, res.errorText(), want, srv.Kind)
				}
				if want == 200 {
					if _, _, err := owner.WaitKicked(5 * time.Second); err != nil {
						t.Error(err)
					}
				} else {
					if !strings.Contains(res.errorText(), "not-allowed") {
						t.Errorf("403 does not name the condition: %q", res.errorText())
					}
					notKicked(t, owner)
				}
			})

			t.Run("a password-protected room", func(t *testing.T) {
				// Prosody refuses even an admin without the password; ejabberd
				// lets admins in.
				r4 := room("locked")
				owner := join(t, srv, r4, "owner")
				bob := join(t, srv, r4, "bob")
				if err := owner.ConfigureRoom(map[string][]string{
					"muc#roomconfig_passwordprotectedroom": {"1"},
					"muc#roomconfig_roomsecret":            {"pw"},
				}); err != nil {
					t.Fatal(err)
				}
				res := d.kick(t, testAuth, kickBody{"bob", r4, ""})
				switch srv.Kind {
				case "prosody":
					if res.code != 403 || !strings.Contains(res.errorText(), "not-authorized") {
						t.Fatalf("%d %q, want 403 naming not-authorized", res.code, res.errorText())
					}
					notKicked(t, bob)
				case "ejabberd":
					if res.code != 200 {
						t.Fatalf("%d %q, want 200", res.code, res.errorText())
					}
					if _, _, err := bob.WaitKicked(5 * time.Second); err != nil {
						t.Fatal(err)
					}
				}
			})

			t.Run("concurrent kicks all land", func(t *testing.T) {
				type target struct {
					room string
					o    *xmpptest.Occupant
				}
				var targets []target
				for r := range 10 { // 100 kicks across 10 rooms
					rj := room(fmt.Sprintf("load%d", r))
					join(t, srv, rj, "owner")
					for u := range 10 {
						targets = append(targets, target{rj, join(t, srv, rj, fmt.Sprintf("u%d", u))})
					}
				}
				one := room("crowd") // 20 kicks in one room
				join(t, srv, one, "owner")
				for u := range 20 {
					targets = append(targets, target{one, join(t, srv, one, fmt.Sprintf("c%d", u))})
				}
				var wg sync.WaitGroup
				codes := make([]int, len(targets))
				start := time.Now()
				for i, tg := range targets {
					wg.Add(1)
					go func() {
						defer wg.Done()
						codes[i] = d.kick(t, testAuth, kickBody{tg.o.Nick, tg.room, "load"}).code
					}()
				}
				wg.Wait()
				t.Logf("%d concurrent kicks in %s", len(targets), time.Since(start).Round(time.Millisecond))
				for i, tg := range targets {
					if codes[i] != 200 {
						t.Errorf("%s in %s: status %d", tg.o.Nick, tg.room, codes[i])
						continue
					}
					if _, _, err := tg.o.WaitKicked(5 * time.Second); err != nil {
						t.Errorf("%s in %s: 200 but no 307: %v", tg.o.Nick, tg.room, err)
					}
				}
			})

			t.Run("the component leaves after linger", func(t *testing.T) {
				r5 := room("linger")
				watcher := join(t, srv, r5, "watcher")
				join(t, srv, r5, "bob")
				if res := d.kick(t, testAuth, kickBody{"bob", r5, ""}); res.code != 200 {
					t.Fatalf("status %d %q", res.code, res.errorText())
				}
				if _, err := watcher.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool {
					return p.From == r5+"/kickbot" && p.Type == ""
				}); err != nil {
					t.Fatalf("the component never entered: %v", err)
				}
				entered := time.Now()
				if _, err := watcher.WaitPresence(10*time.Second, func(p xmpptest.Presence) bool {
					return p.From == r5+"/kickbot" && p.Type == "unavailable"
				}); err != nil {
					t.Fatalf("the component did not leave: %v", err)
				}
				if d := time.Since(entered); d < 500*time.Millisecond {
					t.Errorf("left after %s, before the 1s linger", d)
				}
			})

			t.Run("server restart: 503 while down, ready again by itself", func(t *testing.T) {
				srv.Stop()
				d.waitReady(t, false, 10*time.Second)
				res := d.kick(t, testAuth, kickBody{"bob", room("lands"), ""})
				if res.code != 503 || res.header.Get("Retry-After") == "" {
					t.Fatalf("kick while down: %d %q (Retry-After %q)", res.code, res.errorText(), res.header.Get("Retry-After"))
				}
				srv.Start()
				d.waitReady(t, true, 45*time.Second)
				r6 := room("again")
				join(t, srv, r6, "owner")
				bob := join(t, srv, r6, "bob")
				if res := d.kick(t, testAuth, kickBody{"bob", r6, "after restart"}); res.code != 200 {
					t.Fatalf("kick after restart: %d %q", res.code, res.errorText())
				}
				if reason, _, err := bob.WaitKicked(5 * time.Second); err != nil || reason != "after restart" {
					t.Fatalf("after restart: reason %q, %v", reason, err)
				}
			})

			if code := d.stop(); code != 0 {
				t.Errorf("exit code %d after shutdown, want 0", code)
			}
		})
	}
}

// TestAdaptiveStaysInQuietRoom: with room_policy "adaptive" (the default)
// and linger 0s, the component stays in a quiet room after a kick: a second
// kick finds it in, and the occupants see one arrival and no departure. The
// second kick's status 307 comes after any departure the room sent, so it is
// the event to check at.
func TestAdaptiveStaysInQuietRoom(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			srv := kind.Start(t)
			d := startDaemonMUC(t, srv, "linger = \"0s\"\n")
			d.waitReady(t, true, 20*time.Second)
			r := "adaptive@" + srv.MUCDomain
			watcher := join(t, srv, r, "watcher")
			bob := join(t, srv, r, "bob")
			carol := join(t, srv, r, "carol")
			for _, o := range []*xmpptest.Occupant{bob, carol} {
				if res := d.kick(t, testAuth, kickBody{o.Nick, r, ""}); res.code != 200 {
					t.Fatalf("kick %s: status %d %q", o.Nick, res.code, res.errorText())
				}
				if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := watcher.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool {
				return p.From == r+"/carol" && p.HasStatus(307)
			}); err != nil {
				t.Fatal(err)
			}
			arrivals, departures := 0, 0
			for _, p := range watcher.Presences() {
				if p.From != r+"/kickbot" {
					continue
				}
				switch p.Type {
				case "":
					arrivals++
				case "unavailable":
					departures++
				}
			}
			if arrivals != 1 || departures != 0 {
				t.Errorf("the watcher saw the component arrive %d times and depart %d times, want 1 and 0", arrivals, departures)
			}
		})
	}
}

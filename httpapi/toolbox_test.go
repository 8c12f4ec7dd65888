package httpapi_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// toolboxCase is one request to a moderation route and everything a user
// would check of its answer: the exact body, the status, what reached the
// Moderator, the outcome word of the metrics and the audit line.
type toolboxCase struct {
	name, method, path, body string
	fake                     func(*fakeKicker) // sets the fake's answers
	code                     int
	want                     string // the exact body, without its final newline
	calls                    []kick // what reached the Moderator
	outcome                  string // the metrics label
	audit                    string // in the audit line
}

func (tc toolboxCase) run(t *testing.T) {
	t.Helper()
	k := &fakeKicker{}
	if tc.fake != nil {
		tc.fake(k)
	}
	var mu sync.Mutex
	var outcomes []string
	logs := &lineWriter{}
	h := httpapi.New(k, httpapi.Options{
		AuthorizationHeader: auth,
		MaxBodyBytes:        1024,
		Logger:              slog.New(slog.NewTextHandler(logs, nil)),
		Observe:             func(o string, _ int, _ time.Duration) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() },
	})
	method := tc.method
	if method == "" {
		method = "POST"
	}
	r := do(t, h, method, tc.path, auth, tc.body)
	if r.code != tc.code || r.raw != tc.want+"\n" {
		t.Errorf("%d %s\nwant %d %s", r.code, r.raw, tc.code, tc.want)
	}
	k.mu.Lock()
	calls := k.kicks
	k.mu.Unlock()
	if len(calls) != len(tc.calls) {
		t.Errorf("reached the Moderator: %+v\nwant %+v", calls, tc.calls)
	} else {
		for i := range calls {
			if !calls[i].equal(tc.calls[i]) {
				t.Errorf("call %d: %+v\nwant %+v", i, calls[i], tc.calls[i])
			}
		}
	}
	if tc.outcome == "" { // answered by the router: no audit line
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != 1 || outcomes[0] != tc.outcome {
		t.Errorf("outcomes %q, want [%s]", outcomes, tc.outcome)
	}
	if line := logs.String(); !strings.Contains(line, tc.audit) || !strings.Contains(line, " outcome="+tc.outcome+" ") {
		t.Errorf("audit line %q does not hold %q and outcome=%s", line, tc.audit, tc.outcome)
	}
}

const room = "r@conference.example.org"

func TestUnbanSaysWhetherABanWasLifted(t *testing.T) {
	for _, tc := range []toolboxCase{
		{name: "lifted", path: "/muc_unban", body: `{"jid":"Bob@example.org","muc":"r@conference.example.org"}`,
			code: 200, want: `{"muc":"r@conference.example.org","unbanned":"bob@example.org"}`,
			calls: []kick{{room: room, action: "unban", jid: "bob@example.org"}}, outcome: "unbanned",
			audit: `level=INFO msg=unban client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=bob@example.org status=200`},
		{name: "not banned", path: "/muc_unban", body: `{"jid":"bob@example.org","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) { k.notBanned = true },
			code: 200, want: `{"already_unbanned":true,"muc":"r@conference.example.org","unbanned":"bob@example.org"}`,
			calls: []kick{{room: room, action: "unban", jid: "bob@example.org"}}, outcome: "already-unbanned",
			audit: `msg=unban client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=bob@example.org status=200`},
	} {
		t.Run(tc.name, tc.run)
	}
}

func TestMuteUnmute(t *testing.T) {
	refused := fmt.Errorf("%w (%w)", muc.ErrRefused, &muc.StanzaError{Type: "cancel", Condition: "not-allowed"})
	const bad = `msg=mute client=default remote=192.0.2.1:1234 room=r@conference.example.org`
	for _, tc := range []toolboxCase{
		{name: "mute by nickname", path: "/muc_mute", body: `{"nickname":"Bob","muc":"R@conference.example.org","reason":"calm down"}`,
			code: 200, want: `{"muc":"r@conference.example.org","muted":["Bob"]}`,
			calls:   []kick{{room: room, nick: "Bob", reason: "calm down", action: "role", role: muc.RoleVisitor}},
			outcome: "muted", audit: `msg=mute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick=Bob jid="" status=200`},
		{name: "mute by bare JID", path: "/muc_mute", body: `{"jid":"Bob@Example.org","muc":"r@conference.example.org"}`,
			code: 200, want: `{"muc":"r@conference.example.org","muted":["n1","n2"]}`,
			calls:   []kick{{room: room, action: "rolejid", jid: "bob@example.org", role: muc.RoleVisitor}},
			outcome: "muted", audit: `msg=mute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=bob@example.org status=200`},
		{name: "mute by full JID", path: "/muc_mute", body: `{"jid":"bob@example.org/phone","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) { k.nicks = []string{"Bob (phone)"} },
			code: 200, want: `{"muc":"r@conference.example.org","muted":["Bob (phone)"]}`,
			calls:   []kick{{room: room, action: "rolejid", jid: "bob@example.org/phone", role: muc.RoleVisitor}},
			outcome: "muted", audit: `jid=bob@example.org/phone status=200`},
		{name: "unmute by nickname", path: "/muc_unmute", body: `{"nickname":"Bob","muc":"r@conference.example.org"}`,
			code: 200, want: `{"muc":"r@conference.example.org","unmuted":["Bob"]}`,
			calls:   []kick{{room: room, nick: "Bob", action: "role", role: muc.RoleParticipant}},
			outcome: "unmuted", audit: `msg=unmute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick=Bob jid="" status=200`},
		{name: "unmute by JID", path: "/muc_unmute", body: `{"jid":"bob@example.org","muc":"r@conference.example.org","reason":"ok"}`,
			code: 200, want: `{"muc":"r@conference.example.org","unmuted":["n1","n2"]}`,
			calls:   []kick{{room: room, reason: "ok", action: "rolejid", jid: "bob@example.org", role: muc.RoleParticipant}},
			outcome: "unmuted", audit: `msg=unmute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=bob@example.org status=200`},
		{name: "mute of a moderator refused", path: "/muc_mute", body: `{"nickname":"Mod","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) { k.err = refused },
			code: 403, want: `{"error":"the server refused the kick (xmpp error cancel/not-allowed)"}`,
			calls:   []kick{{room: room, nick: "Mod", action: "role", role: muc.RoleVisitor}},
			outcome: "forbidden", audit: `msg=mute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick=Mod jid="" status=403`},
		{name: "mute by JID failing part-way", path: "/muc_mute", body: `{"jid":"bob@example.org","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) { k.nicks, k.err = []string{"n1"}, refused },
			code: 403, want: `{"error":"the server refused the kick (xmpp error cancel/not-allowed)","muc":"r@conference.example.org","muted":["n1"]}`,
			calls:   []kick{{room: room, action: "rolejid", jid: "bob@example.org", role: muc.RoleVisitor}},
			outcome: "forbidden", audit: `jid=bob@example.org status=403`},
		{name: "unmute by JID failing part-way", path: "/muc_unmute", body: `{"jid":"bob@example.org","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) { k.nicks, k.err = []string{"n1"}, muc.ErrNoAnswer },
			code: 504, want: `{"error":"the XMPP server did not answer in time; the unmute may or may not have happened","muc":"r@conference.example.org","unmuted":["n1"]}`,
			calls:   []kick{{room: room, action: "rolejid", jid: "bob@example.org", role: muc.RoleParticipant}},
			outcome: "gateway-timeout", audit: `jid=bob@example.org status=504`},
		{name: "mute by JID of nobody", path: "/muc_mute", body: `{"jid":"bob@example.org","muc":"r@conference.example.org"}`,
			fake: func(k *fakeKicker) {
				k.err = fmt.Errorf("%w: nobody in r@conference.example.org is bob@example.org", muc.ErrOccupantNotFound)
			},
			code: 404, want: `{"error":"no occupant matches: nobody in r@conference.example.org is bob@example.org"}`,
			calls:   []kick{{room: room, action: "rolejid", jid: "bob@example.org", role: muc.RoleVisitor}},
			outcome: "occupant-not-found", audit: `status=404`},
		{name: "nickname and jid", path: "/muc_mute", body: `{"nickname":"Bob","jid":"bob@example.org","muc":"r@conference.example.org"}`,
			code: 400, want: `{"error":"give \"nickname\" or \"jid\", not both"}`, outcome: "bad-request", audit: bad},
		{name: "neither", path: "/muc_mute", body: `{"muc":"r@conference.example.org"}`,
			code: 400, want: `{"error":"\"nickname\" is missing (or give \"jid\")"}`, outcome: "bad-request", audit: bad},
		{name: "empty jid", path: "/muc_mute", body: `{"jid":"","muc":"r@conference.example.org"}`,
			code: 400, want: `{"error":"\"jid\" is empty"}`, outcome: "bad-request", audit: bad},
		{name: "bad jid", path: "/muc_unmute", body: `{"jid":"bob@","muc":"r@conference.example.org"}`,
			code: 400, want: `{"error":"jid: muc: invalid JID: \"bob@\": no domain after '@'"}`, outcome: "bad-request",
			audit: `msg=unmute client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=bob@ status=400`},
		{name: "no muc", path: "/muc_mute", body: `{"nickname":"Bob"}`,
			code: 400, want: `{"error":"\"muc\" is missing"}`, outcome: "bad-request", audit: `msg=mute client=default remote=192.0.2.1:1234 room="" nick=Bob jid="" status=400`},
		{name: "reason with a control character", path: "/muc_mute", body: `{"nickname":"Bob","muc":"r@conference.example.org","reason":"\u0007"}`,
			code: 400, want: `{"error":"reason: muc: invalid reason: it contains the control character U+0007"}`, outcome: "bad-request", audit: `nick=Bob jid="" status=400`},
		{name: "GET mute", method: "GET", path: "/muc_mute",
			code: 405, want: `{"error":"method GET is not allowed here; use POST"}`},
	} {
		t.Run(tc.name, tc.run)
	}
}

// TestNewActionsMustBeGranted: each new route needs its own action. A
// client without it is refused with a 403 naming it before the Moderator
// is called; one that names no actions has only kick, ban and unban; one
// granted the action, and the single authorization header, may.
func TestNewActionsMustBeGranted(t *testing.T) {
	const (
		kicker = "Basic a2lja2VyOmtpY2tlcg=="
		plain  = "Basic cGxhaW46cGxhaW4="
	)
	for _, tc := range []struct {
		method, path, body string
		right              credential.Action
		done               string
	}{
		{"POST", "/muc_mute", `{"nickname":"Bob","muc":"r@conference.example.org"}`, credential.Mute, "muted"},
		{"POST", "/muc_unmute", `{"jid":"bob@example.org","muc":"r@conference.example.org"}`, credential.Unmute, "unmuted"},
		{"GET", "/muc_occupants?muc=r@conference.example.org", "", credential.Occupants, "listed"},
		{"POST", "/muc_retract", `{"muc":"r@conference.example.org","id":"x"}`, credential.Retract, "retracted"},
	} {
		t.Run(string(tc.right), func(t *testing.T) {
			k := &fakeKicker{retraction: muc.Retraction{Retracted: []string{"x"}}}
			logs := &lineWriter{}
			var outcomes []string
			var mu sync.Mutex
			h := httpapi.New(k, httpapi.Options{
				AuthorizationHeader: auth,
				Clients: []httpapi.Client{
					{Name: "kicker", Header: kicker, Actions: credential.ActionsOf(credential.Kick, credential.Ban)},
					{Name: "plain", Header: plain},
					{Name: "granted", Header: "Basic Z3JhbnRlZA==", Actions: credential.ActionsOf(tc.right)},
				},
				Logger:  slog.New(slog.NewTextHandler(logs, nil)),
				Observe: func(o string, _ int, _ time.Duration) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() },
			})
			for _, who := range []struct{ authz, may string }{{kicker, `client \"kicker\" may: kick,ban`}, {plain, `client \"plain\" may: kick,ban,unban`}} {
				r := do(t, h, tc.method, tc.path, who.authz, tc.body)
				verb := string(tc.right)
				if tc.right == credential.Occupants {
					verb = `list the occupants, the action \"occupants\"`
				}
				want := fmt.Sprintf(`{"error":"this client may not %s (%s)"}`+"\n", verb, who.may)
				if r.code != 403 || r.raw != want {
					t.Errorf("%s: %d %s, want 403 %s", who.may, r.code, r.raw, want)
				}
			}
			k.mu.Lock()
			if len(k.kicks) != 0 {
				t.Errorf("refused requests reached the Moderator: %+v", k.kicks)
			}
			k.mu.Unlock()
			for _, authz := range []string{"Basic Z3JhbnRlZA==", auth} {
				if r := do(t, h, tc.method, tc.path, authz, tc.body); r.code != 200 {
					t.Errorf("granted: %d %s", r.code, r.raw)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []string{"action-not-allowed", "action-not-allowed", tc.done, tc.done}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
				t.Errorf("outcomes %q, want %q", outcomes, want)
			}
			if !strings.Contains(logs.String(), "msg="+string(tc.right)+" client=kicker remote=192.0.2.1:1234") {
				t.Errorf("audit lines:\n%s", logs)
			}
		})
	}
}

func TestOccupants(t *testing.T) {
	const ok = `msg=occupants client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid="" status=200`
	const bad = `msg=occupants client=default remote=192.0.2.1:1234 room="" nick="" jid="" status=400`
	listed := []kick{{room: room, action: "occupants"}}
	for _, tc := range []toolboxCase{
		{name: "two occupants", method: "GET", path: "/muc_occupants?muc=R%40Conference.example.org",
			fake: func(k *fakeKicker) {
				alice, _ := jid.Parse("alice@example.org/desk")
				k.occupants = []muc.Occupant{
					{Nick: "Alice", Role: "moderator", Affiliation: "owner", JID: alice, OccupantID: "b2NjLWE="},
					{Nick: "Bob", Role: "visitor", Affiliation: "none"},
				}
			},
			code: 200, want: `{"muc":"r@conference.example.org","occupants":[` +
				`{"nickname":"Alice","role":"moderator","affiliation":"owner","jid":"alice@example.org/desk","occupant_id":"b2NjLWE="},` +
				`{"nickname":"Bob","role":"visitor","affiliation":"none"}]}`,
			calls: listed, outcome: "listed", audit: ok},
		{name: "nobody there", method: "GET", path: "/muc_occupants?muc=r@conference.example.org",
			code: 200, want: `{"muc":"r@conference.example.org","occupants":[]}`, calls: listed, outcome: "listed", audit: ok},
		{name: "no such room", method: "GET", path: "/muc_occupants?muc=r@conference.example.org",
			fake: func(k *fakeKicker) { k.err = fmt.Errorf("%w (item-not-found)", muc.ErrRoomNotFound) },
			code: 404, want: `{"error":"the room does not exist (item-not-found)"}`, calls: listed, outcome: "room-not-found",
			audit: `room=r@conference.example.org nick="" jid="" status=404`},
		{name: "no answer", method: "GET", path: "/muc_occupants?muc=r@conference.example.org",
			fake: func(k *fakeKicker) { k.err = muc.ErrNoAnswer },
			code: 504, want: `{"error":"the XMPP server did not answer in time"}`, calls: listed, outcome: "gateway-timeout",
			audit: `room=r@conference.example.org nick="" jid="" status=504`},
		{name: "no query", method: "GET", path: "/muc_occupants",
			code: 400, want: `{"error":"the query parameter \"muc\" is missing"}`, outcome: "bad-request", audit: bad},
		{name: "empty muc", method: "GET", path: "/muc_occupants?muc=",
			code: 400, want: `{"error":"the query parameter \"muc\" is empty"}`, outcome: "bad-request", audit: bad},
		{name: "muc twice", method: "GET", path: "/muc_occupants?muc=a@conference.example.org&muc=b@conference.example.org",
			code: 400, want: `{"error":"the query parameter \"muc\" appears 2 times"}`, outcome: "bad-request", audit: bad},
		{name: "unknown parameter", method: "GET", path: "/muc_occupants?muc=r@conference.example.org&nickname=Bob",
			code: 400, want: `{"error":"unknown query parameter \"nickname\"; the only one is \"muc\""}`, outcome: "bad-request", audit: bad},
		{name: "muc in another case", method: "GET", path: "/muc_occupants?MUC=r@conference.example.org",
			code: 400, want: `{"error":"unknown query parameter \"MUC\"; the only one is \"muc\""}`, outcome: "bad-request", audit: bad},
		{name: "bad escape", method: "GET", path: "/muc_occupants?muc=r%zz@conference.example.org",
			code: 400, want: `{"error":"the query is not URL-encoded: invalid URL escape \"%zz\""}`, outcome: "bad-request", audit: bad},
		{name: "semicolon", method: "GET", path: "/muc_occupants?muc=r@conference.example.org;x=1",
			code: 400, want: `{"error":"the query is not URL-encoded: invalid semicolon separator in query"}`, outcome: "bad-request", audit: bad},
		{name: "invalid UTF-8", method: "GET", path: "/muc_occupants?muc=r%ff@conference.example.org",
			code: 400, want: `{"error":"the query parameter \"muc\" must be UTF-8"}`, outcome: "bad-request", audit: bad},
		{name: "a server, not a room", method: "GET", path: "/muc_occupants?muc=conference.example.org",
			code: 400, want: `{"error":"muc: muc: invalid room JID: \"conference.example.org\" has no room name; give room@service"}`, outcome: "bad-request",
			audit: `msg=occupants client=default remote=192.0.2.1:1234 room=conference.example.org nick="" jid="" status=400`},
		{name: "a room with a resource", method: "GET", path: "/muc_occupants?muc=r@conference.example.org/Bob",
			code: 400, want: `{"error":"muc: muc: invalid room JID: \"r@conference.example.org/Bob\" has a resource; give the bare room JID, room@service"}`, outcome: "bad-request",
			audit: `room=r@conference.example.org/Bob nick="" jid="" status=400`},
		{name: "POST", path: "/muc_occupants", body: `{"muc":"r@conference.example.org"}`,
			code: 405, want: `{"error":"method POST is not allowed here; use GET"}`},
	} {
		t.Run(tc.name, tc.run)
	}
}

func TestRetract(t *testing.T) {
	since, _ := time.Parse(time.RFC3339, "2026-12-01T10:00:00+01:00")
	const ok = `msg=retract client=default remote=192.0.2.1:1234 room=r@conference.example.org`
	const bad = `msg=retract client=default remote=192.0.2.1:1234 room=r@conference.example.org`
	retracted := func(ids ...string) func(*fakeKicker) {
		return func(k *fakeKicker) { k.retraction = muc.Retraction{Retracted: ids} }
	}
	notFound := func(id string) error {
		return fmt.Errorf("%w: no message %q in the room's archive (cancel/item-not-found)", muc.ErrMessageNotFound, id)
	}
	r := func(body string) string { return `{"muc":"r@conference.example.org",` + body + `}` }
	for _, tc := range []toolboxCase{
		{name: "by id", path: "/muc_retract", body: r(`"id":"5d8a6f0c","reason":"spam"`), fake: retracted("5d8a6f0c"),
			code: 200, want: `{"muc":"r@conference.example.org","retracted":["5d8a6f0c"]}`,
			calls:   []kick{{room: room, reason: "spam", action: "retract", sel: selection{ID: "5d8a6f0c"}}},
			outcome: "retracted", audit: ok + ` nick="" jid="" id=5d8a6f0c status=200`},
		{name: "by JID, the last 20", path: "/muc_retract", body: r(`"jid":"Spammer@Example.org","last":20`), fake: retracted("b", "a"),
			code: 200, want: `{"muc":"r@conference.example.org","retracted":["b","a"]}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{JID: "spammer@example.org", Last: 20}}},
			outcome: "retracted", audit: ok + ` nick="" jid=spammer@example.org last=20 status=200`},
		{name: "by nickname, since", path: "/muc_retract", body: r(`"nickname":"Spammer","since":"2026-12-01T10:00:00+01:00"`), fake: retracted("a"),
			code: 200, want: `{"muc":"r@conference.example.org","retracted":["a"]}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{Nick: "Spammer", Since: since}}},
			outcome: "retracted", audit: ok + ` nick=Spammer jid="" since=2026-12-01T10:00:00+01:00 status=200`},
		{name: "last and since, nulls absent", path: "/muc_retract", body: r(`"id":null,"jid":"s@example.org","last":1,"since":"2026-12-01T09:00:00Z","reason":null`), fake: retracted("a"),
			code: 200, want: `{"muc":"r@conference.example.org","retracted":["a"]}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{JID: "s@example.org", Last: 1, Since: since}}},
			outcome: "retracted", audit: ok + ` nick="" jid=s@example.org last=1 since=2026-12-01T09:00:00Z status=200`},
		{name: "some failed", path: "/muc_retract", body: r(`"jid":"s@example.org","last":100`),
			fake: func(k *fakeKicker) {
				k.retraction = muc.Retraction{Retracted: []string{"a"}, Failed: []muc.RetractFailure{{ID: "b", Err: notFound("b")}, {ID: "c", Err: muc.ErrNoAnswer}}}
			},
			code: 200, want: `{"failed":[{"id":"b","error":"no message matches: no message \"b\" in the room's archive (cancel/item-not-found)"},` +
				`{"id":"c","error":"the XMPP server did not answer in time; the retraction may or may not have happened"}],` +
				`"muc":"r@conference.example.org","retracted":["a"]}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{JID: "s@example.org", Last: 100}}},
			outcome: "partly-retracted", audit: ok + ` nick="" jid=s@example.org last=100 status=200`},
		{name: "all failed", path: "/muc_retract", body: r(`"jid":"s@example.org","last":2`),
			fake: func(k *fakeKicker) {
				k.retraction = muc.Retraction{Failed: []muc.RetractFailure{{ID: "b", Err: notFound("b")}, {ID: "c", Err: notFound("c")}}}
			},
			code: 404, want: `{"error":"no message matches: no message \"b\" in the room's archive (cancel/item-not-found)"}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{JID: "s@example.org", Last: 2}}},
			outcome: "message-not-found", audit: ok + ` nick="" jid=s@example.org last=2 status=404`},
		{name: "no such message", path: "/muc_retract", body: r(`"id":"x"`), fake: func(k *fakeKicker) { k.err = notFound("x") },
			code: 404, want: `{"error":"no message matches: no message \"x\" in the room's archive (cancel/item-not-found)"}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{ID: "x"}}},
			outcome: "message-not-found", audit: ok + ` nick="" jid="" id=x status=404`},
		{name: "not supported", path: "/muc_retract", body: r(`"id":"x"`),
			fake: func(k *fakeKicker) {
				k.err = fmt.Errorf("%w: %s", muc.ErrNotSupported, muc.RetractionFix("ejabberd", "23.01", "conference.example.org", false))
			},
			code: 501, want: `{"error":"the room does not support this: retraction needs ejabberd 24.12 or later (23.01 has no XEP-0425) with mod_mam loaded and \"mam: true\" in mod_muc's default_room_options (or the room's configuration)"}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{ID: "x"}}},
			outcome: "not-supported", audit: ok + ` nick="" jid="" id=x status=501`},
		{name: "refused", path: "/muc_retract", body: r(`"id":"x"`),
			fake: func(k *fakeKicker) {
				k.err = fmt.Errorf("%w (%w)", muc.ErrRefused, &muc.StanzaError{Type: "auth", Condition: "forbidden"})
			},
			code: 403, want: `{"error":"the server refused the kick (xmpp error auth/forbidden)"}`,
			calls:   []kick{{room: room, action: "retract", sel: selection{ID: "x"}}},
			outcome: "forbidden", audit: ok + ` nick="" jid="" id=x status=403`},
	} {
		t.Run(tc.name, tc.run)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"nothing named", `"last":5`, `give \"id\", or \"nickname\" or \"jid\" with \"last\" and/or \"since\"`},
		{"only nulls", `"id":null,"jid":null`, `give \"id\", or \"nickname\" or \"jid\" with \"last\" and/or \"since\"`},
		{"id and jid", `"id":"x","jid":"s@example.org"`, `give one of \"id\", \"nickname\" and \"jid\"`},
		{"nickname and jid", `"nickname":"S","jid":"s@example.org","last":1`, `give one of \"id\", \"nickname\" and \"jid\"`},
		{"id with last", `"id":"x","last":1`, `\"last\" and \"since\" select a sender's messages: give them with \"nickname\" or \"jid\", not with \"id\"`},
		{"id with since", `"id":"x","since":"2026-12-01T09:00:00Z"`, `\"last\" and \"since\" select a sender's messages: give them with \"nickname\" or \"jid\", not with \"id\"`},
		{"sender alone", `"jid":"s@example.org"`, `with \"nickname\" or \"jid\", give \"last\" (1-100), \"since\" (RFC 3339) or both`},
		{"last 0", `"jid":"s@example.org","last":0`, `\"last\" must be an integer from 1 to 100, got 0`},
		{"last 101", `"jid":"s@example.org","last":101`, `\"last\" must be an integer from 1 to 100, got 101`},
		{"last negative", `"jid":"s@example.org","last":-1`, `\"last\" must be an integer from 1 to 100, got -1`},
		{"last fraction", `"jid":"s@example.org","last":1.5`, `\"last\" must be an integer from 1 to 100, got 1.5`},
		{"last exponent", `"jid":"s@example.org","last":1e1`, `\"last\" must be an integer from 1 to 100, got 1e1`},
		{"last string", `"jid":"s@example.org","last":"5"`, `\"last\" must be an integer from 1 to 100, got \"5\"`},
		{"last huge", `"jid":"s@example.org","last":99999999999999999999`, `\"last\" must be an integer from 1 to 100, got 99999999999999999999`},
		{"since not RFC 3339", `"jid":"s@example.org","since":"yesterday"`, `\"since\" must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", got \"yesterday\"`},
		{"since without zone", `"jid":"s@example.org","since":"2026-12-01T09:00:00"`, `\"since\" must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", got \"2026-12-01T09:00:00\"`},
		{"since a number", `"jid":"s@example.org","since":1764579600`, `\"since\" must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", got 1764579600`},
		{"empty id", `"id":""`, `\"id\" is empty`},
		{"id a number", `"id":5`, `\"id\" must be a string`},
		{"id too long", `"id":"` + strings.Repeat("x", 257) + `"`, `\"id\" is longer than 256 bytes`},
		{"id with a control character", `"id":"a\u0001b"`, `\"id\" holds the control character U+0001`},
		{"id with a C1 control", `"id":"a\u0085b"`, `\"id\" holds the control character U+0085`},
		{"empty nickname", `"nickname":"","last":1`, `\"nickname\" is empty`},
		{"empty jid", `"jid":"","last":1`, `\"jid\" is empty`},
		{"full JID", `"jid":"s@example.org/phone","last":1`, `jid: a retract applies to an account: give a bare JID, without /resource`},
		{"bad nickname", `"nickname":"a\u0000b","last":1`, `nickname: muc: invalid nickname: it contains the control character U+0000`},
		{"reason a number", `"id":"x","reason":1`, `\"reason\" must be a string`},
	} {
		t.Run(tc.name, toolboxCase{path: "/muc_retract", body: r(tc.body), code: 400, want: `{"error":"` + tc.want + `"}`,
			outcome: "bad-request", audit: bad}.run)
	}
	longest := strings.Repeat("é", 128) // 256 bytes
	t.Run("id of 256 bytes", toolboxCase{path: "/muc_retract", body: r(`"id":"` + longest + `"`), fake: retracted(longest),
		code: 200, want: `{"muc":"r@conference.example.org","retracted":["` + longest + `"]}`,
		calls: []kick{{room: room, action: "retract", sel: selection{ID: longest}}}, outcome: "retracted", audit: ok}.run)
}

// TestBanUnbanChangeOnlyWhatTheySay: muc's refusals of a ban or unban that
// would strip an affiliation (409) or touch a protected domain (400).
func TestBanUnbanChangeOnlyWhatTheySay(t *testing.T) {
	fail := func(err error) func(*fakeKicker) { return func(k *fakeKicker) { k.err = err } }
	for _, tc := range []toolboxCase{
		{name: "ban of an owner", path: "/muc_ban", body: `{"jid":"o@example.org","muc":"r@conference.example.org"}`,
			fake: fail(fmt.Errorf("%w: o@example.org is an owner of r@conference.example.org; a ban would strip it", muc.ErrAffiliated)),
			code: 409, want: `{"error":"the JID holds an affiliation in the room: o@example.org is an owner of r@conference.example.org; a ban would strip it"}`,
			calls:   []kick{{room: room, action: "ban", jid: "o@example.org"}},
			outcome: "affiliated", audit: `msg=ban client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=o@example.org status=409`},
		{name: "unban of a member", path: "/muc_unban", body: `{"jid":"m@example.org","muc":"r@conference.example.org"}`,
			fake: fail(fmt.Errorf("%w: m@example.org is a member of r@conference.example.org, not banned; an unban would strip it", muc.ErrAffiliated)),
			code: 409, want: `{"error":"the JID holds an affiliation in the room: m@example.org is a member of r@conference.example.org, not banned; an unban would strip it"}`,
			calls:   []kick{{room: room, action: "unban", jid: "m@example.org"}},
			outcome: "affiliated", audit: `msg=unban client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=m@example.org status=409`},
		{name: "ban of the MUC service", path: "/muc_ban", body: `{"jid":"conference.example.org","muc":"r@conference.example.org"}`,
			fake: fail(fmt.Errorf("%w: conference.example.org is of conference.example.org", muc.ErrProtectedJID)),
			code: 400, want: `{"error":"muc-kick does not ban its own domain or a MUC service: conference.example.org is of conference.example.org"}`,
			calls:   []kick{{room: room, action: "ban", jid: "conference.example.org"}},
			outcome: "protected-jid", audit: `msg=ban client=default remote=192.0.2.1:1234 room=r@conference.example.org nick="" jid=conference.example.org status=400`},
	} {
		t.Run(tc.name, tc.run)
	}
}

func TestNewPathsFollowKickPath(t *testing.T) {
	k := &fakeKicker{retraction: muc.Retraction{Retracted: []string{"x"}}}
	h := httpapi.New(k, httpapi.Options{Path: "/api/muc_kick", AuthorizationHeader: auth, Logger: slog.New(slog.DiscardHandler)})
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/muc_mute", `{"nickname":"Bob","muc":"r@conference.example.org"}`},
		{"POST", "/api/muc_unmute", `{"nickname":"Bob","muc":"r@conference.example.org"}`},
		{"GET", "/api/muc_occupants?muc=r@conference.example.org", ""},
		{"POST", "/api/muc_retract", `{"id":"x","muc":"r@conference.example.org"}`},
	} {
		if r := do(t, h, tc.method, tc.path, auth, tc.body); r.code != 200 {
			t.Errorf("%s: %d %s", tc.path, r.code, r.raw)
		}
		if r := do(t, h, tc.method, strings.TrimPrefix(tc.path, "/api"), auth, tc.body); r.code != 404 {
			t.Errorf("%s beside a moved kick path: %d", strings.TrimPrefix(tc.path, "/api"), r.code)
		}
	}
}

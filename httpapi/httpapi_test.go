package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

const auth = "Basic dXNlcm5hbWU6cGFzc3dvcmQ="

// kick is one call that reached the moderator.
type kick struct {
	room, nick, reason string
	action, jid        string    // "" for a kick by nickname
	role               muc.Role  // of a mute or unmute
	sel                selection // of a retraction
}

// selection is a muc.Selection with its JID as a string, "" for none.
type selection struct {
	ID, Nick, JID string
	Last          int
	Since         time.Time
}

// equal reports whether k and o are the same call.
func (k kick) equal(o kick) bool {
	ks, os := k.sel.Since, o.sel.Since
	k.sel.Since, o.sel.Since = time.Time{}, time.Time{}
	return k == o && ks.Equal(os)
}

// fakeKicker records what reaches XMPP and answers with err.
type fakeKicker struct {
	mu    sync.Mutex
	kicks []kick
	err   error
	// notBanned: an unban finds the JID without affiliation (lifted false).
	notBanned  bool
	nicks      []string // the sessions a change by JID changed, if set
	occupants  []muc.Occupant
	retraction muc.Retraction
}

func (f *fakeKicker) record(k kick) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kicks = append(f.kicks, k)
	return f.err
}

func (f *fakeKicker) Kick(_ context.Context, room jid.JID, nick, reason string) error {
	return f.record(kick{room: room.String(), nick: nick, reason: reason})
}

func (f *fakeKicker) KickJID(_ context.Context, room, user jid.JID, reason string) ([]string, error) {
	if err := f.record(kick{room: room.String(), reason: reason, action: "kickjid", jid: user.String()}); err != nil {
		return nil, err
	}
	return []string{"n1", "n2"}, nil
}

func (f *fakeKicker) Ban(_ context.Context, room, user jid.JID, reason string) error {
	return f.record(kick{room: room.String(), reason: reason, action: "ban", jid: user.String()})
}

func (f *fakeKicker) Unban(_ context.Context, room, user jid.JID) (lifted bool, err error) {
	err = f.record(kick{room: room.String(), action: "unban", jid: user.String()})
	return err == nil && !f.notBanned, err
}

func (f *fakeKicker) SetRole(_ context.Context, room jid.JID, nick string, role muc.Role, reason string) error {
	return f.record(kick{room: room.String(), nick: nick, reason: reason, action: "role", role: role})
}

func (f *fakeKicker) SetRoleJID(_ context.Context, room, user jid.JID, role muc.Role, reason string) ([]string, error) {
	err := f.record(kick{room: room.String(), reason: reason, action: "rolejid", jid: user.String(), role: role})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nicks != nil { // changed before err, or all of them
		return f.nicks, err
	}
	if err != nil {
		return nil, err
	}
	return []string{"n1", "n2"}, nil
}

func (f *fakeKicker) Occupants(_ context.Context, room jid.JID) ([]muc.Occupant, error) {
	err := f.record(kick{room: room.String(), action: "occupants"})
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.occupants, err
}

func (f *fakeKicker) Retract(_ context.Context, room jid.JID, sel muc.Selection, reason string) (muc.Retraction, error) {
	s := selection{ID: sel.ID, Nick: sel.Nick, Last: sel.Last, Since: sel.Since}
	if !sel.JID.IsZero() {
		s.JID = sel.JID.String()
	}
	err := f.record(kick{room: room.String(), reason: reason, action: "retract", sel: s})
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retraction, err
}

func newHandler(k httpapi.Moderator, ready bool) http.Handler {
	return httpapi.New(k, httpapi.Options{
		AuthorizationHeader: auth,
		MaxBodyBytes:        1024,
		Ready:               func() bool { return ready },
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

type response struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, method, path, authz, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := response{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json (body %q)", method, path, ct, r.raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
		t.Errorf("%s %s: body is not a JSON object: %q", method, path, r.raw)
	}
	return r
}

func TestBadRequestsChangeNothing(t *testing.T) {
	long := strings.Repeat("n", 1024)
	for _, tc := range []struct {
		name   string
		method string
		authz  string
		body   string
		code   int
		errHas string
	}{
		{"no authorization", "POST", "", `{"nickname":"Bob","muc":"r@conference.example.org"}`, 401, "Authorization"},
		{"wrong authorization", "POST", "Basic d3Jvbmc=", `{"nickname":"Bob","muc":"r@conference.example.org"}`, 401, "Authorization"},
		{"authorization prefix", "POST", auth[:len(auth)-1], `{"nickname":"Bob","muc":"r@conference.example.org"}`, 401, "Authorization"},
		{"empty body", "POST", auth, ``, 400, "JSON object"},
		{"not JSON", "POST", auth, `nickname=Bob`, 400, "JSON object"},
		{"array", "POST", auth, `["Bob"]`, 400, "JSON object"},
		{"null", "POST", auth, `null`, 400, "JSON object"},
		{"string", "POST", auth, `"Bob"`, 400, "JSON object"},
		{"trailing data", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org"} {}`, 400, "nothing after"},
		{"truncated", "POST", auth, `{"nickname":"Bob"`, 400, "JSON object"},
		{"missing nickname", "POST", auth, `{"muc":"r@conference.example.org"}`, 400, `"nickname" is missing`},
		{"missing muc", "POST", auth, `{"nickname":"Bob"}`, 400, `"muc" is missing`},
		{"empty nickname", "POST", auth, `{"nickname":"","muc":"r@conference.example.org"}`, 400, `"nickname" is empty`},
		{"empty muc", "POST", auth, `{"nickname":"Bob","muc":""}`, 400, `"muc" is empty`},
		{"nickname number", "POST", auth, `{"nickname":42,"muc":"r@conference.example.org"}`, 400, `"nickname" must be a string`},
		{"muc object", "POST", auth, `{"nickname":"Bob","muc":{"a":1}}`, 400, `"muc" must be a string`},
		{"reason number", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","reason":1}`, 400, `"reason" must be a string`},
		{"muc without node", "POST", auth, `{"nickname":"Bob","muc":"conference.example.org"}`, 400, "no room name"},
		{"muc with resource", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org/Bob"}`, 400, "resource"},
		{"muc with space", "POST", auth, `{"nickname":"Bob","muc":"a room@conference.example.org"}`, 400, "JID cannot hold"},
		{"muc two ats", "POST", auth, `{"nickname":"Bob","muc":"a@b@conference.example.org"}`, 400, "muc"},
		{"muc empty domain", "POST", auth, `{"nickname":"Bob","muc":"a@"}`, 400, "no domain"},
		{"nick NUL", "POST", auth, `{"nickname":"Bo\u0000b","muc":"r@conference.example.org"}`, 400, "control character"},
		{"nick control", "POST", auth, `{"nickname":"Bo\u001bb","muc":"r@conference.example.org"}`, 400, "control character"},
		{"nick too long", "POST", auth, `{"nickname":"` + long[:1024] + `","muc":"r@conference.example.org"}`, 400, "nickname: muc: invalid nickname: longer than 1023 bytes"},
		{"reason control", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","reason":"\u0007"}`, 400, "reason"},
		{"body over limit", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","reason":"` + strings.Repeat("x", 2000) + `"}`, 413, "1024 bytes"},
		{"UTF-16 body", "POST", auth, "\xff\xfe{\x00\"\x00n\x00\"\x00}\x00", 400, "JSON object"},
		{"gzip body", "POST", auth, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\xae\x05\x00\x43\xbf\xa6\xa3\x02\x00\x00\x00", 400, "JSON object"},
		{"nested object", "POST", auth, `{"nickname":{"nickname":"Bob"},"muc":"r@conference.example.org"}`, 400, "must be a string"},
		{"deep nesting", "POST", auth, strings.Repeat("[", 500) + strings.Repeat("]", 500), 400, "JSON object"},
		{"nickname true", "POST", auth, `{"nickname":true,"muc":"r@conference.example.org"}`, 400, "must be a string"},
		{"lone surrogate nick", "POST", auth, `{"nickname":"\ud800","muc":"r@conference.example.org"}`, 400, `lone UTF-16 surrogate, \ud800`},
		{"lone low surrogate", "POST", auth, `{"nickname":"B\udc00ob","muc":"r@conference.example.org"}`, 400, "lone UTF-16 surrogate"},
		{"high surrogate, then no low one", "POST", auth, `{"nickname":"\ud83d\u0041","muc":"r@conference.example.org"}`, 400, "lone UTF-16 surrogate"},
		{"surrogate in an ignored key", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","x":"\udfff"}`, 400, "lone UTF-16 surrogate"},
		{"surrogate pair", "POST", auth, `{"nickname":"\ud83d\ude00","muc":"r@conference.example.org"}`, 200, ""},
		{"escaped backslash before u", "POST", auth, `{"nickname":"\\ud800","muc":"r@conference.example.org"}`, 200, ""},
		{"invalid UTF-8 in nick", "POST", auth, "{\"nickname\":\"B\xffob\",\"muc\":\"r@conference.example.org\"}", 400, "must be UTF-8; byte 14 is not"},
		{"invalid UTF-8 in an ignored key", "POST", auth, "{\"nickname\":\"Bob\",\"muc\":\"r@conference.example.org\",\"x\xc3\":1}", 400, "must be UTF-8"},
		{"trailing brackets", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org"}]]]garbage`, 400, "nothing after"},
		{"trailing brace", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org"}}`, 400, "nothing after"},
		{"trailing garbage", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org"}garbage`, 400, "nothing after"},
		{"trailing white space", "POST", auth, "{\"nickname\":\"Bob\",\"muc\":\"r@conference.example.org\"}\r\n\t ", 200, ""},
		{"duplicate nickname", "POST", auth, `{"nickname":"Bob","nickname":"Eve","muc":"r@conference.example.org"}`, 400, `the key "nickname" appears twice`},
		{"duplicate muc, escaped", "POST", auth, `{"nickname":"Bob","muc":"a@conference.example.org","m\u0075c":"b@conference.example.org"}`, 400, `the key "muc" appears twice`},
		{"duplicate but for case", "POST", auth, `{"nickname":"Bob","NickName":"Eve","muc":"r@conference.example.org"}`, 400, `the keys "nickname" and "NickName" are the same but for letter case`},
		{"duplicate in a nested object", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","x":[{"a":1},{"a":1,"b":{"c":1,"c":2}}]}`, 400, `the key "c" appears twice`},
		{"same key in sibling objects", "POST", auth, `{"nickname":"Bob","muc":"r@conference.example.org","x":[{"a":1},{"a":{"a":[]}}],"y":{}}`, 200, ""},
		{"GET on kick path", "GET", auth, ``, 405, "POST"},
		{"DELETE on kick path", "DELETE", auth, ``, 405, "POST"},
		{"OPTIONS on kick path", "OPTIONS", auth, ``, 405, "POST"},
		{"PUT on kick path", "PUT", auth, `{}`, 405, "POST"},
		{"unknown path", "POST", auth, `{}`, 404, "/muc_kick"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKicker{}
			path := "/muc_kick"
			if tc.name == "unknown path" {
				path = "/kick"
			}
			h := newHandler(k, true)
			if tc.name == "nick too long" { // the nick, not the body, is too long
				h = httpapi.New(k, httpapi.Options{AuthorizationHeader: auth, MaxBodyBytes: 2048, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			}
			r := do(t, h, tc.method, path, tc.authz, tc.body)
			if r.code != tc.code {
				t.Errorf("status %d, want %d (%s)", r.code, tc.code, r.raw)
			}
			if msg, _ := r.body["error"].(string); !strings.Contains(msg, tc.errHas) {
				t.Errorf("error %q does not mention %q", msg, tc.errHas)
			}
			if tc.code != 200 && len(k.kicks) != 0 {
				t.Errorf("a bad request reached XMPP: %+v", k.kicks)
			}
			switch tc.code {
			case 401:
				if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="muc-kick"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
			case 405:
				if got := r.header.Get("Allow"); got != "POST" { // not OPTIONS: that is a 405 too
					t.Errorf("Allow %q", got)
				}
			}
		})
	}
}

func TestChunkedBodyOverLimit(t *testing.T) {
	k := &fakeKicker{}
	body := io.MultiReader(strings.NewReader(`{"nickname":"Bob","muc":"r@conference.example.org","reason":"`),
		strings.NewReader(strings.Repeat("x", 1<<20)), strings.NewReader(`"}`))
	req := httptest.NewRequest("POST", "/muc_kick", body)
	req.ContentLength = -1 // chunked: the size is not known up front
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	newHandler(k, true).ServeHTTP(rec, req)
	if rec.Code != 413 || len(k.kicks) != 0 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestNickOfMaxLengthIsAccepted(t *testing.T) {
	k := &fakeKicker{}
	h := httpapi.New(k, httpapi.Options{AuthorizationHeader: auth, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	nick := strings.Repeat("é", 511) + "x" // 1023 bytes
	r := do(t, h, "POST", "/muc_kick", auth, `{"nickname":"`+nick+`","muc":"r@conference.example.org"}`)
	if r.code != 200 {
		t.Fatalf("status %d: %s", r.code, r.raw)
	}
	r = do(t, h, "POST", "/muc_kick", auth, `{"nickname":"`+nick+`x","muc":"r@conference.example.org"}`)
	if r.code != 400 || !strings.Contains(r.raw, "1023") {
		t.Fatalf("1024-byte nick: status %d: %s", r.code, r.raw)
	}
}

func TestKickIsPassedOnVerbatim(t *testing.T) {
	k := &fakeKicker{}
	body := `{"nickname":"<Bob & \"Co\">","muc":"Room@Conference.Example.org","reason":"]]> spam\nagain","extra":true}`
	r := do(t, newHandler(k, true), "POST", "/muc_kick", auth, body)
	if r.code != 200 {
		t.Fatalf("status %d: %s", r.code, r.raw)
	}
	want := kick{room: "room@conference.example.org", nick: `<Bob & "Co">`, reason: "]]> spam\nagain"}
	if len(k.kicks) != 1 || k.kicks[0] != want {
		t.Fatalf("kicks %+v, want %+v", k.kicks, want)
	}
	if r.body["muc"] != "room@conference.example.org" || fmt.Sprint(r.body["kicked"]) != "[<Bob & \"Co\">]" {
		t.Errorf("body %s", r.raw)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		errHas string
	}{
		{fmt.Errorf("%w: x", muc.ErrUnknownDomain), 404, "MUC domain"},
		{fmt.Errorf("%w (x)", muc.ErrRoomNotFound), 404, "room does not exist"},
		{fmt.Errorf("%w (x)", muc.ErrOccupantNotFound), 404, "no occupant"},
		{fmt.Errorf("%w (%w)", muc.ErrRefused, &muc.StanzaError{Type: "cancel", Condition: "not-allowed"}), 403, "not-allowed"},
		{fmt.Errorf("%w: %w", muc.ErrEntryRefused, &muc.StanzaError{Type: "auth", Condition: "not-authorized"}), 403, "not-authorized"},
		{fmt.Errorf("%w: bob@example.org is an owner of r@conference.example.org; a ban would strip it", muc.ErrAffiliated), 409,
			"the JID holds an affiliation in the room: bob@example.org is an owner of r@conference.example.org; a ban would strip it"},
		{fmt.Errorf("%w: x@conference.example.org is of conference.example.org", muc.ErrProtectedJID), 400,
			"muc-kick does not ban its own domain or a MUC service: x@conference.example.org is of conference.example.org"},
		{fmt.Errorf("%w: retraction needs mod_muc_moderation", muc.ErrNotSupported), 501, "the room does not support this: retraction needs mod_muc_moderation"},
		{fmt.Errorf("%w: no message \"x\"", muc.ErrMessageNotFound), 404, `no message matches: no message "x"`},
		{muc.ErrUnavailable, 503, "not connected"},
		{fmt.Errorf("kicking: %w", muc.ErrClosed), 503, "shutting down"},
		{fmt.Errorf("%w: eof", muc.ErrStreamLost), 503, "lost"},
		{muc.ErrNoAnswer, 504, "did not answer"},
		{&muc.StanzaError{Type: "wait", Condition: "resource-constraint"}, 502, "resource-constraint"},
		{errors.New("something odd"), 502, "something odd"},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			r := do(t, newHandler(&fakeKicker{err: tc.err}, true), "POST", "/muc_kick", auth, `{"nickname":"Bob","muc":"r@conference.example.org"}`)
			if r.code != tc.code {
				t.Errorf("status %d, want %d", r.code, tc.code)
			}
			if msg, _ := r.body["error"].(string); !strings.Contains(msg, tc.errHas) {
				t.Errorf("error %q does not mention %q", msg, tc.errHas)
			}
			if tc.code == 503 && r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestNotConnected(t *testing.T) {
	k := &fakeKicker{}
	h := newHandler(k, false)
	r := do(t, h, "POST", "/muc_kick", auth, `{"nickname":"Bob","muc":"r@conference.example.org"}`)
	if r.code != 503 || r.header.Get("Retry-After") != "5" || len(k.kicks) != 0 {
		t.Errorf("kick while disconnected: %d %v %q", r.code, r.header, r.raw)
	}
	if r := do(t, h, "GET", "/readyz", "", ""); r.code != 503 {
		t.Errorf("/readyz while disconnected: %d", r.code)
	}
	if r := do(t, h, "GET", "/healthz", "", ""); r.code != 200 {
		t.Errorf("/healthz: %d", r.code)
	}
	if r := do(t, newHandler(k, true), "GET", "/readyz", "", ""); r.code != 200 {
		t.Errorf("/readyz while connected: %d", r.code)
	}
}

func TestKickByJIDBanUnban(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		code             int
		has              string // in the body
		want             *kick  // what reaches XMPP
	}{
		{"kick by bare JID", "/muc_kick", `{"jid":"Bob@Example.org","muc":"r@conference.example.org","reason":"x"}`, 200, `"kicked":["n1","n2"]`,
			&kick{room: "r@conference.example.org", reason: "x", action: "kickjid", jid: "bob@example.org"}},
		{"kick by full JID", "/muc_kick", `{"jid":"bob@example.org/Phone","muc":"r@conference.example.org"}`, 200, `"kicked"`,
			&kick{room: "r@conference.example.org", action: "kickjid", jid: "bob@example.org/Phone"}},
		{"nickname and jid", "/muc_kick", `{"nickname":"Bob","jid":"bob@example.org","muc":"r@conference.example.org"}`, 400, "not both", nil},
		{"neither", "/muc_kick", `{"muc":"r@conference.example.org"}`, 400, `\"nickname\" is missing (or give \"jid\")`, nil},
		{"bad jid", "/muc_kick", `{"jid":"bob@","muc":"r@conference.example.org"}`, 400, "jid", nil},
		{"jid with space", "/muc_kick", `{"jid":"bob smith@example.org","muc":"r@conference.example.org"}`, 400, "jid", nil},
		{"jid number", "/muc_kick", `{"jid":7,"muc":"r@conference.example.org"}`, 400, `\"jid\" must be a string`, nil},
		{"ban", "/muc_ban", `{"jid":"bob@example.org","muc":"r@conference.example.org","reason":"spam"}`, 200, `"banned":"bob@example.org"`,
			&kick{room: "r@conference.example.org", reason: "spam", action: "ban", jid: "bob@example.org"}},
		{"ban a server", "/muc_ban", `{"jid":"spam.example","muc":"r@conference.example.org"}`, 200, `"banned":"spam.example"`,
			&kick{room: "r@conference.example.org", action: "ban", jid: "spam.example"}},
		{"ban by nickname", "/muc_ban", `{"nickname":"Bob","muc":"r@conference.example.org"}`, 400, `takes a \"jid\"`, nil},
		{"ban a full JID", "/muc_ban", `{"jid":"bob@example.org/phone","muc":"r@conference.example.org"}`, 400, "bare JID", nil},
		{"ban without jid", "/muc_ban", `{"muc":"r@conference.example.org"}`, 400, `\"jid\" is missing`, nil},
		{"unban", "/muc_unban", `{"jid":"bob@example.org","muc":"r@conference.example.org"}`, 200, `"unbanned":"bob@example.org"`,
			&kick{room: "r@conference.example.org", action: "unban", jid: "bob@example.org"}},
		{"GET ban", "/muc_ban", ``, 405, "POST", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKicker{}
			method := "POST"
			if strings.HasPrefix(tc.name, "GET") {
				method = "GET"
			}
			r := do(t, newHandler(k, true), method, tc.path, auth, tc.body)
			if r.code != tc.code || !strings.Contains(r.raw, tc.has) {
				t.Fatalf("%d %s, want %d with %s", r.code, r.raw, tc.code, tc.has)
			}
			switch {
			case tc.want == nil && len(k.kicks) != 0:
				t.Errorf("reached XMPP: %+v", k.kicks)
			case tc.want != nil && (len(k.kicks) != 1 || k.kicks[0] != *tc.want):
				t.Errorf("reached XMPP: %+v, want %+v", k.kicks, *tc.want)
			}
		})
	}
}

func TestBanPathFollowsKickPath(t *testing.T) {
	k := &fakeKicker{}
	h := httpapi.New(k, httpapi.Options{Path: "/api/muc_kick", AuthorizationHeader: auth, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, p := range []string{"/api/muc_kick", "/api/muc_ban", "/api/muc_unban"} {
		if r := do(t, h, "POST", p, auth, `{"jid":"bob@example.org","muc":"r@conference.example.org"}`); r.code != 200 {
			t.Errorf("%s: %d %s", p, r.code, r.raw)
		}
	}
	if r := do(t, h, "POST", "/muc_ban", auth, `{}`); r.code != 404 {
		t.Errorf("/muc_ban beside a moved kick path: %d", r.code)
	}
}

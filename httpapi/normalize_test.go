package httpapi_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/muc-kick/muc-kick/httpapi"
)

// TestScopeIsCheckedOnTheNormalizedRoom: a client scoped to team*@… sent a
// ban for "team\u0301secret@…" (decomposed); the server routes by nodeprep,
// so that is the room "teaḿsecret", outside the scope. It must be refused,
// and what is in scope must reach XMPP in the form the server routes by.
func TestScopeIsCheckedOnTheNormalizedRoom(t *testing.T) {
	k := &fakeKicker{}
	h := httpapi.New(k, httpapi.Options{
		Clients: []httpapi.Client{{Name: "teams", Header: "Basic dGVhbTp0ZWFt", Rooms: []string{"team*@conference.example.org"}}},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, tc := range []struct {
		body string
		code int
		room string // as it reaches XMPP
	}{
		{`{"jid":"eve@example.org","muc":"team\u0301secret@conference.example.org"}`, 403, ""},
		{`{"jid":"eve@example.org","muc":"tea\u1e3fsecret@conference.example.org"}`, 403, ""},
		{`{"jid":"eve@example.org","muc":"ｔｅａｍ-red@conference.example.org"}`, 200, "team-red@conference.example.org"},
		{`{"jid":"eve@example.org","muc":"TEAM-Blue@Conference.Example.org"}`, 200, "team-blue@conference.example.org"},
		{`{"jid":"eve@example.org","muc":"team\ufb01@conference.example.org"}`, 400, ""},
		{`{"jid":"ＥＶＥ@example.org","muc":"team@conference.example.org"}`, 200, "team@conference.example.org"},
	} {
		k.kicks = nil
		r := do(t, h, "POST", "/muc_ban", "Basic dGVhbTp0ZWFt", tc.body)
		if r.code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.body, r.code, r.raw, tc.code)
			continue
		}
		if tc.code != 200 {
			if len(k.kicks) != 0 {
				t.Errorf("%s: a refused ban reached XMPP: %+v", tc.body, k.kicks)
			}
			continue
		}
		if len(k.kicks) != 1 || k.kicks[0].room != tc.room || k.kicks[0].jid != "eve@example.org" || r.body["muc"] != tc.room {
			t.Errorf("%s: reached XMPP as %+v, answered %s", tc.body, k.kicks, r.raw)
		}
	}
}

package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// FuzzKickRequest throws arbitrary bodies and headers at the kick endpoint:
// the handler must never panic, must answer 200 or 4xx with a JSON body, and
// what reaches XMPP must be exactly a valid request.
func FuzzKickRequest(f *testing.F) {
	f.Add(`{"nickname":"Bob","muc":"room@conference.example.org","reason":"spam"}`, auth)
	f.Add(`{"nickname":"<&>\"]]>","muc":"Room@Conference.Example.org"}`, auth)
	f.Add(`{"nickname":"Bo\u0000b","muc":"room@conference.example.org"}`, auth)
	f.Add(`{"nickname":["Bob"],"muc":"room@conference.example.org"}`, auth)
	f.Add(`{"nickname":"Bob","muc":"room@conference.example.org/res"}`, auth)
	f.Add(`{"nickname":"Bob","muc":"@conference.example.org"}`, auth)
	f.Add(`{"nickname":"Bob","muc":"a@b@c"}`, auth)
	f.Add(`{"nickname":"Bob","muc":"room@conference.example.org"}{}`, auth)
	f.Add("\xff\xfe{\x00}", auth)
	f.Add(`{"nickname":"Bob","muc":"room@conference.example.org"}`, "Basic wrong")
	f.Add(`{"jid":"Bob@Example.org/phone","muc":"room@conference.example.org"}`, auth)
	f.Add(`{"jid":"bob@example.org","nickname":"Bob","muc":"room@conference.example.org"}`, auth)
	f.Add(`{"nickname":"Bob","muc":"room@conference.example.org"}]]]garbage`, auth)
	f.Add(`{"nickname":"\ud800","muc":"room@conference.example.org","x":{"a":1,"A":[1,{"b":2}]}}`, auth)
	f.Fuzz(func(t *testing.T, body, authz string) {
		k := &fakeKicker{}
		h := newHandler(k, true)
		req := httptest.NewRequest("POST", "/muc_kick", strings.NewReader(body))
		req.Header.Set("Authorization", authz)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || !strings.HasPrefix(rec.Body.String(), "{") {
			t.Fatalf("answer is not JSON: %q %q", ct, rec.Body.String())
		}
		if rec.Code != 200 {
			if len(k.kicks) != 0 {
				t.Fatalf("status %d but a kick reached XMPP", rec.Code)
			}
			return
		}
		if len(k.kicks) != 1 {
			t.Fatalf("200 with %d kicks", len(k.kicks))
		}
		if !utf8.ValidString(body) {
			t.Fatalf("200 for a body that is not UTF-8: %q", body)
		}
		got := k.kicks[0]
		if room, err := jid.ParseRoom(got.room); err != nil || room.String() != got.room {
			t.Fatalf("an invalid room reached XMPP: %q (%v)", got.room, err)
		}
		if got.jid != "" {
			if user, err := jid.Parse(got.jid); err != nil || user.String() != got.jid || got.nick != "" {
				t.Fatalf("an invalid JID reached XMPP: %q (%v)", got.jid, err)
			}
		} else if muc.CheckNick(got.nick) != nil {
			t.Fatalf("an invalid nick reached XMPP: %q", got.nick)
		}
		if muc.CheckReason(got.reason) != nil {
			t.Fatalf("an invalid reason reached XMPP: %q", got.reason)
		}
	})
}

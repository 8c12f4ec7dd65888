package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
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

// FuzzRetractRequest throws arbitrary bodies at the retraction endpoint:
// what reaches the Moderator must be exactly one valid selection, one
// message by a bounded id, or one sender with a count and/or a time.
func FuzzRetractRequest(f *testing.F) {
	f.Add(`{"id":"5d8a6f0c","muc":"room@conference.example.org","reason":"spam"}`)
	f.Add(`{"jid":"Spammer@Example.org","last":20,"muc":"room@conference.example.org"}`)
	f.Add(`{"nickname":"Bob","since":"2026-12-01T10:00:00+01:00","last":1,"muc":"room@conference.example.org"}`)
	f.Add(`{"jid":"s@example.org/phone","last":1.5,"muc":"room@conference.example.org"}`)
	f.Add(`{"id":"a\u0085b","last":null,"muc":"room@conference.example.org"}`)
	f.Add(`{"id":"x","nickname":"Bob","muc":"room@conference.example.org"}`)
	f.Fuzz(func(t *testing.T, body string) {
		k := &fakeKicker{retraction: muc.Retraction{Retracted: []string{"x"}}}
		h := newHandler(k, true)
		req := httptest.NewRequest("POST", "/muc_retract", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != 200 {
			if len(k.kicks) != 0 {
				t.Fatalf("status %d but a retraction reached XMPP", rec.Code)
			}
			return
		}
		if len(k.kicks) != 1 {
			t.Fatalf("200 with %d calls", len(k.kicks))
		}
		got := k.kicks[0]
		sel := got.sel
		if room, err := jid.ParseRoom(got.room); err != nil || room.String() != got.room || muc.CheckReason(got.reason) != nil {
			t.Fatalf("an invalid room or reason reached XMPP: %q %q (%v)", got.room, got.reason, err)
		}
		switch {
		case sel.ID != "":
			if sel.Nick != "" || sel.JID != "" || sel.Last != 0 || !sel.Since.IsZero() || len(sel.ID) > 256 ||
				strings.ContainsFunc(sel.ID, unicode.IsControl) {
				t.Fatalf("an invalid selection by id reached XMPP: %+v", sel)
			}
		case (sel.Nick == "") == (sel.JID == ""), sel.Last < 0, sel.Last > 100, sel.Last == 0 && sel.Since.IsZero():
			t.Fatalf("an invalid selection by sender reached XMPP: %+v", sel)
		case sel.JID != "":
			if user, err := jid.Parse(sel.JID); err != nil || user.String() != sel.JID || !user.IsBare() {
				t.Fatalf("an invalid JID reached XMPP: %q (%v)", sel.JID, err)
			}
		case muc.CheckNick(sel.Nick) != nil:
			t.Fatalf("an invalid nick reached XMPP: %q", sel.Nick)
		}
	})
}

// FuzzOccupantsQuery throws arbitrary queries at the occupant list: the
// room that reaches the Moderator must be valid, and nothing else may.
func FuzzOccupantsQuery(f *testing.F) {
	f.Add("muc=room@conference.example.org")
	f.Add("muc=Room%40Conference.example.org")
	f.Add("muc=a&muc=b")
	f.Add("muc=r%zz;x")
	f.Add("MUC=r@conference.example.org")
	f.Fuzz(func(t *testing.T, query string) {
		k := &fakeKicker{}
		h := newHandler(k, true)
		req := httptest.NewRequest("GET", "/muc_occupants", nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for query %q: %s", rec.Code, query, rec.Body)
		}
		if (rec.Code == 200) != (len(k.kicks) == 1) {
			t.Fatalf("status %d with %d calls", rec.Code, len(k.kicks))
		}
		if rec.Code == 200 {
			if room, err := jid.ParseRoom(k.kicks[0].room); err != nil || room.String() != k.kicks[0].room {
				t.Fatalf("an invalid room reached XMPP: %q (%v)", k.kicks[0].room, err)
			}
		}
	})
}

package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
)

var (
	credKey = []byte("0123456789abcdef0123456789abcdef")
	oldKey  = []byte("ffffffffffffffffffffffffffffffff")
	host    = "kick.example.org"
	now     = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func authHandler(k httpapi.Moderator, clk *clock, logs io.Writer) http.Handler {
	return httpapi.New(k, httpapi.Options{
		Clients: []httpapi.Client{
			{Name: "plain", Header: "Basic cGxhaW46cGxhaW4="},
			{Name: "hashed", SHA256: sha("Basic aGFzaGVkOmhhc2hlZA==")},
			{Name: "teams", Header: "Bearer teams-secret", Rooms: []string{"team-*@conference.example.org", "lobby@conference.example.org"}},
			{Name: "slow", Header: "Basic c2xvdzpzbG93", Rate: 1, Burst: 2},
		},
		CredentialKeys: [][]byte{credKey, oldKey},
		CredentialHost: host,
		Revoked:        []string{"revoked-name", "0000000000000000"},
		Now:            clk.Now,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	})
}

func token(t *testing.T, key []byte, h, name string, rooms []string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := credential.IssueGrant(key, h, credential.Grant{Name: name, Rooms: rooms}, ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func TestCredentials(t *testing.T) {
	expired, _, _ := credential.IssueGrant(credKey, host, credential.Grant{Name: "late"}, time.Minute, now.Add(-time.Hour))
	for _, tc := range []struct {
		name   string
		authz  string
		room   string
		code   int
		errHas string
	}{
		{"plain client", "Basic cGxhaW46cGxhaW4=", "any@conference.example.org", 200, ""},
		{"hashed client", "Basic aGFzaGVkOmhhc2hlZA==", "any@conference.example.org", 200, ""},
		{"wrong value", "Basic aGFzaGVkOmhhc2hlZB==", "any@conference.example.org", 401, "wrong"},
		{"hash as the value", sha("Basic aGFzaGVkOmhhc2hlZA=="), "any@conference.example.org", 401, "wrong"},
		{"scoped client in scope", "Bearer teams-secret", "team-red@conference.example.org", 200, ""},
		{"scoped client exact room", "Bearer teams-secret", "lobby@conference.example.org", 200, ""},
		{"scoped client out of scope", "Bearer teams-secret", "admins@conference.example.org", 403, `"teams" may not act on admins@conference.example.org`},
		{"signed credential", token(t, credKey, host, "backend-x", nil, time.Hour), "any@conference.example.org", 200, ""},
		{"signed with the old key", token(t, oldKey, host, "backend-x", nil, time.Hour), "any@conference.example.org", 200, ""},
		{"signed, in its rooms", token(t, credKey, host, "b", []string{"ops-*@conference.example.org"}, time.Hour), "ops-1@conference.example.org", 200, ""},
		{"signed, outside its rooms", token(t, credKey, host, "b", []string{"ops-*@conference.example.org"}, time.Hour), "dev-1@conference.example.org", 403, "may not act on"},
		{"signed with another key", token(t, []byte("another key, 32 bytes or more ..."), host, "x", nil, time.Hour), "a@conference.example.org", 401, "not a valid credential"},
		{"signed for another host", token(t, credKey, "kick.example.net", "x", nil, time.Hour), "a@conference.example.org", 401, "not a valid credential"},
		{"expired", "Bearer " + expired, "a@conference.example.org", 401, `"late" expired`},
		{"revoked by name", token(t, credKey, host, "revoked-name", nil, time.Hour), "a@conference.example.org", 401, "revoked"},
		{"tampered", tamper(token(t, credKey, host, "x", []string{"ops-*@conference.example.org"}, time.Hour)), "a@conference.example.org", 401, "not a valid credential"},
		{"bearer garbage", "Bearer a.b.c", "a@conference.example.org", 401, "not a valid credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKicker{}
			var logs bytes.Buffer
			r := do(t, authHandler(k, &clock{t: now}, &logs), "POST", "/muc_kick", tc.authz, `{"nickname":"Bob","muc":"`+tc.room+`"}`)
			if msg, _ := r.body["error"].(string); r.code != tc.code || !strings.Contains(msg, tc.errHas) {
				t.Fatalf("%d %s, want %d mentioning %q", r.code, r.raw, tc.code, tc.errHas)
			}
			if tc.code != 200 && len(k.kicks) != 0 {
				t.Errorf("a refused request reached XMPP: %+v", k.kicks)
			}
			if strings.Contains(logs.String(), strings.TrimPrefix(tc.authz, "Bearer ")) {
				t.Errorf("the log holds the credential: %s", logs.String())
			}
			if tc.code == 401 && len(r.header.Values("WWW-Authenticate")) != 2 {
				t.Errorf("WWW-Authenticate %q, want Basic and Bearer", r.header.Values("WWW-Authenticate"))
			}
		})
	}
}

func TestRevokedByTokenID(t *testing.T) {
	tok, claims, _ := credential.IssueGrant(credKey, host, credential.Grant{Name: "fine-name"}, time.Hour, now)
	h := httpapi.New(&fakeKicker{}, httpapi.Options{CredentialKeys: [][]byte{credKey}, CredentialHost: host,
		Revoked: []string{claims.ID}, Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := do(t, h, "POST", "/muc_kick", "Bearer "+tok, `{"nickname":"Bob","muc":"a@conference.example.org"}`)
	if r.code != 401 || !strings.Contains(r.raw, claims.ID) {
		t.Fatalf("%d %s", r.code, r.raw)
	}
}

func tamper(authz string) string {
	parts := strings.Split(authz, ".")
	parts[1] = parts[1][:len(parts[1])-2] + "xx"
	return strings.Join(parts, ".")
}

func TestAuditLogNamesTheClient(t *testing.T) {
	var logs bytes.Buffer
	do(t, authHandler(&fakeKicker{}, &clock{t: now}, &logs), "POST", "/muc_kick", "Basic aGFzaGVkOmhhc2hlZA==", `{"nickname":"Bob","muc":"r@conference.example.org","reason":"x"}`)
	line := logs.String()
	for _, want := range []string{"msg=kick", "client=hashed", "room=r@conference.example.org", "nick=Bob", "status=200", "outcome=kicked", "duration=", "remote="} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "aGFzaGVk") {
		t.Errorf("audit line holds the credential: %s", line)
	}
}

func TestRateLimit(t *testing.T) {
	clk := &clock{t: now}
	k := &fakeKicker{}
	h := authHandler(k, clk, io.Discard)
	body := `{"nickname":"Bob","muc":"r@conference.example.org"}`
	for i := range 2 { // the burst
		if r := do(t, h, "POST", "/muc_kick", "Basic c2xvdzpzbG93", body); r.code != 200 {
			t.Fatalf("request %d: %d", i, r.code)
		}
	}
	r := do(t, h, "POST", "/muc_kick", "Basic c2xvdzpzbG93", body)
	if r.code != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("third request: %d, Retry-After %q: %s", r.code, r.header.Get("Retry-After"), r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", "Basic cGxhaW46cGxhaW4=", body); r.code != 200 {
		t.Errorf("another client is not limited: %d", r.code)
	}
	clk.Advance(time.Second)
	if r := do(t, h, "POST", "/muc_kick", "Basic c2xvdzpzbG93", body); r.code != 200 {
		t.Errorf("after a second: %d", r.code)
	}
	if len(k.kicks) != 4 {
		t.Errorf("%d kicks reached XMPP, want 4", len(k.kicks))
	}
}

// blockingKicker holds every kick until released; what it does not
// define never reaches it.
type blockingKicker struct {
	httpapi.Moderator
	started chan struct{}
	release chan struct{}
}

func (b *blockingKicker) Kick(ctx context.Context, _ jid.JID, _, _ string) error {
	b.started <- struct{}{}
	<-b.release
	return nil
}

func (b *blockingKicker) KickJID(context.Context, jid.JID, jid.JID, string) ([]string, error) {
	return nil, nil
}
func (b *blockingKicker) Ban(context.Context, jid.JID, jid.JID, string) error { return nil }
func (b *blockingKicker) Unban(context.Context, jid.JID, jid.JID) (bool, error) {
	return true, nil
}

func TestMaxInFlight(t *testing.T) {
	k := &blockingKicker{started: make(chan struct{}, 10), release: make(chan struct{})}
	h := httpapi.New(k, httpapi.Options{AuthorizationHeader: auth, MaxInFlight: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := `{"nickname":"Bob","muc":"r@conference.example.org"}`
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); do(t, h, "POST", "/muc_kick", auth, body) }()
	}
	<-k.started
	<-k.started
	r := do(t, h, "POST", "/muc_kick", auth, body)
	if r.code != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.raw, "in flight") {
		t.Errorf("beyond max_in_flight: %d %s", r.code, r.raw)
	}
	close(k.release)
	wg.Wait()
	if r := do(t, h, "POST", "/muc_kick", auth, body); r.code != 200 {
		t.Errorf("after the others finished: %d", r.code)
	}
}

func TestMatchRoom(t *testing.T) {
	for _, tc := range []struct {
		pattern, room string
		want          bool
	}{
		{"*@conference.example.org", "a@conference.example.org", true},
		{"*@conference.example.org", "a@conference.example.org.evil", false},
		{"*@conference.example.org", "a@evil-conference.example.org", false},
		{"team-*@conference.example.org", "team-@conference.example.org", true},
		{"team-*@conference.example.org", "team-red@conference.example.org", true},
		{"team-*@conference.example.org", "xteam-red@conference.example.org", false},
		{"a*b*c@x", "a123b456c@x", true},
		{"a*b*c@x", "a123c@x", false},
		{"lobby@x", "lobby@x", true},
		{"lobby@x", "lobby2@x", false},
	} {
		if got := httpapi.MatchRoom(tc.pattern, tc.room); got != tc.want {
			t.Errorf("MatchRoom(%q, %q) = %v", tc.pattern, tc.room, got)
		}
	}
}

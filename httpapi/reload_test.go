package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/credential"
)

const body = `{"nickname":"Bob","muc":"r@conference.example.org"}`

func TestSignedCredentialRate(t *testing.T) {
	clk := &clock{t: now}
	h := httpapi.New(&fakeKicker{}, httpapi.Options{CredentialKeys: [][]byte{credKey}, CredentialHost: host,
		CredentialRate: 1, CredentialBurst: 2, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	plain := token(t, credKey, host, "plain", nil, time.Hour)
	other := token(t, credKey, host, "other", nil, time.Hour)
	own, _, _ := credential.IssueGrant(credKey, host, credential.Grant{Name: "own", Rate: 5, Burst: 5}, time.Hour, now)
	for i := range 2 {
		if r := do(t, h, "POST", "/muc_kick", plain, body); r.code != 200 {
			t.Fatalf("request %d within the default burst: %d %s", i+1, r.code, r.raw)
		}
	}
	r := do(t, h, "POST", "/muc_kick", plain, body)
	if r.code != 429 || r.header.Get("Retry-After") != "1" || !strings.Contains(r.raw, `\"plain\" may try again in 1s`) {
		t.Fatalf("beyond the default burst: %d %q %s", r.code, r.header.Get("Retry-After"), r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", other, body); r.code != 200 {
		t.Errorf("another credential has its own limit: %d", r.code)
	}
	for i := range 5 {
		if r := do(t, h, "POST", "/muc_kick", "Bearer "+own, body); r.code != 200 {
			t.Fatalf("request %d within the credential's own burst of 5: %d", i+1, r.code)
		}
	}
	if r := do(t, h, "POST", "/muc_kick", "Bearer "+own, body); r.code != 429 {
		t.Errorf("beyond the credential's own burst: %d", r.code)
	}
	clk.Advance(time.Second)
	if r := do(t, h, "POST", "/muc_kick", plain, body); r.code != 200 {
		t.Errorf("a second later: %d", r.code)
	}
}

func TestUpdateCredentials(t *testing.T) {
	clk := &clock{t: now}
	var logs bytes.Buffer
	tok, claims, _ := credential.IssueGrant(credKey, host, credential.Grant{Name: "shop"}, time.Hour, now)
	h := httpapi.New(&fakeKicker{}, httpapi.Options{
		Clients:        []httpapi.Client{{Name: "a", Header: "Basic YTph"}, {Name: "b", Header: "Basic Yjpi", Rooms: []string{"b@conference.example.org"}}},
		CredentialKeys: [][]byte{credKey}, CredentialHost: host, Revoked: []string{"gone"},
		Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if r := do(t, h, "POST", "/muc_kick", "Bearer "+tok, body); r.code != 200 {
		t.Fatalf("before: %d %s", r.code, r.raw)
	}
	// The audit line shows the whole id, as http.revoked takes it.
	if !strings.Contains(logs.String(), "client=shop credential_id="+claims.ID+" ") {
		t.Errorf("audit line without the revocable id: %s", logs.String())
	}
	changes := h.Update(httpapi.Auth{
		Clients: []httpapi.Client{{Name: "a", Header: "Basic YTph"}, {Name: "b", Header: "Basic Yjpi"}, {Name: "c", Header: "Basic Yzpj"}},
		Revoked: []string{claims.ID}, CredentialRate: 3, CredentialKeys: [][]byte{credKey},
	})
	want := []string{"client b changed", "client c added", "revoked " + claims.ID, "no longer revoked gone", "signed credentials' default rate 3/s, burst 0"}
	if !slices.Equal(changes, want) {
		t.Errorf("changes\n got %q\nwant %q", changes, want)
	}
	if r := do(t, h, "POST", "/muc_kick", "Bearer "+tok, body); r.code != 401 || !strings.Contains(r.raw, "(id "+claims.ID+") is revoked") {
		t.Errorf("after revocation by id: %d %s", r.code, r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", "Basic Yzpj", body); r.code != 200 {
		t.Errorf("the new client: %d %s", r.code, r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", "Basic Yjpi", body); r.code != 200 {
		t.Errorf("the widened client: %d %s", r.code, r.raw)
	}
	if changes := h.Update(httpapi.Auth{Clients: []httpapi.Client{{Name: "c", Header: "Basic Yzpj"}}, CredentialRate: 3, CredentialKeys: [][]byte{credKey}}); !slices.Equal(changes, []string{"client a removed", "client b removed", "no longer revoked " + claims.ID}) {
		t.Errorf("changes %q", changes)
	}
	if r := do(t, h, "POST", "/muc_kick", "Basic YTph", body); r.code != 401 {
		t.Errorf("a removed client: %d", r.code)
	}
}

// A key given in an update verifies the tokens it signed from then on, and
// a key left out no longer does: SIGHUP rotates keys (issue 22).
func TestUpdateRotatesCredentialKeys(t *testing.T) {
	newKey := []byte("another key of at least thirty-two bytes, for rotation")
	h := httpapi.New(&fakeKicker{}, httpapi.Options{CredentialKeys: [][]byte{credKey}, CredentialHost: host,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	oldTok := token(t, credKey, host, "old", nil, time.Hour)
	newTok := token(t, newKey, host, "new", nil, time.Hour)
	if r := do(t, h, "POST", "/muc_kick", oldTok, body); r.code != 200 {
		t.Fatalf("a token of the key in use: %d %s", r.code, r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", newTok, body); r.code != 401 {
		t.Fatalf("a token of a key not given yet: %d %s", r.code, r.raw)
	}
	h.Update(httpapi.Auth{CredentialKeys: [][]byte{newKey}})
	if r := do(t, h, "POST", "/muc_kick", newTok, body); r.code != 200 {
		t.Errorf("a token of the new key: %d %s", r.code, r.raw)
	}
	if r := do(t, h, "POST", "/muc_kick", oldTok, body); r.code != 401 {
		t.Errorf("a token of the removed key: %d %s", r.code, r.raw)
	}
}

// A signed credential takes the actions of its "act" claim, and one without
// the claim keeps kick, ban and unban (issue 21).
func TestSignedCredentialActions(t *testing.T) {
	h := httpapi.New(&fakeKicker{}, httpapi.Options{CredentialKeys: [][]byte{credKey}, CredentialHost: host,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	kickOnly, _, err := credential.IssueGrant(credKey, host, credential.Grant{Name: "kicker", Actions: []string{"kick"}}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	old := token(t, credKey, host, "old", nil, time.Hour)
	ban := `{"jid":"bob@example.org","muc":"r@conference.example.org"}`
	for _, tc := range []struct {
		authz, path, body string
		code              int
	}{
		{"Bearer " + kickOnly, "/muc_kick", body, 200},
		{"Bearer " + kickOnly, "/muc_ban", ban, 403},
		{"Bearer " + kickOnly, "/muc_unban", ban, 403},
		{old, "/muc_kick", body, 200},
		{old, "/muc_ban", ban, 200},
		{old, "/muc_unban", ban, 200},
	} {
		r := do(t, h, "POST", tc.path, tc.authz, tc.body)
		if r.code != tc.code || tc.code == 403 && !strings.Contains(r.raw, "may not") {
			t.Errorf("%s with %.20s…: %d %s, want %d", tc.path, tc.authz, r.code, r.raw, tc.code)
		}
	}
}

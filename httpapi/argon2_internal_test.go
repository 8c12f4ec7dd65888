package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
	"golang.org/x/crypto/argon2"
)

// nopModerator kicks, bans and unbans; nothing else reaches it.
type nopModerator struct{ Moderator }

func (nopModerator) Kick(context.Context, jid.JID, string, string) error { return nil }
func (nopModerator) KickJID(context.Context, jid.JID, jid.JID, string) ([]string, error) {
	return []string{"n"}, nil
}
func (nopModerator) Ban(context.Context, jid.JID, jid.JID, string) error   { return nil }
func (nopModerator) Unban(context.Context, jid.JID, jid.JID) (bool, error) { return true, nil }

// cheapArgon2id hashes value with the smallest parameters the
// configuration takes (8 MiB, one pass), for tests.
func cheapArgon2id(value string) string {
	h := credential.Argon2id{Memory: 8 << 10, Time: 1, Threads: 1, Salt: make([]byte, 16)}
	rand.Read(h.Salt)
	h.Hash = argon2.IDKey([]byte(value), h.Salt, h.Time, h.Memory, h.Threads, 32)
	return h.String()
}

func post(h *Handler, remote, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/muc_kick", strings.NewReader(`{"nickname":"Bob","muc":"r@conference.example.org"}`))
	req.RemoteAddr = remote
	req.Header.Set("Authorization", authz)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestArgon2idClientIsVerifiedOnce: a client known by its argon2id hash is
// let in with its value, which pays argon2id once and is then remembered;
// a wrong value is a 401; after an Update the value is verified again.
func TestArgon2idClientIsVerifiedOnce(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const value = "Basic c2xvdzpzZWNyZXQ="
	auth := Auth{Clients: []Client{{Name: "plain", Header: "Basic cGxhaW46cGxhaW4="}, {Name: "hashed", Argon2id: cheapArgon2id(value)}}}
	h := New(nopModerator{}, Options{Clients: auth.Clients, Now: func() time.Time { return clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i := range 30 {
		if rec := post(h, "192.0.2.1:1000", value); rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if h.api.argon.runs != 1 {
		t.Errorf("%d argon2id verifications for 30 requests with one value, want 1", h.api.argon.runs)
	}
	if rec := post(h, "192.0.2.2:1000", "Basic d3Jvbmc="); rec.Code != 401 || h.api.argon.runs != 2 {
		t.Errorf("a wrong value: %d after %d verifications", rec.Code, h.api.argon.runs)
	}
	if rec := post(h, "192.0.2.2:1000", "Basic cGxhaW46cGxhaW4="); rec.Code != 200 || h.api.argon.runs != 2 {
		t.Errorf("a client known by its header: %d, %d verifications", rec.Code, h.api.argon.runs)
	}
	auth.Clients[1].Argon2id = cheapArgon2id(value)
	if changes := h.Update(auth); len(changes) != 1 || changes[0] != "client hashed changed" {
		t.Errorf("Update: %q", changes)
	}
	if rec := post(h, "192.0.2.1:1000", value); rec.Code != 200 || h.api.argon.runs != 3 {
		t.Errorf("after Update: %d, %d verifications, want 3", rec.Code, h.api.argon.runs)
	}
}

// TestArgon2idFloodIsBounded: wrong values cost argon2id only within the
// limits: an address is throttled after its burst of failures before its
// value is looked at, and all addresses together get argonBurst, then
// argonRate a second; beyond, a new value is a 503 while one verified before
// still passes.
func TestArgon2idFloodIsBounded(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const value = "Basic c2xvdzpzZWNyZXQ="
	h := New(nopModerator{}, Options{Clients: []Client{{Name: "hashed", Argon2id: cheapArgon2id(value)}},
		Now: func() time.Time { return clock }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if rec := post(h, "192.0.2.1:1000", value); rec.Code != 200 {
		t.Fatalf("the right value: %d", rec.Code)
	}
	for i := range 50 { // one address
		rec := post(h, "198.51.100.1:1000", fmt.Sprintf("Basic guess%d", i))
		if want := 401; i >= DefaultFailureBurst && rec.Code != 429 || i < DefaultFailureBurst && rec.Code != want {
			t.Fatalf("guess %d from one address: %d", i, rec.Code)
		}
	}
	if got := h.api.argon.runs; got != 1+DefaultFailureBurst {
		t.Errorf("%d verifications, want %d: a throttled address pays none", got, 1+DefaultFailureBurst)
	}
	busy := 0
	for i := range 100 { // many addresses
		rec := post(h, fmt.Sprintf("203.0.113.%d:1000", i), "Basic other")
		switch {
		case rec.Code == 503 && strings.Contains(rec.Body.String(), "too many new credentials to verify") && rec.Header().Get("Retry-After") != "":
			busy++
		case rec.Code != 401:
			t.Fatalf("guess from address %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if got := h.api.argon.runs; got != argonBurst || busy != 100-(argonBurst-1-DefaultFailureBurst) {
		t.Errorf("%d verifications (want %d), %d answered busy", got, argonBurst, busy)
	}
	if rec := post(h, "192.0.2.1:1000", value); rec.Code != 200 {
		t.Errorf("a value verified before, during the flood: %d", rec.Code)
	}
}

// Past maxCredentialLimiters credentials in use, a new one still gets a
// limiter that is kept: its next request is limited too.
func TestCredentialLimiterWhenFull(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(nopModerator{}, Options{CredentialRate: 1, CredentialBurst: 1, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a := h.api
	for i := range maxCredentialLimiters {
		l := a.credentialLimiter(credential.Claims{ID: fmt.Sprint("busy-", i)})
		l.AllowN(now, 1) // in use: not full again yet
	}
	first := a.credentialLimiter(credential.Claims{ID: "new"})
	if !first.AllowN(now, 1) {
		t.Fatal("a new credential's first request is limited")
	}
	if again := a.credentialLimiter(credential.Claims{ID: "new"}); again != first || again.AllowN(now, 1) {
		t.Error("a new credential past the table's size is not limited on its second request")
	}
	if len(a.credLimits) > maxCredentialLimiters {
		t.Errorf("%d limiters kept, at most %d", len(a.credLimits), maxCredentialLimiters)
	}
}

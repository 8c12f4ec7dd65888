package httpapi_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/credential"
)

// TestActionsLimitWhatAClientMayDo: an action a client was not given is a
// 403 naming it, before any stanza is sent, with its own outcome word and
// an audit line that says the action; a client that names no actions keeps
// kick, ban and unban, as do signed credentials (their claims name none
// yet) and the single authorization header.
func TestActionsLimitWhatAClientMayDo(t *testing.T) {
	var mu sync.Mutex
	outcomes := map[string]int{}
	logs := &lineWriter{}
	k := &fakeKicker{}
	h := httpapi.New(k, httpapi.Options{
		AuthorizationHeader: auth,
		Clients: []httpapi.Client{
			{Name: "kicker", Header: "Basic a2lja2VyOmtpY2tlcg==", Actions: credential.ActionsOf(credential.Kick)},
			{Name: "untouched", Header: "Basic dW50b3VjaGVkOnVudG91Y2hlZA=="},
		},
		CredentialKeys: [][]byte{credKey},
		CredentialHost: host,
		Now:            func() time.Time { return now },
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
		Observe:        func(o string, _ int, _ time.Duration) { mu.Lock(); outcomes[o]++; mu.Unlock() },
	})
	const kickBody, jidBody = `{"nickname":"Bob","muc":"r@conference.example.org"}`, `{"jid":"bob@example.org","muc":"r@conference.example.org"}`
	for _, tc := range []struct {
		authz, path, body string
		code              int
		err               string
	}{
		{"Basic a2lja2VyOmtpY2tlcg==", "/muc_ban", jidBody, 403, `this client may not ban (client "kicker" may: kick)`},
		{"Basic a2lja2VyOmtpY2tlcg==", "/muc_unban", jidBody, 403, `this client may not unban (client "kicker" may: kick)`},
		{"Basic a2lja2VyOmtpY2tlcg==", "/muc_kick", kickBody, 200, ""},
		{"Basic dW50b3VjaGVkOnVudG91Y2hlZA==", "/muc_kick", kickBody, 200, ""},
		{"Basic dW50b3VjaGVkOnVudG91Y2hlZA==", "/muc_ban", jidBody, 200, ""},
		{"Basic dW50b3VjaGVkOnVudG91Y2hlZA==", "/muc_unban", jidBody, 200, ""},
		{auth, "/muc_ban", jidBody, 200, ""},
		{auth, "/muc_unban", jidBody, 200, ""},
		{token(t, credKey, host, "signed", nil, time.Hour), "/muc_ban", jidBody, 200, ""},
		{token(t, credKey, host, "signed", nil, time.Hour), "/muc_unban", jidBody, 200, ""},
	} {
		k.mu.Lock()
		before := len(k.kicks)
		k.mu.Unlock()
		r := do(t, h, "POST", tc.path, tc.authz, tc.body)
		k.mu.Lock()
		sent := len(k.kicks) - before
		k.mu.Unlock()
		if r.code != tc.code {
			t.Errorf("%s by %s: %d, want %d: %s", tc.path, tc.authz, r.code, tc.code, r.raw)
			continue
		}
		if tc.code == 403 && (r.body["error"] != tc.err || sent != 0) {
			t.Errorf("%s by %s: error %q, %d stanzas sent; want %q and none", tc.path, tc.authz, r.body["error"], sent, tc.err)
		}
	}
	if outcomes["action-not-allowed"] != 2 {
		t.Errorf("outcomes %v, want 2 action-not-allowed", outcomes)
	}
	var refused string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "outcome=action-not-allowed") {
			refused += line
		}
	}
	if !strings.Contains(refused, "msg=ban client=kicker") || !strings.Contains(refused, "msg=unban client=kicker") || !strings.Contains(refused, "status=403") {
		t.Errorf("audit lines of the refusals:\n%s", refused)
	}
}

// TestUpdateReportsChangedActions: a client whose actions change is
// reported changed, and its new rights apply at once.
func TestUpdateReportsChangedActions(t *testing.T) {
	clients := []httpapi.Client{{Name: "kicker", Header: "Basic a2lja2VyOmtpY2tlcg=="}}
	h := httpapi.New(&fakeKicker{}, httpapi.Options{Clients: clients, Logger: slog.New(slog.DiscardHandler)})
	clients[0].Actions = credential.ActionsOf(credential.Kick)
	if changes := h.Update(httpapi.Auth{Clients: clients}); len(changes) != 1 || changes[0] != "client kicker changed" {
		t.Errorf("Update: %q", changes)
	}
	if r := do(t, h, "POST", "/muc_ban", "Basic a2lja2VyOmtpY2tlcg==", `{"jid":"bob@example.org","muc":"r@conference.example.org"}`); r.code != 403 {
		t.Errorf("a ban after the update: %d %s", r.code, r.raw)
	}
}

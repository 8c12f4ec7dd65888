package httpapi_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
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

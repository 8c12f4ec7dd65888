package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// partialKicker kicks some by JID, then fails.
type partialKicker struct {
	fakeKicker
	kicked []string
	err    error
}

func (p *partialKicker) KickJID(context.Context, jid.JID, jid.JID, string) ([]string, error) {
	return p.kicked, p.err
}

// A kick by JID that fails part-way says who was kicked, with the failing
// status; one that kicked nobody is a plain error.
func TestKickByJIDFailingPartWay(t *testing.T) {
	body := `{"jid":"bob@example.org","muc":"r@conference.example.org"}`
	for _, tc := range []struct {
		name   string
		kicked []string
		err    error
		code   int
		want   string
	}{
		{"refused after one", []string{"Bob"}, fmt.Errorf("%w (not-allowed)", muc.ErrRefused), 403,
			`{"error":"the server refused the kick (not-allowed)","kicked":["Bob"],"muc":"r@conference.example.org"}`},
		{"stream lost after two", []string{"Bob", "Bob (phone)"}, muc.ErrStreamLost, 503,
			`{"error":"the connection to the XMPP server was lost before it answered; the kick may or may not have happened","kicked":["Bob","Bob (phone)"],"muc":"r@conference.example.org"}`},
		{"nobody kicked", nil, fmt.Errorf("%w (not-allowed)", muc.ErrRefused), 403,
			`{"error":"the server refused the kick (not-allowed)"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, newHandler(&partialKicker{kicked: tc.kicked, err: tc.err}, true), "POST", "/muc_kick", auth, body)
			got, _ := json.Marshal(r.body)
			if r.code != tc.code || string(got) != tc.want {
				t.Errorf("got %d %s\nwant %d %s", r.code, got, tc.code, tc.want)
			}
		})
	}
}

// slowKicker kicks one session by JID, then waits for the next answer until
// the request's deadline.
type slowKicker struct{ fakeKicker }

func (*slowKicker) KickJID(ctx context.Context, _, _ jid.JID, _ string) ([]string, error) {
	<-ctx.Done()
	return []string{"Bob"}, ctx.Err()
}

// A request that outlives RequestTimeout answers 504 with what it did so far,
// before the HTTP server's own write timeout would cut the connection.
func TestRequestTimeout(t *testing.T) {
	h := httpapi.New(&slowKicker{}, httpapi.Options{
		AuthorizationHeader: auth,
		Ready:               func() bool { return true },
		RequestTimeout:      50 * time.Millisecond,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	r := do(t, h, "POST", "/muc_kick", auth, `{"jid":"bob@example.org","muc":"r@conference.example.org"}`)
	got, _ := json.Marshal(r.body)
	want := `{"error":"the request did not finish in time; what it did so far may have happened","kicked":["Bob"],"muc":"r@conference.example.org"}`
	if r.code != 504 || string(got) != want {
		t.Errorf("got %d %s\nwant 504 %s", r.code, got, want)
	}
}

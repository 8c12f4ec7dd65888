package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// warmKickAllocs bounds the allocations of one warm kick, whole process:
// the request and its recorder, muc-kick's handler, the kick IQ out, its
// result and the room's 307 presence in, and the fake server's side of
// both. Measured 2026-12-05 (Go 1.26.8): 205. Raise it only with a
// reason in the commit.
const warmKickAllocs = 208

// raceAllocs is what the race detector adds to a warm kick's allocations:
// under it, sync.Pool drops a share of what is put back (net/http's and
// encoding/json's buffers), so that more are made anew. Measured
// 2026-12-05 with -race: 209–210.
const raceAllocs = 10

// roomDomain is the MUC service of the warm-kick tests.
const roomDomain = "conference.example.org"

// warmRoom plays a room on a MUC service as Prosody does for a kick: a kick
// from outside the room is refused (not-allowed), an entry is answered with
// a moderator's self-presence, and a kick from inside first broadcasts the
// kicked occupant's unavailable presence with status 307 (muc-kick, an
// occupant, gets it), then answers the IQ.
func warmRoom(c *fakeserver.Conn, s fakeserver.Stanza) {
	switch {
	case s.Name == "presence" && s.Type == "":
		c.Send(fmt.Sprintf("<presence from='%s' to='%s'><x xmlns='http://jabber.org/protocol/muc#user'>"+
			"<item affiliation='owner' role='moderator'/><status code='110'/></x></presence>", s.To, s.From))
	case s.Name == "iq" && s.Type == "set" && !strings.Contains(s.From, "/"):
		c.Send(fakeserver.Error(s, "cancel", "not-allowed", ""))
	case s.Name == "iq" && s.Type == "set":
		c.Send("<presence from='" + s.To + "/Bob' to='" + s.From + "' type='unavailable'>" +
			"<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none' jid='bob@example.org/web'>" +
			"<actor nick='kickbot'/><reason>spam</reason></item><status code='307'/></x></presence>")
		c.Send(fakeserver.Result(s))
	default:
		fakeserver.AnswerResult(c, s)
	}
}

// warmKick wires muc-kick as the daemon does (New) against a fake server
// playing warmRoom, enters the room with a first kick, and returns a
// function that carries out one warm kick through the HTTP handler, called
// directly, and reports its status.
func warmKick(tb testing.TB) func() int {
	srv := fakeserver.Start(tb, "kick.example.org", "s3cret")
	srv.Handle(warmRoom)
	cfg, err := config.Parse([]byte(`[component]
server = "` + srv.Addr + `"
domain = "kick.example.org"
secret = "s3cret"

[muc]
domains = ["` + roomDomain + `"]
nick = "kickbot"
linger = "1h"

[http]
listen = "127.0.0.1:0"
authorization_header = "Basic a2ljazpraWNr"
`))
	if err != nil {
		tb.Fatal(err)
	}
	// Info, as by default: each kick writes its audit line.
	a := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Component.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	for start := time.Now(); !a.Component.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			tb.Fatalf("not ready after 10s: %v", a.Component.NotReady())
		}
	}
	body := `{"nickname": "Bob", "muc": "room@` + roomDomain + `", "reason": "spam"}`
	kick := func() int {
		req := httptest.NewRequest(http.MethodPost, "/muc_kick", strings.NewReader(body))
		req.Header.Set("Authorization", "Basic a2ljazpraWNr")
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, req)
		return w.Code
	}
	if code := kick(); code != http.StatusOK { // enters the room
		tb.Fatalf("first kick: HTTP %d", code)
	}
	if a.Rooms.Entries() != 1 {
		tb.Fatalf("%d entries after the first kick, want 1", a.Rooms.Entries())
	}
	return kick
}

// TestWarmKickAllocations keeps the allocations of a warm kick (the
// component in the room: one request, one IQ, its result and the room's
// 307) from growing past warmKickAllocs.
func TestWarmKickAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations over 200 kicks")
	}
	kick := warmKick(t)
	failed := 0
	allocs := testing.AllocsPerRun(200, func() {
		if kick() != http.StatusOK {
			failed++
		}
	})
	if failed > 0 {
		t.Fatalf("%d warm kicks failed", failed)
	}
	bound := warmKickAllocs
	if testkit.RaceEnabled() {
		bound += raceAllocs
	}
	t.Logf("%.0f allocations per warm kick (bound %d)", allocs, bound)
	if allocs > float64(bound) {
		t.Errorf("%.0f allocations per warm kick, more than %d", allocs, bound)
	}
}

// BenchmarkWarmKick measures one warm kick through muc-kick's handler
// (go test -bench WarmKick -benchmem ./internal/app/): what
// TestWarmKickAllocations bounds, with its time and bytes.
func BenchmarkWarmKick(b *testing.B) {
	kick := warmKick(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if code := kick(); code != http.StatusOK {
			b.Fatalf("HTTP %d", code)
		}
	}
}

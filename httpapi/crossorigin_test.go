package httpapi_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
)

// TestCrossOriginRequestsAreRefused: what a browser sends for another
// site's page (a text/plain POST is a "simple" request, sent without a
// preflight, with the browser's stored Basic credentials) is a JSON 403
// before any stanza is sent; what servers and curl send, without
// Sec-Fetch-Site or Origin, works as before, and so does a same-origin one.
func TestCrossOriginRequestsAreRefused(t *testing.T) {
	var mu sync.Mutex
	outcomes := map[string]int{}
	k := &fakeKicker{}
	h := httpapi.New(k, httpapi.Options{
		AuthorizationHeader: auth,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observe:             func(o string, _ int, _ time.Duration) { mu.Lock(); outcomes[o]++; mu.Unlock() },
	})
	const body = `{"nickname":"Bob","muc":"r@conference.example.org"}`
	for _, tc := range []struct {
		name    string
		headers []string
		code    int
	}{
		{"curl", nil, 200},
		{"text/plain, cross-site", []string{"Content-Type", "text/plain", "Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site is still another origin", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"foreign Origin, no Sec-Fetch-Site", []string{"Content-Type", "text/plain", "Origin", "https://evil.example"}, 403},
		{"same-origin page", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}, 200},
		{"typed in by the user", []string{"Sec-Fetch-Site", "none"}, 200},
		{"Origin of this host", []string{"Origin", "http://example.com"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k.mu.Lock()
			before := len(k.kicks)
			k.mu.Unlock()
			req := httptest.NewRequest("POST", "/muc_kick", strings.NewReader(body)) // Host: example.com
			req.Header.Set("Authorization", auth)
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			k.mu.Lock()
			sent := len(k.kicks) - before
			k.mu.Unlock()
			if tc.code == 403 {
				const want = `{"error":"cross-origin requests from web browsers are refused: call this API from a server, not from a web page"}` + "\n"
				if rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
					t.Errorf("body %q (%s), want %q", rec.Body, rec.Header().Get("Content-Type"), want)
				}
				if sent != 0 {
					t.Errorf("%d kicks reached XMPP", sent)
				}
			} else if sent != 1 {
				t.Errorf("%d kicks reached XMPP, want 1", sent)
			}
		})
	}
	if outcomes["cross-origin"] != 3 || outcomes["kicked"] != 4 {
		t.Errorf("outcomes %v, want 3 cross-origin and 4 kicked", outcomes)
	}
}

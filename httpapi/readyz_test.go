package httpapi_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/muc-kick/muc-kick/httpapi"
)

// TestReadyzDetailOnlyForLocalOrAuthorized: why muc-kick is not ready is
// said to a loopback peer that is not a proxy and to an authenticated
// caller; everyone else gets the 503 and a generic body.
func TestReadyzDetailOnlyForLocalOrAuthorized(t *testing.T) {
	const why = "standing by: another instance holds the component domain"
	h := httpapi.New(&fakeKicker{}, httpapi.Options{
		AuthorizationHeader: auth,
		Ready:               func() bool { return false },
		NotReady:            func() error { return errors.New(why) },
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, tc := range []struct {
		name, remote string
		headers      []string
		want         string
	}{
		{"a remote peer", "192.0.2.1:1234", nil, `{"error":"not ready"}`},
		{"a remote peer, authenticated", "192.0.2.1:1234", []string{"Authorization", auth}, `{"error":"` + why + `"}`},
		{"a remote peer, wrong credential", "192.0.2.1:1234", []string{"Authorization", "Basic d3Jvbmc="}, `{"error":"not ready"}`},
		{"loopback", "127.0.0.1:5000", nil, `{"error":"` + why + `"}`},
		{"IPv6 loopback", "[::1]:5000", nil, `{"error":"` + why + `"}`},
		{"a proxy on loopback", "127.0.0.1:5000", []string{"X-Forwarded-For", "192.0.2.9"}, `{"error":"not ready"}`},
		{"a proxy on loopback, Forwarded", "127.0.0.1:5000", []string{"Forwarded", "for=192.0.2.9"}, `{"error":"not ready"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/readyz", nil)
			req.RemoteAddr = tc.remote
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" || rec.Body.String() != tc.want+"\n" {
				t.Errorf("%d, Retry-After %q, body %q; want 503, 5, %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body, tc.want)
			}
		})
	}
}

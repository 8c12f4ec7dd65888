package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/muc"
)

// TestAbsentHeader: with Muc-Kick-Absent: ok, a kick of an occupant who is
// not there is a 200 that says so; without it (mod_http_muc_kick's clients)
// the answer is the 404 it always was. Other errors are untouched.
func TestAbsentHeader(t *testing.T) {
	notFound := fmt.Errorf("%w (x)", muc.ErrOccupantNotFound)
	for _, tc := range []struct {
		header string
		err    error
		code   int
		body   string
	}{
		{"", notFound, 404, `"error"`},
		{"ok", notFound, 200, `"absent":["Bob"],"kicked":[],"muc":"r@conference.example.org"}`},
		{"yes", notFound, 404, `"error"`},
		{"ok", nil, 200, `{"kicked":["Bob"],"muc":"r@conference.example.org"}`},
		{"ok", fmt.Errorf("%w (x)", muc.ErrRoomNotFound), 404, `"error"`},
	} {
		t.Run(tc.header+" "+fmt.Sprint(tc.err), func(t *testing.T) {
			req := httptest.NewRequest("POST", "/muc_kick", strings.NewReader(`{"nickname":"Bob","muc":"r@conference.example.org"}`))
			req.Header.Set("Authorization", auth)
			if tc.header != "" {
				req.Header.Set(httpapi.AbsentHeader, tc.header)
			}
			w := httptest.NewRecorder()
			newHandler(&fakeKicker{err: tc.err}, true).ServeHTTP(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) || !json.Valid(w.Body.Bytes()) {
				t.Errorf("%d %s, want %d with %s", w.Code, w.Body, tc.code, tc.body)
			}
		})
	}
}

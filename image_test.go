package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealthcheckCmd runs `muc-kick healthcheck` against a server that
// answers 200, one that answers 503 and an address where nothing listens.
func TestHealthcheckCmd(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name   string
		status int
		args   []string
		code   int
		output string // in stdout on success, else in stderr
	}{
		{"healthy", 200, []string{"-url", srv.URL + "/healthz"}, exitOK, "answered 200 OK"},
		{"unhealthy", 503, []string{"-url", srv.URL + "/healthz"}, exitFailure, "answered 503 Service Unavailable"},
		{"wrong path", 200, []string{"-url", srv.URL + "/nothing"}, exitFailure, "answered 404 Not Found"},
		{"nothing listens", 200, []string{"-url", closed.URL + "/healthz"}, exitFailure, "connection refused"},
		{"bad flag", 200, []string{"-nope"}, exitConfig, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int32(tc.status))
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"healthcheck"}, tc.args...), &stdout, &stderr)
			output := stderr.String()
			if tc.code == exitOK {
				output = stdout.String()
			}
			if code != tc.code || !strings.Contains(output, tc.output) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d with %q", code, stdout.String(), stderr.String(), tc.code, tc.output)
			}
		})
	}
}

package app

import (
	"log/slog"

	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/config"
)

// TestLimitListener checks that a third connection waits until one of two
// open ones closes.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(100 * time.Millisecond): // no event to wait for: the absence of one
	}
	first.Close()
	if c := <-accepted; c == nil {
		t.Fatal("the third connection was not accepted after one closed")
	}
	second.Close()
	ln.Close()
	for range accepted { // Accept returns once the listener is closed
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("metrics")) }))
	for _, tt := range []struct {
		remote, header string
		want           int
	}{
		{"127.0.0.1:4000", "", 200},
		{"[::1]:4000", "", 200},
		{"[::ffff:127.0.0.1]:4000", "", 200},
		{"192.0.2.1:4000", "", 404},
		{"[2001:db8::1]:4000", "", 404},
		{"127.0.0.1:4000", "X-Forwarded-For", 404},
		{"127.0.0.1:4000", "Forwarded", 404},
		{"127.0.0.1:4000", "X-Real-Ip", 404},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = tt.remote
		if tt.header != "" {
			r.Header.Set(tt.header, "192.0.2.1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.remote, tt.header, w.Code, tt.want)
		}
	}
}

func TestDefaultIdleTimeout(t *testing.T) {
	if got := DefaultTimeouts(time.Second).Idle; got != 10*time.Second {
		t.Errorf("idle keep-alive %v, want 10s", got)
	}
}

// TestMetricsOnAPIListener checks the wiring: /metrics on the API's
// handler answers a loopback peer and no other.
func TestMetricsOnAPIListener(t *testing.T) {
	cfg, err := config.Parse([]byte("[component]\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n[http]\nauthorization_header = \"Basic dGVzdDp0ZXN0LXNlY3JldA==\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := New(cfg, slog.New(slog.DiscardHandler), nil)
	for remote, want := range map[string]int{"127.0.0.1:4000": 200, "192.0.2.1:4000": 404} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		d.Handler.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("/metrics from %s: %d, want %d", remote, w.Code, want)
		}
	}
}

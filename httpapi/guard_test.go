package httpapi_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/httpapi"
)

// lineWriter keeps log lines and hands those matching a pattern to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match *regexp.Regexp
	seen  chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.match != nil && w.match.Match(p) {
		w.seen <- string(p)
	}
	return w.buf.Write(p)
}

func (w *lineWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

func guardHandler(clk *clock, logs *lineWriter, observe func(string, int, time.Duration), trusted ...netip.Prefix) http.Handler {
	return httpapi.New(&fakeKicker{}, httpapi.Options{
		AuthorizationHeader: auth,
		Now:                 clk.Now,
		Logger:              slog.New(slog.NewTextHandler(logs, nil)),
		Observe:             observe,
		TrustedProxies:      trusted,
		FailureLogInterval:  time.Hour, // the tests that want a summary set less
	})
}

func from(h http.Handler, addr, authz string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/muc_kick", strings.NewReader(`{"nickname":"Bob","muc":"r@conference.example.org"}`))
	req.RemoteAddr = addr
	req.Header.Set("Authorization", authz)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFailedAuthenticationIsLimitedPerAddress(t *testing.T) {
	clk := &clock{t: now}
	outcomes := map[string]int{}
	var mu sync.Mutex
	h := guardHandler(clk, &lineWriter{}, func(o string, _ int, _ time.Duration) { mu.Lock(); outcomes[o]++; mu.Unlock() })
	const attacker, good = "192.0.2.66:4000", "192.0.2.7:5000"
	for i := range httpapi.DefaultFailureBurst {
		if rec := from(h, attacker, fmt.Sprintf("Basic guess%d", i)); rec.Code != 401 {
			t.Fatalf("failure %d: %d", i+1, rec.Code)
		}
	}
	for i := range 100 {
		rec := from(h, attacker, fmt.Sprintf("Basic more%d", i))
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `too many failed authentications from this address: \"192.0.2.66\" may try again in 1s`) {
			t.Fatalf("after the burst: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		// Another address is not held up at all, nor is its next failure.
		if rec := from(h, good, auth); rec.Code != 200 {
			t.Fatalf("a good client from another address: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := from(h, good, "Basic typo"); rec.Code != 401 {
		t.Fatalf("another address's first failure: %d", rec.Code)
	}
	// The attacker's address may try once a second.
	clk.Advance(time.Second)
	if rec := from(h, attacker, "Basic again"); rec.Code != 401 {
		t.Fatalf("a second later: %d", rec.Code)
	}
	if rec := from(h, attacker, auth); rec.Code != 429 {
		t.Fatalf("right after: %d (the limit comes before the credential is looked at)", rec.Code)
	}
	clk.Advance(time.Minute)
	if rec := from(h, attacker, auth); rec.Code != 200 {
		t.Fatalf("a minute later, the right credential: %d", rec.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if outcomes["unauthorized"] != httpapi.DefaultFailureBurst+2 || outcomes["throttled"] != 101 {
		t.Errorf("metric outcomes %v", outcomes)
	}
}

func TestFailuresAreSummarisedInTheLog(t *testing.T) {
	clk := &clock{t: now}
	summary := regexp.MustCompile(`msg="(\d+) failed attempts from 203\.0\.113\.5 in the last 200ms" remote=203\.0\.113\.5 `)
	logs := &lineWriter{match: summary, seen: make(chan string, 1000)}
	const interval = 200 * time.Millisecond
	h := httpapi.New(&fakeKicker{}, httpapi.Options{AuthorizationHeader: auth, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), FailureLogInterval: interval})
	start := time.Now()
	const flood = 4000
	for i := range flood {
		from(h, "203.0.113.5:1", fmt.Sprintf("Basic guess%d", i))
		if i%50 == 0 {
			clk.Advance(time.Second) // some get through to 401, most get 429
		}
	}
	windows := int(time.Since(start)/interval) + 1
	from(h, "203.0.113.6:1", auth)
	// Each window has the audit line of its first failure and, when more
	// followed, a summary that counts them all.
	total, summaries := 0, 0
	for total < flood {
		var n int
		fmt.Sscan(summary.FindStringSubmatch(<-logs.seen)[1], &n)
		total += n
		summaries++
		if audit := strings.Count(logs.String(), "remote=203.0.113.5:1"); total+audit-summaries == flood {
			break
		}
	}
	all := logs.String()
	audit := strings.Count(all, "remote=203.0.113.5:1")
	if total+audit-summaries != flood || audit > windows || summaries > windows {
		t.Errorf("%d requests: %d audit lines and %d summaries counting %d, in at most %d windows:\n%s", flood, audit, summaries, total, windows, all)
	}
	if !strings.Contains(all, "remote=203.0.113.6:1") {
		t.Errorf("the good request has no audit line:\n%s", all)
	}
}

func TestTrustedProxy(t *testing.T) {
	clk := &clock{t: now}
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	h := guardHandler(clk, &lineWriter{}, nil, proxy)
	for range httpapi.DefaultFailureBurst + 1 {
		from(h, "127.0.0.1:9000", "Basic guess", "X-Forwarded-For", "10.9.9.9, 198.51.100.66")
	}
	if rec := from(h, "127.0.0.1:9001", "Basic guess", "X-Forwarded-For", "198.51.100.66"); rec.Code != 429 {
		t.Errorf("the flooding client behind the proxy: %d", rec.Code)
	}
	if rec := from(h, "127.0.0.1:9002", auth, "X-Forwarded-For", "198.51.100.7"); rec.Code != 200 {
		t.Errorf("another client behind the same proxy: %d", rec.Code)
	}
	// From a peer that is not a trusted proxy, X-Forwarded-For is a lie.
	for range httpapi.DefaultFailureBurst + 1 {
		from(h, "192.0.2.1:1", "Basic guess", "X-Forwarded-For", "198.51.100.8")
	}
	if rec := from(h, "192.0.2.1:2", auth, "X-Forwarded-For", "198.51.100.9"); rec.Code != 429 {
		t.Errorf("a forged X-Forwarded-For escaped the limit: %d", rec.Code)
	}
	// An IPv6 client is limited by its /64.
	for range httpapi.DefaultFailureBurst + 1 {
		from(h, "[2001:db8:1:2::1]:1", "Basic guess")
	}
	if rec := from(h, "[2001:db8:1:2::ffff]:1", auth); rec.Code != 429 || !strings.Contains(rec.Body.String(), "2001:db8:1:2::/64") {
		t.Errorf("the same /64: %d %s", rec.Code, rec.Body)
	}
	if rec := from(h, "[2001:db8:1:3::1]:1", auth); rec.Code != 200 {
		t.Errorf("another /64: %d", rec.Code)
	}
}

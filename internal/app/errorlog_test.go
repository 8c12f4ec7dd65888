package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestErrorLogFlood sends 3,000 plain-HTTP connections to a TLS listener:
// net/http writes a "TLS handshake error" line for each, and the log holds
// the first few and one line counting the rest.
func TestErrorLogFlood(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	srv := NewHTTPServer(http.NotFoundHandler(), log, Timeouts{ReadHeader: time.Second, ErrorSummary: time.Hour})
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	const flood = 3000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < flood; i += 4 {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				io.Copy(io.Discard, c)
				c.Close()
			}
		})
	}
	wg.Wait()
	errs := srv.ErrorLog.Writer().(*errorSummary)
	for { // the server logs after it answered: wait for the last line
		errs.mu.Lock()
		n := errs.logged + errs.suppressed
		errs.mu.Unlock()
		if n == flood {
			break
		}
		time.Sleep(time.Millisecond)
	}
	errs.timer.Stop()
	errs.flush() // the end of the interval

	mu.Lock()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	mu.Unlock()
	if len(lines) != errorLogBurst+1 {
		t.Fatalf("%d log lines for %d failed handshakes, want %d:\n%s", len(lines), flood, errorLogBurst+1, strings.Join(lines[:min(len(lines), 10)], "\n"))
	}
	if !strings.Contains(lines[0], "http: TLS handshake error from 127.0.0.1:") {
		t.Errorf("first line: %s", lines[0])
	}
	var summary struct {
		Msg, Last string
		Count     int
	}
	if err := json.Unmarshal([]byte(lines[errorLogBurst]), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Count != flood-errorLogBurst || !strings.Contains(summary.Last, "client sent an HTTP request to an HTTPS server") || !strings.Contains(summary.Msg, "not logged") {
		t.Errorf("summary: %s", lines[errorLogBurst])
	}
	errs.Write([]byte("http: next\n")) // a new interval logs again
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "http: next") {
		t.Error("the next interval logs nothing")
	}
	errs.timer.Stop()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
)

// lockedBuffer is a bytes.Buffer that a logger and a test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log holds want, and fails the test if it does
// not within 5 seconds (a SIGHUP is handled at once; the bound is for a
// broken reload, not a budget).
func (l *lockedBuffer) waitFor(t *testing.T, want string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(l.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say %q:\n%s", want, l.String())
		}
	}
	return l.String()
}

// TestSIGHUPRotatesCredentialKey switches http.credential_key_file to a new
// key and sends SIGHUP: the log names the key added and the key removed, a
// token of the removed key is refused, one of the new key accepted; then a
// key file too short for a key keeps the keys in use and says why.
func TestSIGHUPRotatesCredentialKey(t *testing.T) {
	dir := t.TempDir()
	keyA, keyB := strings.Repeat("a", 32), strings.Repeat("b", 32)
	writeFile(t, dir, "a.key", keyA)
	writeFile(t, dir, "b.key", keyB)
	writeFile(t, dir, "short.key", "too short")
	xmpp := fakeserver.Start(t, "kick.example.org", "s")
	cfgText := func(keyFile string) string {
		return fmt.Sprintf("[component]\nserver = %q\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n[http]\nlisten = \"127.0.0.1:0\"\ncredential_key_file = %q\n", xmpp.Addr, keyFile)
	}
	cfgPath := writeFile(t, dir, "c.toml", cfgText("a.key"))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cancel, cfg, slog.New(slog.NewTextHandler(&logs, nil)), ln) }()
	defer func() { cancel(); <-done }()
	xmpp.WaitConn(5 * time.Second)

	post := func(token string) int {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/muc_kick", strings.NewReader(`{"nickname":"Bob","muc":"room@conference.example.org"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	issue := func(key string) string {
		tok, _, err := credential.IssueGrant([]byte(key), "kick.example.org", credential.Grant{Name: "shop"}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tokA, tokB := issue(keyA), issue(keyB)
	if code := post(tokA); code == 401 {
		t.Fatalf("a token of the key in use: %d", code)
	}
	if code := post(tokB); code != 401 {
		t.Fatalf("a token of a key not configured: %d, want 401", code)
	}

	writeFile(t, dir, "c.toml", cfgText("b.key"))
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	log := logs.waitFor(t, "credential key "+app.KeyID([]byte(keyB))+" added")
	if !strings.Contains(log, "credential key "+app.KeyID([]byte(keyA))+" removed") {
		t.Errorf("the log does not say which key was removed:\n%s", log)
	}
	if strings.Contains(log, keyA) || strings.Contains(log, keyB) {
		t.Errorf("the log shows a key:\n%s", log)
	}

	writeFile(t, dir, "c.toml", cfgText("short.key"))
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	log = logs.waitFor(t, "SIGHUP: cannot read the configuration; keeping the clients, revocations and credential keys in use")
	if !strings.Contains(log, "http.credential_key_file: the key in "+dir+"/short.key is 9 bytes; at least 32 are needed") {
		t.Errorf("the log does not say why the key was refused:\n%s", log)
	}

	if code := post(tokA); code != 401 {
		t.Errorf("a token of the removed key after SIGHUP: %d, want 401", code)
	}
	if code := post(tokB); code != 200 {
		t.Errorf("a token of the new key after SIGHUP: %d, want 200", code)
	}
}

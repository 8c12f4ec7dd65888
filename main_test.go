package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimalConfig = `[component]
domain = "kick.example.org"
secret = "s"
[muc]
domains = ["conference.example.org"]
[http]
authorization_header = "Basic dGVzdDp0ZXN0LXNlY3JldA=="
`

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckConfigAndVersion(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", minimalConfig)
	bad := writeFile(t, dir, "bad.toml", strings.Replace(minimalConfig, "domain =", "domian =", 1))
	if code, out, _ := runMain("-config", good, "-check-config"); code != 0 || !strings.Contains(out, "is valid") {
		t.Errorf("good config: %d %q", code, out)
	}
	code, _, errs := runMain("-config", bad, "-check-config")
	if code != exitConfig || errs != "muc-kick: config: unknown key \"component.domian\"\n" {
		t.Errorf("bad config: %d %q", code, errs)
	}
	// -check-config says what each credential may do.
	acts := writeFile(t, dir, "acts.toml", minimalConfig+"[[http.client]]\nname = \"mod\"\nauthorization_header = \"Basic bW9kOm1vZA==\"\nactions = [\"kick\", \"mute\"]\n[[http.client]]\nname = \"plain\"\nauthorization_header = \"Basic cGxhaW46cGxhaW4=\"\n")
	if code, out, _ := runMain("-config", acts, "-check-config"); code != 0 || !strings.HasSuffix(out, "is valid\n"+
		"muc-kick: http.authorization_header may take every action: kick,ban,unban,mute,unmute,occupants,retract\n"+
		"muc-kick: client \"mod\" may take: kick,mute\n"+
		"muc-kick: client \"plain\" may take: kick,ban,unban\n") {
		t.Errorf("actions in -check-config: %d %q", code, out)
	}
	// A warning: -check-config names it, and passes.
	sha := writeFile(t, dir, "sha.toml", minimalConfig+"[[http.client]]\nname = \"old\"\nauthorization_sha256 = \""+strings.Repeat("ab", 32)+"\"\n")
	if code, out, errs := runMain("-config", sha, "-check-config"); code != 0 || !strings.Contains(out, "is valid") ||
		errs != `muc-kick: warning: http.client "old": authorization_sha256 is an unsalted fast hash in a file others may read: a weak password can be found from it offline; use authorization_argon2id (muc-kick credential hash makes it)`+"\n" {
		t.Errorf("a config with a warning: %d %q %q", code, out, errs)
	}
	// muc-kick check begins with the same: the file, then its warnings.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	checked := writeFile(t, dir, "checked.toml", strings.Replace(minimalConfig, "[component]\n", "[component]\nserver = \""+closed+"\"\nconnect_timeout = \"1s\"\n", 1)+
		"[[http.client]]\nname = \"old\"\nauthorization_sha256 = \""+strings.Repeat("ab", 32)+"\"\n")
	if code, out, _ := runMain("check", "-config", checked); code != exitFailure || !strings.HasPrefix(out, "ok    config       "+checked+" is valid\n"+
		`warn  config       http.client "old": authorization_sha256 is an unsalted fast hash`) || !strings.Contains(out, "FAIL  connect ") {
		t.Errorf("muc-kick check: %d %q", code, out)
	}
	// The example credentials: -check-config and startup refuse them in one line.
	example := writeFile(t, dir, "example.toml", strings.Replace(minimalConfig, "Basic dGVzdDp0ZXN0LXNlY3JldA==", "Basic dXNlcm5hbWU6cGFzc3dvcmQ=", 1))
	const refused = "muc-kick: config: http.authorization_header is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)\n"
	for _, args := range [][]string{{"-config", example, "-check-config"}, {"-config", example}} {
		if code, _, errs := runMain(args...); code != exitConfig || errs != refused {
			t.Errorf("%q: %d %q", args, code, errs)
		}
	}
	if code, out, _ := runMain("-version"); code != 0 || !strings.HasPrefix(out, "muc-kick ") || !strings.Contains(out, "go1.") {
		t.Errorf("-version: %d %q", code, out)
	}
	if code, _, _ := runMain("-no-such-flag"); code != exitConfig {
		t.Errorf("unknown flag: %d", code)
	}
}

func TestCredentialCommand(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("k", 64)
	writeFile(t, dir, "credential.key", key+"\n")
	cfg := writeFile(t, dir, "c.toml", minimalConfig+"credential_key_file = \"credential.key\"\n")
	code, out, errs := runMain("credential", "-config", cfg, "-name", "web-backend", "-room", "Team-*@conference.example.org", "-ttl", "1h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	claims, err := credential.Verify([][]byte{[]byte(key)}, "kick.example.org", strings.TrimSpace(out), time.Now())
	if err != nil {
		t.Fatalf("the printed token does not verify: %v", err)
	}
	if claims.Name != "web-backend" || len(claims.Rooms) != 1 || claims.Rooms[0] != "team-*@conference.example.org" ||
		claims.Expiry-claims.IssuedAt != 3600 {
		t.Errorf("claims %+v", claims)
	}
	if !strings.Contains(errs, claims.ID) || !strings.Contains(errs, "Authorization: Bearer") {
		t.Errorf("stderr does not tell the id and how to use it: %q", errs)
	}
	if code, _, errs := runMain("credential", "-config", cfg, "-name", "x", "-room", "*@elsewhere.org"); code != exitConfig || !strings.Contains(errs, "muc.domains") {
		t.Errorf("room elsewhere: %d %q", code, errs)
	}
	if code, _, errs := runMain("credential", "-config", cfg); code != exitConfig || !strings.Contains(errs, "-name") {
		t.Errorf("no name: %d %q", code, errs)
	}
	code, out, errs = runMain("credential", "-config", cfg, "-name", "limited", "-room", "*", "-rate", "0.5", "-burst", "3")
	if claims, err := credential.Verify([][]byte{[]byte(key)}, "kick.example.org", strings.TrimSpace(out), time.Now()); code != 0 || err != nil || claims.Rate != 0.5 || claims.Burst != 3 {
		t.Errorf("-rate 0.5 -burst 3: exit %d, %v, claims %+v: %s", code, err, claims, errs)
	} else if !strings.Contains(errs, "rate 0.5/s, burst 3") || !strings.Contains(errs, `http.revoked = ["`+claims.ID+`"]`) {
		t.Errorf("stderr does not tell the rate and how to revoke: %q", errs)
	}
	if code, _, errs := runMain("credential", "-config", cfg, "-name", "shop backend"); code != exitConfig || !strings.Contains(errs, `-name "shop backend" may hold only`) {
		t.Errorf("a name http.revoked cannot take: %d %q", code, errs)
	}
	code, out, errs = runMain("credential", "-config", cfg, "-name", "mod", "-room", "*", "-actions", "kick,mute")
	if claims, err := credential.Verify([][]byte{[]byte(key)}, "kick.example.org", strings.TrimSpace(out), time.Now()); code != 0 || err != nil || strings.Join(claims.Actions, ",") != "kick,mute" || !strings.Contains(errs, "actions kick,mute,") {
		t.Errorf("-actions kick,mute: exit %d, %v, claims %+v: %q", code, err, claims, errs)
	}
	if code, out, errs := runMain("credential", "-config", cfg, "-name", "mod", "-room", "*", "-actions", "kick,fly"); code != exitConfig || out != "" || !strings.Contains(errs, `unknown action "fly"`) {
		t.Errorf("-actions kick,fly: exit %d %q %q", code, out, errs)
	}
	code, out, errs = runMain("credential", "-config", cfg, "-name", "limited", "-room", "*", "-rate", "0.5", "-burst", "3")
	if claims, err := credential.Verify([][]byte{[]byte(key)}, "kick.example.org", strings.TrimSpace(out), time.Now()); code != 0 || err != nil || len(claims.Rooms) != 0 || !strings.Contains(errs, "for every room of conference.example.org") {
		t.Errorf("-room '*': exit %d, claims %+v, %v, %q", code, claims, err, errs)
	}
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"-name", "x"}, "muc-kick: -room is required: give the rooms the client may act on, or -room '*' for every room\n"},
		{[]string{"-name", "x", "-room", "*", "-room", "a@conference.example.org"}, "muc-kick: -room '*' means every room: give it alone\n"},
		{[]string{"-name", "x", "-room", "*", "-ttl", "8785h"}, "muc-kick: credential: the lifetime must be positive and at most 8784h0m0s (366 days)\n"},
		{[]string{"-name", "x", "-room", "*", "-ttl", "2562047h"}, "muc-kick: credential: the lifetime must be positive and at most 8784h0m0s (366 days)\n"},
	} {
		if code, out, errs := runMain(append([]string{"credential", "-config", cfg}, tt.args...)...); code != exitConfig || out != "" || errs != tt.err {
			t.Errorf("%q: %d %q %q, want %q", tt.args, code, out, errs, tt.err)
		}
	}
	noKey := writeFile(t, dir, "nokey.toml", minimalConfig)
	if code, _, errs := runMain("credential", "-config", noKey, "-name", "x"); code != exitConfig || !strings.Contains(errs, "credential_key_file") {
		t.Errorf("no key: %d %q", code, errs)
	}
}

// TestSlowClientIsCutOff sends a request one byte at a time: the server
// closes the connection at its read timeouts instead of waiting for ever.
// TestCredentialHash checks that "muc-kick credential hash" prints an
// argon2id hash of the value on stdin, which config accepts and which
// verifies that value.
func TestCredentialHash(t *testing.T) {
	var out, errs bytes.Buffer
	if code := credentialCmd([]string{"hash"}, strings.NewReader("Basic c2hvcDpzM2NyM3Q=\n"), &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	h, err := credential.ParseArgon2id(strings.TrimSpace(out.String()))
	if err != nil || !h.Verify([]byte("Basic c2hvcDpzM2NyM3Q=")) {
		t.Errorf("the printed hash %q: %v, or it does not verify", out.String(), err)
	}
	if _, err := config.Parse([]byte(minimalConfig + "[[http.client]]\nname = \"shop\"\nauthorization_argon2id = \"" + strings.TrimSpace(out.String()) + "\"\n")); err != nil {
		t.Errorf("config refuses the printed hash: %v", err)
	}
	for _, in := range []string{"", "\n", "a\nb\n"} {
		out.Reset()
		if code := credentialCmd([]string{"hash"}, strings.NewReader(in), &out, &errs); code != exitConfig || out.Len() != 0 {
			t.Errorf("stdin %q: exit %d, %q", in, code, out.String())
		}
	}
}

func TestSlowClientIsCutOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := app.NewHTTPServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond, Write: time.Second, Idle: time.Second})
	go srv.Serve(ln)
	defer srv.Close()

	for _, tc := range []struct{ name, head string }{
		{"slow headers", ""},
		{"slow body", "POST /muc_kick HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, tc.head)
			start := time.Now()
			payload := "POST /muc_kick HTTP/1.1\r\nHost: x\r\n"
			if tc.head != "" {
				payload = strings.Repeat("x", 1000)
			}
			for i := 0; i < len(payload); i++ {
				if _, err := conn.Write([]byte{payload[i]}); err != nil {
					break // the server hung up: what we want
				}
				time.Sleep(50 * time.Millisecond)
				if time.Since(start) > 5*time.Second {
					t.Fatal("the server still reads after 5s of a byte every 50ms")
				}
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.ReadAll(conn); err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("the connection was not closed: %v", err)
			}
		})
	}
}

// TestStartupWarnings checks that the daemon logs at startup what
// -check-config warns about.
func TestStartupWarnings(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(writeFile(t, dir, "c.toml", strings.Replace(minimalConfig, "[component]\n", "[component]\nserver = \"192.0.2.1:5347\"\n", 1)+
		"[[http.client]]\nname = \"old\"\nauthorization_sha256 = \""+strings.Repeat("ab", 32)+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logWarnings(slog.New(slog.NewTextHandler(&logs, nil)), cfg, filepath.Join(dir, "c.toml"))
	for _, want := range []string{
		`level=WARN msg="component.server \"192.0.2.1:5347\" is not on loopback: XEP-0114 is plain TCP with a SHA-1 handshake`,
		`level=WARN msg="http.client \"old\": authorization_sha256 is an unsalted fast hash`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s in\n%s", want, logs.String())
		}
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:80": false, "[::1]:80": false, "127.0.0.2:80": false, "0.0.0.0:80": true, "192.0.2.1:80": true, "[::]:80": true} {
		a, _ := net.ResolveTCPAddr("tcp", addr)
		if got := plainCredentialsExposed(a); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
	// Whatever the credential: a Bearer header, a signed credential, a hash.
	dir := t.TempDir()
	writeFile(t, dir, "cred.key", strings.Repeat("k", 32))
	for name, http := range map[string]string{
		"static Bearer": `authorization_header = "Bearer x"`,
		"signed":        `credential_key_file = "cred.key"`,
		"hashed client": "[[http.client]]\nname = \"a\"\nauthorization_sha256 = \"" + strings.Repeat("0", 64) + "\"",
	} {
		cfgPath := writeFile(t, dir, "c.toml", "[component]\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n[http]\nlisten = \"0.0.0.0:0\"\n"+http+"\n")
		cfg, err := config.Load(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		cancel() // serve returns as soon as it has started
		serve(ctx, func() {}, cfg, slog.New(slog.NewTextHandler(&logs, nil)), ln)
		ln.Close()
		if !strings.Contains(logs.String(), "credentials over plain HTTP") {
			t.Errorf("%s: no warning in\n%s", name, logs.String())
		}
	}
}

func TestInlineSecretsWarning(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "c.toml", minimalConfig)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	warnInlineSecrets(log, cfg, cfgPath)
	os.Chmod(cfgPath, 0o644)
	if logs.Len() != 0 {
		t.Errorf("a 0600 file: %s", logs.String())
	}
	warnInlineSecrets(log, cfg, cfgPath)
	if !strings.Contains(logs.String(), "component.secret, http.authorization_header: "+cfgPath+" is open to other users (mode 0644)") {
		t.Errorf("a 0644 file with secrets: %q", logs.String())
	}
	logs.Reset()
	writeFile(t, dir, "secret", "s")
	cfg, _ = config.Load(writeFile(t, dir, "c2.toml", strings.Replace(strings.Replace(minimalConfig, `secret = "s"`, `secret_file = "secret"`, 1),
		`authorization_header = "Basic dGVzdDp0ZXN0LXNlY3JldA=="`, "[[http.client]]\nname = \"a\"\nauthorization_sha256 = \""+strings.Repeat("0", 64)+"\"", 1)))
	os.Chmod(filepath.Join(dir, "c2.toml"), 0o644)
	warnInlineSecrets(log, cfg, filepath.Join(dir, "c2.toml"))
	if logs.Len() != 0 {
		t.Errorf("a 0644 file without secrets: %s", logs.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir, cn string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// TestTLSAndCredentialsWired runs the daemon against a fake XMPP server with
// TLS, named clients and signed credentials from its configuration file, and
// reloads the certificate on SIGHUP.
func TestTLSAndCredentialsWired(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "first")
	key := strings.Repeat("z", 32)
	writeFile(t, dir, "cred.key", key)
	xmpp := fakeserver.Start(t, "kick.example.org", "s")
	cfgPath := writeFile(t, dir, "c.toml", fmt.Sprintf(`[component]
server = %q
domain = "kick.example.org"
secret = "s"
[muc]
domains = ["conference.example.org"]
[http]
tls_cert = "cert.pem"
tls_key = "key.pem"
credential_key_file = "cred.key"
[[http.client]]
name = "teams"
authorization_sha256 = "%x"
rooms = ["team-*@conference.example.org"]
`, xmpp.Addr, sha256sum("Basic dGVhbXM6dGVhbXM=")))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cancel, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ln) }()
	defer func() { cancel(); <-done }()
	xmpp.WaitConn(5 * time.Second)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	post := func(authz, room string) (int, string) {
		req, _ := http.NewRequest("POST", "https://"+ln.Addr().String()+"/muc_kick",
			strings.NewReader(`{"nickname":"Bob","muc":"`+room+`"}`))
		req.Header.Set("Authorization", authz)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName + " " + string(b)
	}
	// The first kick in scope succeeds once the component is connected.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, body := post("Basic dGVhbXM6dGVhbXM=", "team-a@conference.example.org")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a kick in the client's scope: %d %s, want 200", code, body)
		}
	}
	for { // drain what the first kick sent
		if _, ok := xmpp.Next(50 * time.Millisecond); !ok {
			break
		}
	}
	if code, body := post("Basic dGVhbXM6dGVhbXM=", "other@conference.example.org"); code != 403 || !strings.HasPrefix(body, "first ") {
		t.Errorf("out of scope: %d %s", code, body)
	}
	if st, ok := xmpp.Next(200 * time.Millisecond); ok {
		t.Errorf("a refused request sent a stanza: %s", st.Raw)
	}
	tok, _, _ := credential.IssueGrant([]byte(key), "kick.example.org", credential.Grant{Name: "signed"}, time.Hour, time.Now())
	if code, body := post("Bearer "+tok, "any@conference.example.org"); code != 200 {
		t.Errorf("signed credential: %d %s", code, body)
	}

	// SIGHUP: a new certificate, and the configuration read again, now
	// revoking the signed credential and giving "teams" more rooms.
	selfSigned(t, dir, "second")
	cfgText, _ := os.ReadFile(cfgPath)
	cfgText = bytes.Replace(cfgText, []byte("tls_key = \"key.pem\"\n"), []byte("tls_key = \"key.pem\"\nrevoked = [\"signed\"]\n"), 1)
	cfgText = bytes.Replace(cfgText, []byte(`rooms = ["team-*@conference.example.org"]`), []byte(`rooms = ["team-*@conference.example.org", "other@conference.example.org"]`), 1)
	writeFile(t, dir, "c.toml", string(cfgText))
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body := post("Basic dGVhbXM6dGVhbXM=", "team-a@conference.example.org")
		if strings.HasPrefix(body, "second ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the certificate was not reloaded on SIGHUP: %s", body)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := post("Bearer "+tok, "any@conference.example.org")
		if code == 401 && strings.Contains(body, "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the credential was not revoked on SIGHUP: %d %s", code, body)
		}
	}
	if code, body := post("Basic dGVhbXM6dGVhbXM=", "other@conference.example.org"); code == 403 {
		t.Errorf("the client's new rooms were not read on SIGHUP: %d %s", code, body)
	}
	client.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS11
	if _, err := client.Get("https://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
}

func sha256sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestSystemdNotify runs the daemon with $NOTIFY_SOCKET pointing at a socket
// of the test's, as systemd does for Type=notify, and reads what it says.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	msgs := make(chan string, 20)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	// next returns the first message with prefix not yet taken. Messages of
	// other kinds wait their turn: the component may connect (STATUS=)
	// before the listener is up (READY=1).
	var pending []string
	next := func(prefix string) string {
		t.Helper()
		for i, m := range pending {
			if strings.HasPrefix(m, prefix) {
				pending = append(pending[:i], pending[i+1:]...)
				return m
			}
		}
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, prefix) {
					return m
				}
				pending = append(pending, m)
			case <-time.After(5 * time.Second):
				t.Fatalf("no %s message (others: %q)", prefix, pending)
				return ""
			}
		}
	}

	xmpp := fakeserver.Start(t, "kick.example.org", "s")
	cfg, err := config.Parse([]byte(strings.Replace(minimalConfig, "[component]\n", "[component]\nserver = \""+xmpp.Addr+"\"\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cancel, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ln) }()

	next("READY=1")
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("READY=1 came before the listener answered: %v", err)
	}
	resp.Body.Close()
	if m := next("STATUS="); !strings.Contains(m, "connected to "+xmpp.Addr) {
		t.Errorf("status %q", m)
	}
	xmpp.WaitConn(time.Second).Close()
	if m := next("STATUS="); !strings.Contains(m, "not connected") {
		t.Errorf("status after a disconnect: %q", m)
	}
	cancel()
	next("STOPPING=1")
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestSystemdUnit checks contrib/systemd/muc-kick.service as installed by
// make install into a scratch root: systemd-analyze verify finds nothing, and
// its security exposure is 1.5 or lower.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; CI must check the unit")
		}
		t.Skip("systemd-analyze is missing")
	}
	root := t.TempDir()
	out, err := exec.Command("make", "-s", "install", "DESTDIR="+root, "PREFIX=/usr", "BIN="+filepath.Join(t.TempDir(), "muc-kick")).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	unit := filepath.Join(root, "usr/lib/systemd/system/muc-kick.service")
	want := []string{"usr/bin/muc-kick", "usr/lib/systemd/system/muc-kick.service", "usr/share/doc/muc-kick/README.md", "etc/muc-kick/config.toml.example"}
	docs, _ := filepath.Glob("docs/*.md")
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	figures, _ := filepath.Glob("docs/img/*.svg") // what docs/performance.md shows
	for _, d := range append(docs, figures...) {
		want = append(want, "usr/share/doc/muc-kick/"+d) // beside the README, whose links point there
	}
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("make install did not install %s", f)
		}
	}
	text, _ := os.ReadFile(unit)
	if !regexp.MustCompile(`(?m)^MemoryMax=[0-9]+[KMG]$`).Match(text) {
		t.Errorf("the unit sets no MemoryMax=:\n%s", text)
	}
	if !strings.Contains(string(text), "ExecStart=/usr/bin/muc-kick -config") {
		t.Errorf("ExecStart does not follow PREFIX:\n%s", text)
	}
	// verify wants ExecStart's binary where the unit says: point it into root.
	check := filepath.Join(t.TempDir(), "muc-kick.service")
	os.WriteFile(check, []byte(strings.ReplaceAll(string(text), "/usr/bin/muc-kick", filepath.Join(root, "usr/bin/muc-kick"))), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", check).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command("systemd-analyze", "security", "--offline=true", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for muc-kick.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	// IPAddressAllow=any alone restricted nothing: now only loopback.
	if !bytes.Contains(out, []byte("IP address allow list with only localhost entries")) {
		t.Errorf("the unit does not limit IP traffic to loopback:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure level %.1f", score)
	if score > 1.5 {
		t.Errorf("exposure level %.1f, want 1.5 or lower", score)
	}
}

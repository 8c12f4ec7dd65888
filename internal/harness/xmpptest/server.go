package xmpptest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// Domains of every test server.
const (
	componentDomain = "kick.localhost"
	mucDomain       = "conference.localhost"
	anonDomain      = "localhost" // the parent of kick.localhost and conference.localhost, as example.org is in the contrib snippets
	usersDomain     = "users.localhost"
)

// Placeholders in the contrib snippets, replaced with the test values.
const (
	placeholderComponent = "kick.example.org"
	placeholderMUC       = "conference.example.org"
	placeholderPort      = "5347"
	placeholderSecret    = "change-me-muc-kick-secret"
)

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 20 * time.Second

// Server is a throw-away XMPP server started for a test. Its fields are
// read-only.
type Server struct {
	Kind            string // "prosody" or "ejabberd"
	Version         string // the server's version, e.g. "13.0.1" or "24.12"
	ComponentAddr   string // "127.0.0.1:port" of the XEP-0114 listener
	ClientAddr      string // "127.0.0.1:port" of c2s
	ComponentDomain string // e.g. "kick.localhost"
	// ComponentDomains are the component domains the server accepts:
	// ComponentDomain, or with StartHA "kick1.localhost" and
	// "kick2.localhost" (and ComponentDomain the first).
	ComponentDomains []string
	// ComponentAddrs are where each of ComponentDomains connects: all
	// ComponentAddr on Prosody; with StartHA on ejabberd, one listener each.
	ComponentAddrs []string
	Secret         string // component secret
	MUCDomain      string // e.g. "conference.localhost"
	AnonDomain     string // vhost with SASL ANONYMOUS, e.g. "anon.localhost"
	UsersDomain    string // vhost with accounts (SASL PLAIN), e.g. "users.localhost"; see Register
	Dir            string // temp dir holding config, data, logs

	tb   TB
	proc process
	variant

	mu      sync.Mutex // serialises Start, Stop and Kill
	running bool
}

// variant is how a server's config differs from the usual one.
type variant struct {
	notAdmin bool // the config lacks the component's admin lines (StartNotAdmin)
	ha       bool // contrib/ha's snippet: two component domains (StartHA)
	Options
}

// Options are what a test server has beyond the setup of the contrib
// snippet muc-kick needs (contrib/prosody/muc-kick.cfg.lua,
// contrib/ejabberd/muc-kick.yml). The zero value is that setup alone.
type Options struct {
	// Retraction adds contrib/prosody/retraction.cfg.lua or
	// contrib/ejabberd/retraction.yml: the MUC service archives each room's
	// messages (XEP-0313) and, where the server has it, lets moderators
	// retract them (XEP-0425). Without it a room has no archive, and no
	// moderation either.
	Retraction bool
}

// process is what differs between server implementations.
type process interface {
	// start launches the server; it need not wait for the ports.
	start() error
	// exited reports whether the server has died (used to fail fast while
	// waiting for the ports).
	exited() bool
	// stop stops the server gracefully and waits for it to exit.
	stop() error
	// kill kills the server with SIGKILL and waits for it to exit.
	kill() error
	// pids returns the process ids of the running server, the main one
	// first (Server.Pid), and its helpers, for leak checks.
	pids() []int
	// log returns the server's log text.
	log() string
	// register creates the account user@UsersDomain with password.
	register(user, password string) error
}

// TB is the part of testing.TB the harness uses, so that a program (the
// demo, the soak, the benchmark) can start servers too: *testing.T,
// *testing.B and *testkit.Program satisfy it.
type TB = testkit.TB

// Kind is a server to run a table-driven test against.
type Kind struct {
	Name          string // the install's name, e.g. "prosody-13.0.1", or a family without one
	Start         func(TB) *Server
	StartWith     func(TB, Options) *Server // see Install.StartWith
	StartNotAdmin func(TB) *Server          // see Install.StartNotAdmin
	StartHA       func(TB) *Server          // see Install.StartHA
}

// Kinds returns the servers to run a table-driven test against: every
// install found (see Installs), and for a family with none a Kind that skips
// the test, or fails it when the CI environment variable is set. Under
// -short every Kind's Start functions skip the test (see SkipIfShort).
func Kinds() []Kind {
	var kinds []Kind
	for _, family := range []string{"prosody", "ejabberd"} {
		found := false
		for _, i := range Installs() {
			if i.Family == family {
				kinds = append(kinds, Kind{Name: i.Name(), Start: i.Start, StartWith: i.StartWith, StartNotAdmin: i.StartNotAdmin, StartHA: i.StartHA})
				found = true
			}
		}
		if !found {
			missing := func(tb TB) *Server {
				tb.Helper()
				RequireServer(tb, family)
				return nil
			}
			missingWith := func(tb TB, _ Options) *Server {
				tb.Helper()
				return missing(tb)
			}
			kinds = append(kinds, Kind{Name: family, Start: missing, StartWith: missingWith, StartNotAdmin: missing, StartHA: missing})
		}
	}
	return kinds
}

// ProsodyKinds returns the Kinds of Prosody alone, for tests of behaviour
// only Prosody has.
func ProsodyKinds() []Kind {
	var kinds []Kind
	for _, k := range Kinds() {
		if strings.HasPrefix(k.Name, "prosody") {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// RequireServer skips the test when no server of family is installed, or
// fails it when the CI environment variable is set: CI must never skip a
// real-server test. Under -short it skips the test, CI or not (see
// SkipIfShort). It returns the newest install of family. A test that runs a
// program which starts the server itself (the demo) calls it first.
func RequireServer(tb TB, family string) Install {
	tb.Helper()
	SkipIfShort(tb)
	i, ok := newest(family)
	if !ok {
		msg := fmt.Sprintf("xmpptest: no %s found (install the Debian package %q, or run .ci/install-servers, to run this test)", family, family)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg + "; CI is set, so this test must not be skipped")
		}
		tb.Skip(msg)
	}
	return i
}

// SkipIfShort skips the test when it runs under `go test -short`: -short
// means no XMPP server (`make test-short`), installed or not, CI or not.
// Every function of this package that starts a server (StartProsody,
// StartEjabberd, the Start functions of Install and Kind, StartCluster)
// calls it first, so a test that reaches a server through them needs
// nothing more; a test that does slow work before that, such as building
// the daemon, calls it at its start. Outside a test binary (the demo, the
// soak, the benchmarks program) it does nothing.
func SkipIfShort(tb TB) {
	tb.Helper()
	// testing.Short panics outside a test binary.
	if testing.Testing() && testing.Short() {
		tb.Skip("xmpptest: needs a real XMPP server; skipped with -short")
	}
}

// newServer fills in the common fields, picking free ports for the c2s and
// component listeners plus extra ones for the implementation.
func newServer(tb TB, inst Install, extraPorts int) (*Server, []int) {
	tb.Helper()
	ports, err := testkit.FreePorts(2 + extraPorts)
	if err != nil {
		tb.Fatalf("xmpptest: %v", err)
	}
	s := &Server{
		Kind:             inst.Family,
		Version:          inst.Version,
		ClientAddr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		ComponentAddr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		ComponentDomain:  componentDomain,
		ComponentDomains: []string{componentDomain},
		ComponentAddrs:   []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))},
		Secret:           "secret-" + randomHex(8),
		MUCDomain:        mucDomain,
		AnonDomain:       anonDomain,
		UsersDomain:      usersDomain,
		Dir:              tb.TempDir(),
		tb:               tb,
	}
	return s, ports[2:]
}

// Name is the server's family and version, e.g. "prosody-13.0.1".
func (s *Server) Name() string { return s.Kind + "-" + s.Version }

// launch starts s for the first time and registers Stop with tb.Cleanup.
func (s *Server) launch() {
	s.tb.Helper()
	s.tb.Cleanup(s.Stop)
	s.Start()
}

// Start starts the server (again) on the same ports, config and data after
// Stop or Kill, and waits until its ports accept connections. It fails the
// test, with the server log, if they don't within 20 s. Like Fatal, it must
// be called from the goroutine running the test.
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.tb.Fatalf("xmpptest: %s is already running", s.Name())
	}
	begin := time.Now()
	if err := s.proc.start(); err != nil {
		s.tb.Fatalf("xmpptest: starting %s: %v\n%s", s.Name(), err, s.proc.log())
	}
	s.running = true
	if err := s.waitReady(); err != nil {
		_ = s.proc.kill()
		s.running = false
		s.tb.Fatalf("xmpptest: %s: %v\n--- server log ---\n%s", s.Name(), err, s.proc.log())
	}
	s.tb.Logf("xmpptest: %s ready in %v (c2s %s, component %s, dir %s)",
		s.Name(), time.Since(begin).Round(time.Millisecond), s.ClientAddr, s.ComponentAddr, s.Dir)
}

// Stop stops the server gracefully and waits for its process to exit. It is
// idempotent, and registered with t.Cleanup by the Start functions.
func (s *Server) Stop() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	s.running = false
	begin := time.Now()
	if err := s.proc.stop(); err != nil {
		s.tb.Errorf("xmpptest: stopping %s: %v\n--- server log ---\n%s", s.Name(), err, s.proc.log())
		return
	}
	s.tb.Logf("xmpptest: %s stopped in %v", s.Name(), time.Since(begin).Round(time.Millisecond))
}

// Kill kills the server with SIGKILL and waits for its process to exit, to
// simulate a crash. Start brings it back.
func (s *Server) Kill() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	s.running = false
	if err := s.proc.kill(); err != nil {
		s.tb.Errorf("xmpptest: killing %s: %v", s.Name(), err)
	}
}

// Log returns the server's log text, for failure messages.
func (s *Server) Log() string {
	return s.proc.log()
}

// Register creates the account user@s.UsersDomain with password, for
// ConnectAs. It uses the server's own admin tool (prosodyctl, ejabberdctl)
// with the server's config; on ejabberd the server must be running. Accounts
// survive Stop and Start. Registering an existing user is an error on
// ejabberd; on Prosody it sets the password. Register may be called from any
// goroutine.
func (s *Server) Register(user, password string) error {
	if user == "" || strings.ContainsAny(user, "@/\"'<>&: \t\r\n") {
		return fmt.Errorf("xmpptest: %q is not a user name the harness registers", user)
	}
	if password == "" {
		return errors.New("xmpptest: empty password")
	}
	if err := s.proc.register(user, password); err != nil {
		return fmt.Errorf("xmpptest: registering %s@%s on %s: %w", user, s.UsersDomain, s.Name(), err)
	}
	return nil
}

// Pid returns the process id of the running server: Prosody's, or
// ejabberd's Erlang VM (beam.smp); 0 when it is not running.
func (s *Server) Pid() int {
	if pids := s.pids(); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// pids returns the ids of the server's processes while it runs, the main
// one first.
func (s *Server) pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	return s.proc.pids()
}

// waitReady polls until the server itself listens on the c2s and component
// ports and they accept connections. Checking the owner of the listening
// socket matters: Prosody carries on without a port it failed to bind, and
// another process holding that port would accept the connections.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for _, addr := range []string{s.ClientAddr, s.ComponentAddr} {
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		for {
			var err error
			if pids := s.proc.pids(); len(pids) > 0 && testkit.ListensOn(pids[0], port) {
				var c net.Conn
				if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
					c.Close()
					break
				}
			} else {
				err = errors.New("the server does not listen on it")
			}
			if s.proc.exited() {
				return fmt.Errorf("server exited before %s accepted connections", addr)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after %v: %v", addr, readyTimeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// contribSnippet reads contrib/<name> of this module and replaces the example
// domains, port and secret with the test values of s.
func (s *Server) contribSnippet(name, commentPrefix string) (string, error) {
	components := []struct{ old, new string }{{placeholderComponent, s.ComponentDomain}}
	if s.ha {
		name = map[string]string{"prosody/muc-kick.cfg.lua": "ha/prosody.cfg.lua", "ejabberd/muc-kick.yml": "ha/ejabberd.yml"}[name]
		components = nil
		for i, d := range s.ComponentDomains {
			components = append(components, struct{ old, new string }{fmt.Sprintf("kick%d.example.org", i+1), d})
		}
	}
	path, err := contribPath(name)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	_, port, _ := net.SplitHostPort(s.ComponentAddr)
	text := string(b)
	if len(s.ComponentAddrs) > 1 {
		_, port2, _ := net.SplitHostPort(s.ComponentAddrs[1])
		if s.ComponentAddrs[1] != s.ComponentAddr {
			components = append(components, struct{ old, new string }{"5348", port2})
		}
	}
	for _, r := range append(components, []struct{ old, new string }{
		{placeholderMUC, s.MUCDomain},
		{placeholderPort, port},
		{placeholderSecret, s.Secret},
	}...) {
		if !strings.Contains(text, r.old) {
			return "", fmt.Errorf("%s: placeholder %q is missing", path, r.old)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), commentPrefix) {
			continue
		}
		if s.notAdmin && adminLine.MatchString(line) {
			lines[i] = commentPrefix + " removed by xmpptest (StartNotAdmin): " + line
			continue
		}
		if strings.Contains(line, "example.org") {
			return "", fmt.Errorf("%s:%d: example.org is not one of the placeholders the tests replace: %q", path, i+1, line)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// contribExtra reads contrib/<name>, a snippet that names the MUC service
// alone, and replaces conference.example.org with the test's.
func (s *Server) contribExtra(name, commentPrefix string) (string, error) {
	path, err := contribPath(name)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	text := string(b)
	if !strings.Contains(text, placeholderMUC) {
		return "", fmt.Errorf("%s: placeholder %q is missing", path, placeholderMUC)
	}
	text = strings.ReplaceAll(text, placeholderMUC, s.MUCDomain)
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), commentPrefix) && strings.Contains(line, "example.org") {
			return "", fmt.Errorf("%s:%d: example.org is not one of the placeholders the tests replace: %q", path, i+1, line)
		}
	}
	return text, nil
}

// adminLine matches the lines of the contrib snippets that give the
// component admin rights over the MUC service.
var adminLine = regexp.MustCompile(`^\s*(admins\s*=|component_admins_as_room_owners\s*=|access_admin:)`)

// contribPath finds contrib/<name> next to this source file or, when the
// binary was built with -trimpath, above the working directory.
func contribPath(name string) (string, error) {
	var dirs []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dirs = append(dirs, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "contrib", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("xmpptest: contrib/" + name + " not found")
}

// readFileString returns the content of path, or a note that it is missing.
func readFileString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)\n", err)
	}
	return string(b)
}

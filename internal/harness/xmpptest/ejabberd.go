package xmpptest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// StartEjabberd starts a throw-away ejabberd on free loopback ports and stops
// it when the test ends. It skips the test when ejabberdctl is not installed,
// unless the CI environment variable is set, in which case it fails the test;
// under -short it skips it (see SkipIfShort). It must be called from the
// goroutine running the test.
//
// The node runs detached (`ejabberdctl start`) under a unique node name, with
// a fixed Erlang distribution port on 127.0.0.1 so that no epmd is started.
// Its ejabberd.yml holds the test-only settings (host AnonDomain with SASL
// ANONYMOUS, host UsersDomain with accounts, c2s without TLS) and includes contrib/ejabberd/muc-kick.yml with
// the test's domains, port and secret (and with Options.Retraction the
// modules of contrib/ejabberd/retraction.yml merged into it, as that file
// tells admins to). Set XMPPTEST_DEBUG=1 for debug logs.
//
// Of several ejabberd installs (see Installs), it starts the newest.
func StartEjabberd(tb TB) *Server {
	tb.Helper()
	return startEjabberd(tb, RequireServer(tb, "ejabberd"), variant{})
}

func startEjabberd(tb TB, inst Install, v variant) *Server {
	tb.Helper()
	s := newEjabberd(tb, inst, v, nil, "mk"+randomHex(6)+"@localhost", "")
	s.launch()
	return s
}

// newEjabberd prepares an ejabberd node (config written, not started): a
// single node when c is nil, else a node of cluster c. secret, when not
// empty, replaces the server's own component secret.
func newEjabberd(tb TB, inst Install, v variant, c *cluster, node, secret string) *Server {
	tb.Helper()
	s, extra := newServer(tb, inst, 2)
	if secret != "" {
		s.Secret = secret
	}
	s.variant = v
	if v.ha {
		s.ComponentDomains = []string{"kick1." + anonDomain, "kick2." + anonDomain}
		s.ComponentDomain = s.ComponentDomains[0]
		s.ComponentAddrs = []string{s.ComponentAddr, net.JoinHostPort("127.0.0.1", strconv.Itoa(extra[1]))}
	}
	e := &ejabberd{
		s:        s,
		inst:     inst,
		node:     node,
		distPort: extra[0],
		cluster:  c,
	}
	if err := e.writeConfig(); err != nil {
		tb.Fatalf("xmpptest: %v", err)
	}
	s.proc = e
	return s
}

// ejabberd runs a detached ejabberd node, controlled with ejabberdctl.
type ejabberd struct {
	s        *Server
	inst     Install
	node     string   // Erlang node name, unique per server
	distPort int      // Erlang distribution port (ERL_DIST_PORT); unused in a cluster
	cluster  *cluster // nil for a single node
	started  time.Time
	pid      int // OS pid of beam.smp, 0 until known
}

func (e *ejabberd) path(elem ...string) string {
	return filepath.Join(append([]string{e.s.Dir}, elem...)...)
}

func (e *ejabberd) writeConfig() error {
	for _, d := range []string{"db", "logs", "run"} {
		if err := os.Mkdir(e.path(d), 0o700); err != nil {
			return err
		}
	}
	inetrc, err := os.ReadFile(filepath.Join(e.inst.Etc, "inetrc"))
	if err != nil {
		return err
	}
	snippet, err := e.s.contribSnippet("ejabberd/muc-kick.yml", "#")
	if err != nil {
		return err
	}
	if e.s.Retraction {
		extra, err := e.s.contribExtra("ejabberd/retraction.yml", "#")
		if err != nil {
			return err
		}
		if snippet, err = mergeModules(snippet, extra); err != nil {
			return fmt.Errorf("contrib/ejabberd/retraction.yml: %w", err)
		}
	}
	// Values are single-quoted for the shell, which sources this file.
	// A single node pins its distribution port, so that no epmd is
	// started. A cluster node needs epmd to find the others: the
	// cluster's own (see cluster), never one the node would start itself.
	cookie, dist := "mk"+randomHex(16), fmt.Sprintf("ERL_DIST_PORT=%d", e.distPort)
	erlOptions := "-setcookie " + cookie
	if e.cluster != nil {
		erlOptions = "-setcookie " + e.cluster.cookie + " -start_epmd false"
		dist = "ERL_EPMD_ADDRESS=127.0.0.1"
	}
	ctlcfg := fmt.Sprintf(`# Written by internal/harness/xmpptest for a throw-away test server.
ERLANG_NODE=%s
EJABBERD_PID_PATH=%s
ERL_OPTIONS='%s'
%s
INET_DIST_INTERFACE=127.0.0.1
EJABBERD_BYPASS_WARNINGS=true
EXEC_CMD=as_current_user
`, shellQuote(e.node), shellQuote(e.path("run", "ejabberd.pid")), erlOptions, dist)

	_, c2sPort, _ := strings.Cut(e.s.ClientAddr, ":")
	level := "info"
	if os.Getenv("XMPPTEST_DEBUG") != "" {
		level = "debug"
	}
	cfg := fmt.Sprintf(`# Written by internal/harness/xmpptest for a throw-away test server.
# Test-only settings; muc-kick's own come from the included file.
loglevel: %s
hosts:
  - %q
  - %q
auth_method: anonymous
anonymous_protocol: sasl_anon
host_config:
  # Accounts (Server.Register); ejabberd offers SASL PLAIN without TLS when
  # starttls_required is false. The host's own module list keeps mod_muc
  # (from the included file) on the first host only: one MUC service.
  %q:
    auth_method: internal
    modules:
      mod_disco: {}
      mod_ping: {}
      mod_version: {}
listen:
  -
    port: %s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: false
# Like a real ejabberd.yml, this one has acl and access_rules of its own:
# the tests prove that the included muc-kick.yml merges with them.
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
modules:
  mod_disco: {}
  mod_ping: {}
  mod_version: {}
include_config_file: %q
`, level, e.s.AnonDomain, e.s.UsersDomain, e.s.UsersDomain, c2sPort, e.path("muc-kick.yml"))

	for name, content := range map[string]string{
		"inetrc":          string(inetrc),
		"ejabberdctl.cfg": ctlcfg,
		"ejabberd.yml":    cfg,
		"muc-kick.yml":    snippet,
	} {
		if err := os.WriteFile(e.path(name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// ctl runs ejabberdctl with this server's directories, appending its output
// to logs/ejabberdctl.out.
func (e *ejabberd) ctl(timeout time.Duration, args ...string) error {
	_, err := e.ctlOutput(timeout, args...)
	return err
}

// ctlOutput is ctl that returns the command's output too.
func (e *ejabberd) ctlOutput(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	command := args[0]
	args = append([]string{
		"--config-dir", e.s.Dir,
		"--spool", e.path("db"),
		"--logs", e.path("logs"),
		"--config", e.path("ejabberd.yml"),
	}, args...)
	cmd := exec.CommandContext(ctx, e.inst.Bin, args...)
	cmd.Dir = e.s.Dir
	if e.cluster != nil {
		cmd.Env = append(os.Environ(), e.cluster.epmdEnv()...)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if f, ferr := os.OpenFile(e.path("logs", "ejabberdctl.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); ferr == nil {
		fmt.Fprintf(f, "$ ejabberdctl %s\n%s", strings.Join(args, " "), out.String())
		if err != nil {
			fmt.Fprintf(f, "(%v)\n", err)
		}
		f.Close()
	}
	if err != nil {
		return out.String(), fmt.Errorf("ejabberdctl %s: %w: %s", command, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

func (e *ejabberd) start() error {
	// A pid file left by Kill names a dead process.
	if err := os.Remove(e.path("run", "ejabberd.pid")); err != nil && !os.IsNotExist(err) {
		return err
	}
	e.pid = 0
	if e.cluster != nil {
		// `ejabberdctl stop` ends epmd when no node is left.
		if err := e.cluster.ensureEpmd(); err != nil {
			return err
		}
	}
	e.started = time.Now()
	// `start` returns 0 even when the node dies at once: Start waits for the
	// ports, and exited notices a node that is gone.
	return e.ctl(60*time.Second, "start")
}

// findPid returns the OS pid of the node's beam.smp, or 0 if it is unknown.
func (e *ejabberd) findPid() int {
	if e.pid != 0 {
		return e.pid
	}
	if b, err := os.ReadFile(e.path("run", "ejabberd.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && e.owns(pid) {
			e.pid = pid
			return pid
		}
	}
	// ejabberd writes the pid file only once it has started.
	for _, pid := range testkit.PidsMentioning(e.node) {
		if e.owns(pid) {
			e.pid = pid
			return pid
		}
	}
	return 0
}

// owns reports whether pid is this server's beam.smp, so that a recycled pid
// is never signalled.
func (e *ejabberd) owns(pid int) bool {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil || !strings.HasPrefix(string(comm), "beam") {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return err == nil && bytes.Contains(cmdline, []byte(e.node))
}

func (e *ejabberd) exited() bool {
	if pid := e.findPid(); pid != 0 {
		return !testkit.PidAlive(pid)
	}
	// No beam.smp with our node name: it died, unless it is still starting.
	return time.Since(e.started) > 3*time.Second
}

func (e *ejabberd) stop() error {
	pid := e.findPid()
	if pid == 0 || !testkit.PidAlive(pid) {
		return fmt.Errorf("ejabberd node %s is not running", e.node)
	}
	kids := testkit.ChildPids(pid)
	err := e.ctl(60*time.Second, "stop")
	if err == nil {
		err = testkit.WaitPidsExit(30*time.Second, pid)
	}
	if err == nil {
		err = testkit.WaitPidsExit(10*time.Second, kids...)
	}
	if err != nil {
		_ = e.kill()
		return fmt.Errorf("%w; killed it", err)
	}
	return nil
}

func (e *ejabberd) kill() error {
	pid := e.findPid()
	if pid == 0 {
		return fmt.Errorf("no beam.smp found for ejabberd node %s", e.node)
	}
	// beam.smp is not our child (ejabberdctl start detaches it), so there is
	// no process group to kill; its port programs (erl_child_setup) exit
	// once it is gone.
	kids := testkit.ChildPids(pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing ejabberd (pid %d): %w", pid, err)
	}
	if err := testkit.WaitPidsExit(10*time.Second, pid); err != nil {
		return err
	}
	return testkit.WaitPidsExit(10*time.Second, kids...)
}

func (e *ejabberd) pids() []int {
	pid := e.findPid()
	if pid == 0 || !testkit.PidAlive(pid) {
		return nil
	}
	return append([]int{pid}, testkit.ChildPids(pid)...)
}

// register runs `ejabberdctl register`; the node must be running.
func (e *ejabberd) register(user, password string) error {
	return e.ctl(30*time.Second, "register", user, e.s.UsersDomain, password)
}

func (e *ejabberd) log() string {
	var b strings.Builder
	for _, name := range []string{"ejabberd.log", "error.log", "crash.log", "ejabberdctl.out"} {
		p := e.path("logs", name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", name, readFileString(p))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// mergeModules merges the `modules:` section of extra into that of base,
// both ejabberd.yml fragments indented by two spaces a level, as
// contrib/ejabberd/retraction.yml tells admins to: a module base lacks is
// added at the end of base's modules, and the options of a module base has
// are added to its section (ejabberd refuses a module named twice). An
// option both set must be the same line.
func mergeModules(base, extra string) (string, error) {
	xs := strings.Split(extra, "\n")
	xStart, xEnd := yamlBlock(xs, -1, 0, "modules")
	if xStart < 0 {
		return "", fmt.Errorf("no modules section")
	}
	lines := strings.Split(base, "\n")
	for _, mod := range yamlChildren(xs[xStart+1:xEnd], 2) {
		name := yamlKey(mod[0])
		mStart, mEnd := yamlBlock(lines, -1, 0, "modules")
		if mStart < 0 {
			return "", fmt.Errorf("the base has no modules section")
		}
		start, end := yamlBlock(lines[:mEnd], mStart, 2, name)
		if start < 0 {
			lines = slices.Insert(lines, mEnd, mod...)
			continue
		}
		if strings.TrimSpace(lines[start]) != name+":" {
			return "", fmt.Errorf("module %s has an inline value in the base: %q", name, lines[start])
		}
		for _, opt := range yamlChildren(mod[1:], 4) {
			key := yamlKey(opt[0])
			if at, _ := yamlBlock(lines[:end], start, 4, key); at >= 0 {
				if len(opt) == 1 && lines[at] == opt[0] {
					continue
				}
				return "", fmt.Errorf("module %s: option %s is set in both", name, key)
			}
			lines = slices.Insert(lines, end, opt...)
			end += len(opt)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// yamlContent reports whether line holds more than blanks or a comment, and
// its indent.
func yamlContent(line string) (int, bool) {
	t := strings.TrimLeft(line, " ")
	return len(line) - len(t), t != "" && !strings.HasPrefix(t, "#")
}

// yamlKey returns the key of a `key:` line.
func yamlKey(line string) string {
	k, _, _ := strings.Cut(strings.TrimSpace(line), ":")
	return k
}

// yamlBlock finds, after line after, the line `key:` indented by indent, and
// returns its index and the index after the last content line of its block;
// -1 when there is none. The search ends at a content line indented less.
func yamlBlock(lines []string, after, indent int, key string) (start, end int) {
	start = -1
	for i := after + 1; i < len(lines); i++ {
		in, ok := yamlContent(lines[i])
		if !ok {
			continue
		}
		if start < 0 {
			if in < indent {
				return -1, -1
			}
			if in == indent && yamlKey(lines[i]) == key {
				start, end = i, i+1
			}
			continue
		}
		if in <= indent {
			break
		}
		end = i + 1
	}
	return start, end
}

// yamlChildren splits lines into the blocks that start with a content line
// indented by indent, each with its deeper lines; comments and blank lines
// are dropped.
func yamlChildren(lines []string, indent int) [][]string {
	var blocks [][]string
	for _, line := range lines {
		in, ok := yamlContent(line)
		switch {
		case !ok:
		case in == indent:
			blocks = append(blocks, []string{line})
		case in > indent && len(blocks) > 0:
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], line)
		}
	}
	return blocks
}

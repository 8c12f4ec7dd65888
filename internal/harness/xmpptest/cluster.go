package xmpptest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// StartCluster starts nodes ejabberd nodes of this install on loopback and
// joins them into one cluster (`ejabberdctl join_cluster`), then checks that
// `list_cluster` shows them all. It stops them when the test ends. Only
// ejabberd clusters.
//
// Each node is a Server of its own, with its own directories, c2s port and,
// as with StartHA, two component domains ("kick1.localhost" and
// "kick2.localhost"), each on a listener of its own (contrib/ha/ejabberd.yml,
// the same on every node as the contrib file says): ComponentAddrs differ
// from node to node, domains, MUC service and component secret do not.
// Kill, Stop and Start act on one node; a node started again rejoins the
// cluster by itself (its Mnesia schema knows the others).
//
// The nodes share one cookie and have distinct names (mk<random>n1@localhost
// and so on). Unlike a single node (StartEjabberd pins its distribution port
// so that no epmd runs), cluster nodes need epmd to find each other: the
// cluster runs its own, on 127.0.0.1 and a free port (ERL_EPMD_PORT), so an
// epmd already running on 4369 (Debian's ejabberd service) neither breaks
// the cluster nor sees its nodes, and the nodes never start one of their
// own (-start_epmd false). That epmd is ended when the test ends. Under
// -short it skips the test (see SkipIfShort).
func (i Install) StartCluster(tb TB, nodes int) []*Server {
	tb.Helper()
	SkipIfShort(tb)
	if i.Family != "ejabberd" {
		tb.Fatalf("xmpptest: StartCluster: %s is not ejabberd", i.Name())
	}
	if nodes < 1 {
		tb.Fatalf("xmpptest: StartCluster: %d nodes", nodes)
	}
	ports, err := testkit.FreePorts(1)
	if err != nil {
		tb.Fatalf("xmpptest: %v", err)
	}
	c := &cluster{
		cookie:   "mk" + randomHex(16),
		epmdPort: ports[0],
		epmdBin:  scriptSetting(i.Bin, "EPMD"),
		logPath:  tb.TempDir() + "/epmd.log",
	}
	if c.epmdBin == "" {
		c.epmdBin = "epmd"
	}
	// Registered before the nodes' Stop: it runs after them.
	tb.Cleanup(func() {
		if err := c.stopEpmd(); err != nil {
			tb.Errorf("xmpptest: %v", err)
		}
	})
	if err := c.ensureEpmd(); err != nil {
		tb.Fatalf("xmpptest: %v", err)
	}
	prefix := "mk" + randomHex(4)
	var servers []*Server
	for k := range nodes {
		secret := ""
		if k > 0 {
			secret = servers[0].Secret
		}
		s := newEjabberd(tb, i, variant{ha: true}, c, fmt.Sprintf("%sn%d@localhost", prefix, k+1), secret)
		s.launch()
		if k > 0 {
			begin := time.Now()
			if err := s.join(servers[0]); err != nil {
				tb.Fatalf("xmpptest: %v\n--- log of the joining node ---\n%s", err, s.Log())
			}
			tb.Logf("xmpptest: %s joined %s's cluster in %v", s.ErlangNode(), servers[0].ErlangNode(), time.Since(begin).Round(time.Millisecond))
		}
		servers = append(servers, s)
	}
	// join_cluster returns before the join is complete on ejabberd 24.12
	// (list_cluster shows one node for a while): poll.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range servers {
		for {
			got, err := s.ClusterNodes()
			missing := ""
			for _, o := range servers {
				if err == nil && !slices.Contains(got, o.ErlangNode()) {
					missing = o.ErlangNode()
				}
			}
			if err == nil && missing == "" {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("xmpptest: list_cluster on %s shows %q (%v), not %s, 30s after join_cluster", s.ErlangNode(), got, err, missing)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, s := range servers[1:] {
		s.mu.Lock()
		err := s.waitReady()
		s.mu.Unlock()
		if err != nil {
			tb.Fatalf("xmpptest: %s after joining the cluster: %v\n%s", s.ErlangNode(), err, s.Log())
		}
	}
	return servers
}

// join makes s join the cluster of first (`ejabberdctl join_cluster`).
// Joining restarts ejabberd on the node: StartCluster then waits for the
// cluster and the node's ports.
func (s *Server) join(first *Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.proc.(*ejabberd)
	if !ok || e.cluster == nil {
		return errors.New("join: not an ejabberd cluster node")
	}
	return e.ctl(120*time.Second, "join_cluster", first.ErlangNode())
}

// ErlangNode is the Erlang node name of an ejabberd server, e.g.
// "mk1a2b3c4dn2@localhost"; "" for Prosody.
func (s *Server) ErlangNode() string {
	if e, ok := s.proc.(*ejabberd); ok {
		return e.node
	}
	return ""
}

// ClusterNodes runs `ejabberdctl list_cluster` on s (which must be
// running) and returns the nodes it lists.
func (s *Server) ClusterNodes() ([]string, error) {
	e, ok := s.proc.(*ejabberd)
	if !ok {
		return nil, fmt.Errorf("xmpptest: list_cluster: %s is not ejabberd", s.Name())
	}
	out, err := e.ctlOutput(30*time.Second, "list_cluster")
	if err != nil {
		return nil, fmt.Errorf("xmpptest: %w", err)
	}
	var nodes []string
	for _, f := range strings.Fields(out) {
		nodes = append(nodes, strings.Trim(f, "'"))
	}
	return nodes, nil
}

// cluster is what the nodes of one StartCluster share: the cookie and an
// epmd on a port of its own.
type cluster struct {
	cookie   string
	epmdPort int
	epmdBin  string
	logPath  string

	mu       sync.Mutex
	epmd     *exec.Cmd
	epmdDone chan struct{} // closed when epmd has exited
}

// EpmdAddr is the address of a cluster's epmd, e.g. for checks that it has
// ended.
func (c *cluster) epmdAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.epmdPort))
}

// epmdEnv is the environment that points Erlang (ejabberdctl, the nodes,
// epmd's own client commands) at the cluster's epmd.
func (c *cluster) epmdEnv() []string {
	return []string{"ERL_EPMD_PORT=" + strconv.Itoa(c.epmdPort), "ERL_EPMD_ADDRESS=127.0.0.1"}
}

// ensureEpmd starts the cluster's epmd unless it runs: `ejabberdctl stop`
// ends epmd (`epmd -kill`) when no other node is registered in it.
func (c *cluster) ensureEpmd() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epmdDone != nil {
		select {
		case <-c.epmdDone:
		default:
			return nil
		}
	}
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(c.epmdBin, "-port", strconv.Itoa(c.epmdPort), "-address", "127.0.0.1")
	cmd.Env = append(os.Environ(), c.epmdEnv()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting epmd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.epmd, c.epmdDone = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("epmd on %s exited at once: %s", c.epmdAddr(), readFileString(c.logPath))
		default:
		}
		if conn, err := net.DialTimeout("tcp", c.epmdAddr(), time.Second); err == nil {
			conn.Close()
			if testkit.ListensOn(cmd.Process.Pid, c.epmdPort) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("epmd does not listen on %s after 10s", c.epmdAddr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopEpmd ends the cluster's epmd, once the nodes are stopped.
func (c *cluster) stopEpmd() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epmdDone == nil {
		return nil
	}
	_ = c.epmd.Process.Kill()
	select {
	case <-c.epmdDone:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("epmd (pid %d) still running 10s after SIGKILL", c.epmd.Process.Pid)
	}
	if conn, err := net.DialTimeout("tcp", c.epmdAddr(), time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("something still listens on the cluster's epmd port %s", c.epmdAddr())
	}
	return nil
}

// WaitReachable asks to (a room, say) for its disco#info every 500 ms until
// an answer of any type comes back, for at most timeout. On an ejabberd
// cluster a session just opened on one node may not yet be known to the
// other nodes (suspected: ejabberd replicates its session table
// asynchronously), and what they send it meanwhile, such as a room's
// answer to a join, can be lost: call it before joining a room that lives on
// another node than the client's.
func (c *Client) WaitReachable(to string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.iqWithin(500*time.Millisecond, "get", to, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
		var serr *StanzaError
		if err == nil || errors.As(err, &serr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("xmpptest: %s did not answer %s within %v: %w", to, c.JID(), timeout, err)
		}
	}
}

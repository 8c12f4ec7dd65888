package main

// High availability on a two-node ejabberd cluster (xmpptest's
// StartCluster): one muc-kick per node, each with its own component domain
// on its own node's listener, HAProxy (contrib/ha/haproxy.cfg) in front,
// rooms created through either node, occupants on both. They reuse
// ha_test.go's startHAProxy and postKickAbsentOK.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// haCluster is a two-node ejabberd cluster with one muc-kick per node
// behind HAProxy.
type haCluster struct {
	nodes     []*xmpptest.Server
	instances []*testkit.Process // instances[k] is connected to nodes[k]
	lb        *testkit.Process   // HAProxy
}

// startHACluster starts the cluster, muc-kick k on kick<k+1>'s listener of
// node k, and HAProxy.
func startHACluster(t testing.TB, bin string, inst xmpptest.Install) *haCluster {
	t.Helper()
	c := &haCluster{nodes: inst.StartCluster(t, 2)}
	for k, node := range c.nodes {
		c.instances = append(c.instances, startBinary(t, bin, node, binOptions{
			domain: node.ComponentDomains[k],
			server: node.ComponentAddrs[k],
			nick:   fmt.Sprintf("kickbot%d", k+1),
		}))
	}
	for _, p := range c.instances {
		p.WaitReady(t, 15*time.Second)
	}
	c.lb = startHAProxy(t, c.instances...)
	return c
}

// onEachCluster runs f as a subtest, on the cluster of startHACluster for
// each ejabberd install, with muc-kick built once. Without ejabberd it skips
// the test, or fails it under CI, as xmpptest does.
func onEachCluster(t *testing.T, f func(t *testing.T, c *haCluster)) {
	t.Helper()
	bin := buildDaemon(t)
	found := false
	for _, inst := range xmpptest.Installs() {
		if inst.Family != "ejabberd" {
			continue
		}
		found = true
		t.Run(inst.Name(), func(t *testing.T) { f(t, startHACluster(t, bin, inst)) })
	}
	if !found {
		xmpptest.StartEjabberd(t) // skips, or fails under CI
	}
}

// clusterOccupant is an occupant and the node its client is connected to.
type clusterOccupant struct {
	*xmpptest.Occupant
	node int
	body kickBody
}

// populate creates roomsPerNode rooms through each node (the first
// occupant of each, a watcher, connects there), and fills each with perRoom
// occupants, half of them connected to each node. Room <prefix><k> (and
// <prefix><k>_<i>) runs on node k. The occupants are interleaved: rooms and
// nodes take turns.
func (c *haCluster) populate(t testing.TB, prefix string, roomsPerNode, perRoom int) []clusterOccupant {
	t.Helper()
	type room struct {
		jid  string
		node int
	}
	var rooms []room
	for i := range roomsPerNode {
		for r, node := range c.nodes {
			jid := fmt.Sprintf("%s%d@%s", prefix, r, node.MUCDomain)
			if i > 0 {
				jid = fmt.Sprintf("%s%d_%d@%s", prefix, r, i, node.MUCDomain)
			}
			rooms = append(rooms, room{jid, r})
			join(t, node, jid, "watcher")
		}
	}
	var occ []clusterOccupant
	for u := range perRoom {
		for r, rm := range rooms {
			node := u % len(c.nodes)
			o := c.join(t, node, rm.node, rm.jid, fmt.Sprintf("r%du%dn%d", r, u, node+1))
			occ = append(occ, clusterOccupant{o, node, kickBody{o.Nick, rm.jid, "cluster"}})
		}
	}
	return occ
}

// join connects a client to node and enters room, which lives on roomNode,
// as nick. When the two differ it first waits until the room answers the
// client (xmpptest's WaitReachable): a join sent at once was lost now and
// then, on both ejabberd versions.
func (c *haCluster) join(t testing.TB, node, roomNode int, room, nick string) *xmpptest.Occupant {
	t.Helper()
	cl := xmpptest.Connect(t, c.nodes[node])
	if node != roomNode {
		if err := cl.WaitReachable(room, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", nick, err)
		}
	}
	o, err := cl.Join(room, nick)
	if err != nil {
		t.Fatalf("%s cannot join %s: %v", nick, room, err)
	}
	return o
}

// pacedBurst posts one kick every 10 ms through url; once killAt of them
// have been answered, kill runs (in the goroutine of that answer). It
// returns the outcomes and when kill returned.
func pacedBurst(client *http.Client, url string, occ []clusterOccupant, killAt int32, kill func()) ([]haOutcome, time.Time) {
	outcomes := make([]haOutcome, len(occ))
	var wg sync.WaitGroup
	var answered atomic.Int32
	killed := make(chan time.Time, 1)
	for i, o := range occ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = postKickAbsentOK(client, url, o.body)
			if answered.Add(1) == killAt {
				kill()
				killed <- time.Now()
			}
		}()
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	return outcomes, <-killed
}

// TestHAClusterNodeKilled: one ejabberd node of the cluster is killed
// (SIGKILL) in the middle of a paced burst of kicks through HAProxy. Its
// muc-kick loses its stream and goes not ready, HAProxy sends the traffic
// to the other one, and every request is answered (bounded by muc-kick's
// own bound, below the client's 30 s). No false 200: every 200 for an
// occupant connected to the surviving node must be a 307 that occupant
// received. Occupants connected to the killed node lose their connection
// with it, so whether they saw a 307 cannot be checked; they are counted
// apart. Rooms whose process ran on the killed node (those created through
// it) die with it: kicks into them cannot succeed, and are not retried.
// Then the node is started again, its muc-kick is ready again by itself, and
// kicks through it land on occupants of both nodes.
func TestHAClusterNodeKilled(t *testing.T) {
	xmpptest.SkipIfShort(t)
	onEachCluster(t, func(t *testing.T, c *haCluster) {
		const dead = 1 // nodes[1] is killed
		occ := c.populate(t, "nk", 1, 12)
		roomOnDeadNode := fmt.Sprintf("nk%d@%s", dead, c.nodes[dead].MUCDomain)

		client := newKickClient()
		killAt := int32(len(occ) / 6)
		var notReady time.Duration = -1
		outcomes, killed := pacedBurst(client, c.lb.URL(), occ, killAt, func() {
			c.nodes[dead].Kill()
			begin := time.Now()
			for time.Since(begin) < 10*time.Second {
				if code, _ := readyz(c.instances[dead]); code == 503 {
					notReady = time.Since(begin)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		if notReady < 0 {
			t.Errorf("the killed node's muc-kick still ready 10s after the kill")
		}

		var next200 time.Duration = -1
		var verified, onDead, deadRoom int
		for i, out := range outcomes {
			o := occ[i]
			roomOnDead := o.body.MUC == roomOnDeadNode
			switch {
			case out.err != nil:
				t.Errorf("%s: no answer: %v", o.Nick, out.err)
			case out.at.Sub(out.sent) > 21*time.Second:
				// muc-kick's bound: 3 × iq_timeout (5 s here) + 5 s.
				t.Errorf("%s: %d after %s", o.Nick, out.code, out.at.Sub(out.sent))
			case out.code == 200 && o.node == dead:
				onDead++
			case out.code == 200:
				if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Errorf("%s (node %d): a false 200 (absent=%v, sent %s after the kill): %v", o.Nick, o.node+1, out.absent, out.sent.Sub(killed).Round(time.Millisecond), err)
				} else {
					verified++
				}
				if d := out.at.Sub(killed); out.sent.After(killed) && (next200 < 0 || d < next200) {
					next200 = d
				}
			default:
				if roomOnDead {
					deadRoom++
				}
				t.Logf("%s (node %d, room on the %s node): %d %q after %s (sent %s after the kill)", o.Nick, o.node+1,
					map[bool]string{true: "killed", false: "surviving"}[roomOnDead], out.code, out.errText,
					out.at.Sub(out.sent).Round(time.Millisecond), out.sent.Sub(killed).Round(time.Millisecond))
			}
		}
		var counts []kickOutcome
		for _, o := range outcomes {
			counts = append(counts, o.kickOutcome)
		}
		t.Logf("%d kicks through HAProxy, node %d killed after %d answers: %s; %d 200s checked (occupants on the surviving node, 307 received), %d 200s for occupants on the killed node (not checkable), %d not 200 in the room that died with the node; HAProxy retried %d requests; its muc-kick not ready %s after the kill had returned; first 200 of a request sent after the kill %s after it",
			len(outcomes), dead+1, killAt, statusCounts(counts), verified, onDead, deadRoom,
			len(haproxyRetried.FindAllString(c.lb.Logs(), -1)), notReady.Round(time.Millisecond), next200.Round(time.Millisecond))

		// Occupants of the surviving node in the room on the surviving
		// node that did not get a 200 are kicked again: all out.
		for i, out := range outcomes {
			o := occ[i]
			if out.code == 200 || o.node == dead || o.body.MUC == roomOnDeadNode {
				continue
			}
			if again := postKickAbsentOK(client, c.lb.URL(), o.body); again.code != 200 {
				t.Errorf("%s: again: %d %q %v", o.Nick, again.code, again.errText, again.err)
			} else if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
				t.Errorf("%s: again: 200 but %v", o.Nick, err)
			}
		}

		// The node comes back; its muc-kick reconnects by itself, and
		// kicks through it land, on occupants of both nodes, in a room
		// created through either node.
		restarted := time.Now()
		c.nodes[dead].Start()
		c.instances[dead].WaitReady(t, 30*time.Second)
		t.Logf("node %d started again; its muc-kick ready %s after the start", dead+1, time.Since(restarted).Round(time.Millisecond))
		for r, node := range c.nodes {
			room := fmt.Sprintf("back%d@%s", r, node.MUCDomain)
			join(t, node, room, "watcher")
			for k := range c.nodes {
				o := c.join(t, k, r, room, fmt.Sprintf("b%dn%d", r, k+1))
				if out := postKick(client, c.instances[dead].URL(), kickBody{o.Nick, room, "back"}); out.code != 200 {
					t.Errorf("kick of %s (node %d) through the restarted node's muc-kick: %d %q %v", o.Nick, k+1, out.code, out.errText, out.err)
				} else if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Errorf("%s: 200 but %v", o.Nick, err)
				}
			}
		}
	})
}

// TestHAClusterInstanceKilled: on the cluster, the muc-kick connected to
// node 1 is killed (SIGKILL) in the middle of a paced burst through
// HAProxy, as TestHALoadBalancerInstanceKilled does on one server. Every
// request is answered, every 200 is a 307 the occupant received (both nodes
// stay up, so every occupant is checked), and every occupant is out at the
// end (what did not get a 200 is sent again, as a backend would).
func TestHAClusterInstanceKilled(t *testing.T) {
	xmpptest.SkipIfShort(t)
	onEachCluster(t, func(t *testing.T, c *haCluster) {
		occ := c.populate(t, "ik", 1, 12)
		client := newKickClient()
		killAt := int32(len(occ) / 6)
		outcomes, killed := pacedBurst(client, c.lb.URL(), occ, killAt, func() { kill9(t, c.instances[0]) })

		var next200 time.Duration = -1
		var counts []kickOutcome
		absent := 0
		for i, out := range outcomes {
			o := occ[i]
			counts = append(counts, out.kickOutcome)
			switch {
			case out.err != nil:
				t.Errorf("%s: no answer: %v", o.Nick, out.err)
			case out.code == 200:
				if out.absent {
					absent++
				}
				if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Errorf("%s (node %d): a false 200 (absent=%v): %v", o.Nick, o.node+1, out.absent, err)
				}
				if d := out.at.Sub(killed); out.sent.After(killed) && (next200 < 0 || d < next200) {
					next200 = d
				}
			default:
				t.Logf("%s (node %d): %d %q (sent %s after the kill)", o.Nick, o.node+1, out.code, out.errText, out.sent.Sub(killed).Round(time.Millisecond))
			}
		}
		t.Logf("%d kicks through HAProxy on the cluster, the muc-kick of node 1 killed after %d answers: %s (%d of the 200s absent); HAProxy retried %d requests; first 200 of a request sent after the kill %s after it",
			len(outcomes), killAt, statusCounts(counts), absent, len(haproxyRetried.FindAllString(c.lb.Logs(), -1)), next200.Round(time.Millisecond))

		for i, out := range outcomes {
			if out.code != 200 {
				if again := postKickAbsentOK(client, c.lb.URL(), occ[i].body); again.code != 200 {
					t.Errorf("%s: again: %d %q %v", occ[i].Nick, again.code, again.errText, again.err)
				}
			}
		}
		for _, o := range occ {
			if !gotKicked(o.Occupant) {
				if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Errorf("%s (node %d) is still in %s: %v", o.Nick, o.node+1, o.Room, err)
				}
			}
		}
	})
}

// BenchmarkHACluster (`make bench-ha`) measures, on the two-node cluster of
// each ejabberd found, the kicks per second through HAProxy with one
// muc-kick behind it (both of HAProxy's servers are the same instance)
// against two (one per node), and the failover time: from kill -9 of one
// muc-kick in a paced burst to the next 200 of a request sent after the
// kill. Every 200 is checked against the occupant's 307. It runs once,
// whatever b.N is: run it with -benchtime 1x.
func BenchmarkHACluster(b *testing.B) {
	const roomsPerNode, perRoom, workers = 4, 25, 16
	bin := buildDaemon(b)
	for _, inst := range xmpptest.Installs() {
		if inst.Family != "ejabberd" {
			continue
		}
		b.Run(inst.Name(), func(b *testing.B) {
			c := startHACluster(b, bin, inst)
			one := startHAProxy(b, c.instances[0], c.instances[0]).URL()
			client := &http.Client{Timeout: resilienceClientTimeout}
			for k, setup := range []struct{ name, url string }{{"1 instance", one}, {"2 instances", c.lb.URL()}} {
				occ := c.populate(b, fmt.Sprintf("bench%d_", k), roomsPerNode, perRoom)
				var next atomic.Int32
				var wg sync.WaitGroup
				codes := make([]int, len(occ))
				begin := time.Now()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := int(next.Add(1)) - 1; i < len(occ); i = int(next.Add(1)) - 1 {
							codes[i] = postKick(client, setup.url, occ[i].body).code
						}
					}()
				}
				wg.Wait()
				took := time.Since(begin)
				for i, o := range occ {
					if codes[i] != 200 {
						b.Errorf("%s: %s: %d", setup.name, o.Nick, codes[i])
					} else if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
						b.Errorf("%s: %s: 200 but %v", setup.name, o.Nick, err)
					}
				}
				rate := float64(len(occ)) / took.Seconds()
				b.Logf("%s: %d kicks (%d rooms, occupants on both nodes), %d at a time, through HAProxy: %s, %.0f kicks/s",
					setup.name, len(occ), roomsPerNode*len(c.nodes), workers, took.Round(time.Millisecond), rate)
				b.ReportMetric(rate, "kicks/s("+strings.ReplaceAll(setup.name, " ", "-")+")")
			}

			occ := c.populate(b, "failover", 1, 12)
			outcomes, killed := pacedBurst(newKickClient(), c.lb.URL(), occ, int32(len(occ)/6), func() { kill9(b, c.instances[0]) })
			var next200 time.Duration = -1
			for i, out := range outcomes {
				if out.code == 200 {
					if _, _, err := occ[i].WaitKicked(5 * time.Second); err != nil {
						b.Errorf("failover: %s: 200 but %v", occ[i].Nick, err)
					}
					if d := out.at.Sub(killed); out.sent.After(killed) && (next200 < 0 || d < next200) {
						next200 = d
					}
				}
			}
			var counts []kickOutcome
			for _, o := range outcomes {
				counts = append(counts, o.kickOutcome)
			}
			b.Logf("failover: kill -9 of one muc-kick after %d of %d kicks paced 10 ms apart: %s; first 200 of a request sent after the kill %s after it",
				len(occ)/6, len(occ), statusCounts(counts), next200.Round(time.Millisecond))
			b.ReportMetric(float64(next200.Milliseconds()), "failover-ms")
		})
	}
}

package xmpptest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// TestCluster: two ejabberd nodes joined into one cluster on loopback.
// Occupants connected to either node share a room; a component connected
// to node 2 kicks an occupant connected to node 1; node 2 killed and
// started again rejoins the cluster; the cluster's epmd is gone at the end.
func TestCluster(t *testing.T) {
	found := false
	for _, inst := range Installs() {
		if inst.Family != "ejabberd" {
			continue
		}
		found = true
		t.Run(inst.Name(), func(t *testing.T) {
			var epmdAddr string
			t.Run("cluster", func(t *testing.T) {
				begin := time.Now()
				nodes := inst.StartCluster(t, 2)
				t.Logf("two-node cluster up in %v", time.Since(begin).Round(time.Millisecond))
				n1, n2 := nodes[0], nodes[1]
				epmdAddr = n1.proc.(*ejabberd).cluster.epmdAddr()
				if n1.ErlangNode() == n2.ErlangNode() || n1.ClientAddr == n2.ClientAddr ||
					n1.ComponentAddrs[0] == n2.ComponentAddrs[0] || n1.ComponentAddrs[1] == n2.ComponentAddrs[1] || n1.Dir == n2.Dir {
					t.Fatalf("nodes share a name, port or dir: %+v / %+v", n1, n2)
				}
				if strings.Join(n1.ComponentDomains, " ") != strings.Join(n2.ComponentDomains, " ") || n1.Secret != n2.Secret {
					t.Fatalf("nodes differ in component domains or secret: %v / %v", n1.ComponentDomains, n2.ComponentDomains)
				}

				room := "c1@" + n1.MUCDomain
				// bob creates the room through node 2 (and owns it); alice
				// joins through node 1.
				bob, err := Connect(t, n2).Join(room, "bob")
				if err != nil {
					t.Fatal(err)
				}
				ac := Connect(t, n1)
				if err := ac.WaitReachable(room, waitTimeout); err != nil {
					t.Fatal(err)
				}
				alice, err := ac.Join(room, "alice")
				if err != nil {
					t.Fatal(err)
				}
				if !alice.Present("bob") {
					t.Error("alice (node 1) does not see bob (node 2)")
				}
				if _, err := bob.WaitPresence(waitTimeout, func(p Presence) bool { return p.From == room+"/alice" && p.Type == "" }); err != nil {
					t.Fatalf("bob (node 2) does not see alice (node 1): %v", err)
				}

				comp := dialComponent(t, n2) // kick1's listener on node 2
				from := n2.ComponentDomain + "/c"
				comp.send(fmt.Sprintf("<presence from='%s' to='%s/kickbot'><x xmlns='http://jabber.org/protocol/muc'/></presence>", from, room))
				self := parsePresence(comp.waitFor("own presence", func(el *element) bool {
					return el.XMLName.Local == "presence" && el.attr("from") == room+"/kickbot"
				}))
				t.Logf("component's own presence through node 2: %s", self.Raw)
				comp.send(fmt.Sprintf("<iq type='set' id='k1' from='%s' to='%s'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='alice' role='none'/></query></iq>", from, room))
				if res := comp.waitFor("kick result", func(el *element) bool { return el.XMLName.Local == "iq" && el.attr("id") == "k1" }); res.attr("type") != "result" {
					t.Fatalf("kick through node 2: %s", res.raw)
				}
				if _, _, err := alice.WaitKicked(waitTimeout); err != nil {
					t.Fatalf("alice (node 1), kicked through node 2: %v", err)
				}

				pids := n2.pids()
				begin = time.Now()
				n2.Kill()
				for _, pid := range pids {
					if testkit.PidAlive(pid) {
						t.Errorf("process %d of node 2 alive after Kill", pid)
					}
				}
				if _, err := bob.WaitPresence(waitTimeout, func(Presence) bool { return false }); err == nil || !strings.Contains(err.Error(), "clos") {
					t.Logf("bob after node 2's death: %v", err)
				}
				// A room whose process ran on node 2 (c1, created through it)
				// is gone with it; node 1 serves new rooms.
				room2 := "c2@" + n1.MUCDomain
				if _, err := Connect(t, n1).Join(room2, "carol"); err != nil {
					t.Fatalf("node 1 after node 2's death: %v", err)
				}
				n2.Start()
				t.Logf("node 2 killed and started again in %v", time.Since(begin).Round(time.Millisecond))
				deadline := time.Now().Add(20 * time.Second)
				for {
					got, err := n1.ClusterNodes()
					if err == nil && strings.Contains(strings.Join(got, " "), n2.ErlangNode()) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("node 2 is not back in list_cluster: %q %v", got, err)
					}
					time.Sleep(200 * time.Millisecond)
				}
				dc := Connect(t, n2)
				if err := dc.WaitReachable(room2, waitTimeout); err != nil {
					t.Fatal(err)
				}
				dave, err := dc.Join(room2, "dave")
				if err != nil {
					t.Fatalf("node 2 after restart: %v", err)
				}
				if !dave.Present("carol") {
					t.Error("dave (node 2, restarted) does not see carol (node 1)")
				}
			})
			if epmdAddr == "" {
				return
			}
			if c, err := net.DialTimeout("tcp", epmdAddr, time.Second); err == nil {
				c.Close()
				t.Errorf("the cluster's epmd still listens on %s after the test", epmdAddr)
			}
		})
	}
	if !found {
		RequireServer(t, "ejabberd")
	}
}

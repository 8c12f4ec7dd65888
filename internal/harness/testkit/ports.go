package testkit

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Free ports are drawn from [portMin, portMax].
const (
	portMin = 20000
	portMax = 32767
)

var (
	pickedMu sync.Mutex
	picked   = make(map[int]bool)
)

// FreePorts returns n ports free on 127.0.0.1 for a server to listen on
// (an XMPP server, HAProxy, the daemon of the demo or the benchmark). They
// are drawn at random below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768 and up by default): a port
// from that range, even one free when picked, can be taken by any outgoing
// connection before the server binds it, and the tests make thousands. A
// port is never handed out twice on this machine while the process that
// got it runs (reservePort), and is checked free by binding it.
func FreePorts(n int) ([]int, error) {
	pickedMu.Lock()
	defer pickedMu.Unlock()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("testkit: couldn't find a free port in 20000-32767")
		}
		port := portMin + rand.IntN(portMax-portMin+1)
		if picked[port] || !reservePort(port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		picked[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

// FreePort is FreePorts for one port; it fails tb if there is none.
func FreePort(tb TB) int {
	tb.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	return ports[0]
}

package app

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// LimitListener returns a listener that holds at most n accepted
// connections open at once: past n, Accept waits for one to close, and the
// connections wait in the kernel's backlog. Each open connection costs
// memory (buffers, a goroutine), so without a cap, idle or slow peers could
// grow the process at will.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// loopbackOnly serves h to peers on the loopback interface that no proxy
// stands in front of, and 404 to others: /metrics on the API's listener,
// which may face a network, shows nothing to it.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		proxied := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
		if err != nil || !ap.Addr().Unmap().IsLoopback() || proxied {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

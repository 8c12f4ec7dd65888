package config

import (
	"fmt"
	"net"
)

// Warnings lists what in c works but weakens muc-kick's security, each as
// one line that names the key and says what to do. -check-config prints
// them and the daemon logs them at startup.
func (c *Config) Warnings() []string {
	var w []string
	if !loopbackHost(c.Component.Server) {
		w = append(w, fmt.Sprintf("component.server %q is not on loopback: XEP-0114 is plain TCP with a SHA-1 handshake, so anyone on the path can read the stream and try the secret offline; run muc-kick on the server's host, or keep the link on a private network or in a TLS tunnel", c.Component.Server))
	}
	for _, cl := range c.HTTP.Clients {
		if cl.AuthorizationSHA256 != "" {
			w = append(w, fmt.Sprintf("http.client %q: authorization_sha256 is an unsalted fast hash in a file others may read: a weak password can be found from it offline; use authorization_argon2id (muc-kick credential hash makes it)", cl.Name))
		}
	}
	return w
}

// loopbackHost reports whether the host of hostPort is a loopback address
// or "localhost".
func loopbackHost(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package component

import (
	"bytes"
	"strings"
)

// JIDs as the component compares them.

// isServer reports whether from is the XMPP server the component is
// attached to (the parent of its domain) or the address keepalives go to.
func (c *Component) isServer(from string) bool {
	return from != "" && (strings.EqualFold(from, parentDomain(c.opts.Domain)) || strings.EqualFold(from, c.opts.KeepaliveTo))
}

// domainOf is the domain part of a JID.
func domainOf(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		jid = jid[:i]
	}
	if i := strings.IndexByte(jid, '@'); i >= 0 {
		jid = jid[i+1:]
	}
	return jid
}

// parentDomain is the domain a component's JID lives under
// ("kick.example.org" → "example.org"), where keepalive pings go.
func parentDomain(d string) string {
	for i := 0; i < len(d); i++ {
		if d[i] == '.' && i+1 < len(d) {
			return d[i+1:]
		}
	}
	return d
}

// sameJID compares two JIDs as XMPP does for routing: domain and node are
// case-insensitive here, resources are not.
func sameJID(a, b string) bool {
	if a == b {
		return true
	}
	ab, ar := splitResource(a)
	bb, br := splitResource(b)
	return ar == br && bytes.EqualFold([]byte(ab), []byte(bb))
}

func splitResource(j string) (bare, resource string) {
	for i := 0; i < len(j); i++ {
		if j[i] == '/' {
			return j[:i], j[i+1:]
		}
	}
	return j, ""
}

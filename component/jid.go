package component

import "github.com/muc-kick/muc-kick/internal/jid"

// JIDs as the component compares them: as the server sent them, through
// jid.FromServer (split, local and domain parts lower-cased).

// isServer reports whether from is the XMPP server the component is
// attached to (the parent of its domain) or the address keepalives go to.
func (c *Component) isServer(from string) bool {
	f, ok := jid.FromServer(from)
	return ok && (f.Equal(c.parent) || f.Equal(c.keepaliveTo))
}

// onDomain reports whether j is a JID on one of domains (lower case).
func onDomain(j string, domains []string) bool {
	f, ok := jid.FromServer(j)
	if !ok {
		return false
	}
	d := f.Domain().String()
	for _, rd := range domains {
		if d == rd {
			return true
		}
	}
	return false
}

// isBareRoom reports whether j is a bare JID with a local part (a room's).
func isBareRoom(j string) bool {
	f, ok := jid.FromServer(j)
	return ok && f.Local() != "" && f.IsBare()
}

// parentOf is the domain a component's JID lives under
// ("kick.example.org" → "example.org"), where keepalive pings go; a domain of
// one label is its own parent.
func parentOf(domain string) jid.JID {
	d, _ := jid.FromServer(domain)
	if p, ok := d.Parent(); ok {
		return p
	}
	return d
}

// sameJID compares two JIDs as XMPP does for routing: domain and node are
// case-insensitive here, resources are not.
func sameJID(a, b string) bool {
	if a == b {
		return true
	}
	ja, okA := jid.FromServer(a)
	jb, okB := jid.FromServer(b)
	return okA && okB && ja.Equal(jb)
}

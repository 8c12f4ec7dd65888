package muc

// Server detection and setup advice: which software the XMPP server runs
// (XEP-0092, disco#info identities) and what its admin must change so that
// the component is a moderator in every room. Apart from the room logic;
// `muc-kick check` uses it too.

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// ModeratorFix names what the admin of the XMPP server must change so that
// the component componentDomain becomes a moderator in every room, for the
// server software and version it reported (XEP-0092; "" when unknown). When
// the software or, for Prosody, its version is unknown, it names every fix
// that may apply. `muc-kick check` prints it too.
func ModeratorFix(software, version, componentDomain string) string {
	prosody012 := fmt.Sprintf(`add admins = { %q } to prosody.cfg.lua (global, or in the MUC Component's section: Prosody 0.12 makes component admins owners of every room) and restart Prosody`, componentDomain)
	prosody13 := fmt.Sprintf(`set component_admins_as_room_owners = true in the MUC Component's section of prosody.cfg.lua and keep admins = { %q } (global or in that section: since Prosody 13 component admins are not room owners by default), then restart Prosody`, componentDomain)
	ejabberd := fmt.Sprintf(`in ejabberd.yml add the acl "muc_admin: server: %s" (a "user:" acl means a local account and does not match a component), the access rule "muc_admin: allow: muc_admin", and "access_admin: muc_admin" in the mod_muc section, then restart ejabberd`, componentDomain)
	switch serverFamily(software) {
	case "prosody":
		switch major, ok := majorVersion(version); {
		case ok && major >= 13:
			return prosody13
		case ok:
			return prosody012
		}
		return "on Prosody 0.12: " + prosody012 + "; on Prosody 13 or later: " + prosody13
	case "ejabberd":
		return ejabberd
	}
	return "on Prosody 0.12: " + prosody012 + "; on Prosody 13 or later: " + prosody13 + "; on ejabberd: " + ejabberd
}

// serverFamily is "prosody", "ejabberd" or "" for a software name.
func serverFamily(software string) string {
	s := strings.ToLower(software)
	switch {
	case strings.Contains(s, "prosody"):
		return "prosody"
	case strings.Contains(s, "ejabberd"):
		return "ejabberd"
	}
	return ""
}

// majorVersion is the number before the first dot of a version such as
// "13.0.1" or "0.12.3".
func majorVersion(v string) (int, bool) {
	head, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	n, err := strconv.Atoi(head)
	return n, err == nil && n >= 0
}

// describeServer names a server for a message.
func describeServer(software, version string) string {
	if software == "" {
		return "unknown software"
	}
	if version == "" {
		return software + ", version unknown"
	}
	return software + " " + version
}

// serverInfo is what the server said it is, learnt once per session.
type serverInfo struct {
	done              chan struct{} // closed when software and version are set
	software, version string
}

// versionQuery asks an entity which software it runs (XEP-0092).
type versionQuery struct {
	XMLName xml.Name `xml:"jabber:iq:version query"`
}

// ServerSoftware returns the XMPP server's software name and version ("" when
// the server does not say), as the manager learns them to name a fix;
// `muc-kick check` reports them. They are asked for the first time in a
// session and cached until the session changes: it asks the MUC service
// mucDomain and its parent domain (the virtual host, on a usual setup) for
// their version (XEP-0092) and identity (XEP-0030) all at once, so it takes
// at most one IQ timeout.
//
// Observed (by hand, mod_version loaded as in the stock configs): the virtual
// host answers the version on Prosody 0.12.3 ("Prosody" "0.12.3"), Prosody
// 13.0.1 ("Prosody" "13.0.1"), ejabberd 23.01 ("ejabberd" "23.01-1") and
// 24.12 ("ejabberd" "24.12-3~bpo12+1"); the MUC service answers
// service-unavailable on all four (the test harness loads mod_version and has
// the parent domain as a virtual host, like a usual setup). Without
// mod_version the identities still tell the family: Prosody's MUC service is
// "Prosody Chatrooms" (unless renamed) and its hosts "Prosody"; ejabberd's
// MUC service is "Chatrooms" and its hosts "ejabberd".
func (m *Manager) ServerSoftware(mucDomain jid.JID) (software, version string) {
	m.mu.Lock()
	s := m.server
	mine := s == nil
	if mine {
		s = &serverInfo{done: make(chan struct{})}
		m.server = s
	}
	m.mu.Unlock()
	if !mine {
		select {
		case <-s.done:
			return s.software, s.version
		case <-m.ctx.Done():
			return "", ""
		}
	}
	s.software, s.version = m.askSoftware(mucDomain)
	close(s.done)
	if s.software == "" {
		m.log.Info("muc: the XMPP server did not say which software it runs", "asked", mucDomain)
	}
	return s.software, s.version
}

// askSoftware sends the version and identity queries at once and combines
// the answers: a version answer naming a known server first, then an
// identity naming one.
func (m *Manager) askSoftware(mucDomain jid.JID) (string, string) {
	targets := []string{mucDomain.String()}
	if parent, ok := mucDomain.Parent(); ok {
		targets = append(targets, parent.String())
	}
	type answer struct{ name, version, identity string }
	answers := make([]answer, len(targets))
	var wg sync.WaitGroup
	for i, to := range targets {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if iq, err := m.conn.IQ(m.ctx, "get", "", to, versionQuery{}); err == nil {
				if v, ok := iq.Payload.(*stanza.Version); ok {
					answers[i].name, answers[i].version = strings.TrimSpace(v.Name), strings.TrimSpace(v.Version)
				}
			}
		}()
		go func() {
			defer wg.Done()
			if iq, err := m.conn.IQ(m.ctx, "get", "", to, discoInfoQuery{}); err == nil {
				if d, ok := iq.Payload.(*stanza.DiscoInfo); ok {
					for _, id := range d.Identity {
						if serverFamily(id.Name) != "" {
							answers[i].identity = id.Name
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if serverFamily(a.name) != "" {
			return a.name, a.version
		}
	}
	for _, a := range answers {
		if f := serverFamily(a.identity); f != "" {
			return map[string]string{"prosody": "Prosody", "ejabberd": "ejabberd"}[f], ""
		}
	}
	for _, a := range answers {
		if a.name != "" {
			return a.name, a.version
		}
	}
	return "", ""
}

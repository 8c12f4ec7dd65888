package xmpptest

import (
	"fmt"
	"strings"
	"time"
)

// Helpers for the tests of the moderation toolbox: what an occupant reads
// in a room, and the affiliation lists an owner manages.

// WaitMessage waits up to timeout for a groupchat message from nick in the
// room of o with body, and returns it as received. Each message is returned
// at most once, as with WaitRetraction.
func (o *Occupant) WaitMessage(nick, body string, timeout time.Duration) (string, error) {
	m, err := o.c.waitMessage(timeout, fmt.Sprintf("message %q from %s/%s", body, o.Room, nick), func(m *element) bool {
		room, from, ok := strings.Cut(m.attr("from"), "/")
		if !ok || from != nick || !strings.EqualFold(room, o.Room) || m.attr("type") != "groupchat" {
			return false
		}
		b := m.child(nsClient, "body")
		return b != nil && b.Text == body
	})
	if err != nil {
		return "", err
	}
	return m.raw, nil
}

// Retractions returns every moderated retraction (XEP-0425) the client of
// o has received from the room of o so far, whether WaitRetraction returned
// it or not.
func (o *Occupant) Retractions() []Retraction {
	c := o.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Retraction
	for _, m := range c.messages {
		if !strings.EqualFold(m.attr("from"), o.Room) || m.attr("type") != "groupchat" {
			continue
		}
		if r, ok := parseRetraction(m); ok {
			out = append(out, r)
		}
	}
	return out
}

// Bodies returns the bodies of the groupchat messages the client of o has
// received from the room of o so far, each prefixed with its sender's nick
// and ": ".
func (o *Occupant) Bodies() []string {
	c := o.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.messages {
		room, nick, _ := strings.Cut(m.attr("from"), "/")
		if !strings.EqualFold(room, o.Room) || m.attr("type") != "groupchat" {
			continue
		}
		if b := m.child(nsClient, "body"); b != nil {
			out = append(out, nick+": "+b.Text)
		}
	}
	return out
}

// SetAffiliation sends an owner's or admin's change of the affiliation of
// the bare JID jid in room (XEP-0045 §9, §10), e.g. "member", and waits for
// the result; a refusal is a *StanzaError.
func (c *Client) SetAffiliation(room, jid, affiliation, reason string) error {
	r := ""
	if reason != "" {
		r = "<reason>" + escape(reason) + "</reason>"
	}
	_, err := c.iq("set", room, fmt.Sprintf("<query xmlns='%s'><item jid='%s' affiliation='%s'>%s</item></query>",
		nsMUCAdmin, escape(jid), escape(affiliation), r))
	return err
}

// AffiliationList asks room for the JIDs holding affiliation (XEP-0045
// §9.5, §10.5), as an owner or admin may, and returns them as the room
// wrote them; a refusal is a *StanzaError.
func (c *Client) AffiliationList(room, affiliation string) ([]string, error) {
	res, err := c.iq("get", room, fmt.Sprintf("<query xmlns='%s'><item affiliation='%s'/></query>", nsMUCAdmin, escape(affiliation)))
	if err != nil {
		return nil, err
	}
	q := res.child(nsMUCAdmin, "query")
	if q == nil {
		return nil, fmt.Errorf("xmpptest: no muc#admin query in %s", res.raw)
	}
	var jids []string
	for _, k := range q.Kids {
		if k.XMLName.Space == nsMUCAdmin && k.XMLName.Local == "item" {
			jids = append(jids, k.attr("jid"))
		}
	}
	return jids, nil
}

package xmpptest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The versions of XEP-0425 (moderated message retraction), by the namespace
// a room advertises for each in its disco#info.
const (
	NSModerate0 = "urn:xmpp:message-moderate:0" // 0.2: <apply-to xmlns='urn:xmpp:fasten:0'> in the IQ and the broadcast
	NSModerate1 = "urn:xmpp:message-moderate:1" // 0.3: <moderate id=…> in the IQ, <retract id=…> in the broadcast
)

// Namespaces of voice, archives and retraction.
const (
	nsDiscoInfo     = "http://jabber.org/protocol/disco#info"
	nsMUCAdmin      = "http://jabber.org/protocol/muc#admin"
	nsSID           = "urn:xmpp:sid:0"
	nsMAM           = "urn:xmpp:mam:2"
	nsForward       = "urn:xmpp:forward:0"
	nsRSM           = "http://jabber.org/protocol/rsm"
	nsFasten        = "urn:xmpp:fasten:0"
	nsRetract0      = "urn:xmpp:message-retract:0"
	nsRetract1      = "urn:xmpp:message-retract:1"
	messageWait     = 10 * time.Second // waiting for the echo of an own message
	archivePages    = 100              // the most pages ArchivedMessages asks for
	archivePageSize = 100              // messages per page
)

// handleMessage records a message for waitMessage and Unsolicited.
func (c *Client) handleMessage(el *element) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unsolicited = append(c.unsolicited, el.raw)
	c.messages = append(c.messages, el)
	c.msgTaken = append(c.msgTaken, false)
	close(c.msgChanged)
	c.msgChanged = make(chan struct{})
}

// waitMessage returns the first message received, before or during the
// call, that no earlier waitMessage returned and that matches match, waiting
// up to timeout for it. match runs with c.mu held.
func (c *Client) waitMessage(timeout time.Duration, what string, match func(*element) bool) (*element, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for i, m := range c.messages {
			if !c.msgTaken[i] && match(m) {
				c.msgTaken[i] = true
				c.mu.Unlock()
				return m, nil
			}
		}
		changed := c.msgChanged
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.done:
			return nil, c.closedErr()
		case <-timer.C:
			return nil, fmt.Errorf("xmpptest: no %s within %v", what, timeout)
		}
	}
}

// bareJID returns jid without its resource.
func bareJID(jid string) string {
	bare, _, _ := strings.Cut(jid, "/")
	return bare
}

// Say sends body to the room of o as a groupchat message and waits up to
// 10 s for the room's answer: the message as the room sends it back to its
// sender, of which Say returns the stanza id the room assigned (XEP-0359
// <stanza-id by='room@service'/>, "" when the room adds none, as rooms
// without an archive may), or the room's refusal (a message of type error,
// e.g. a muted visitor's), returned as an error wrapping a *StanzaError.
func (o *Occupant) Say(body string) (stanzaID string, err error) {
	c := o.c
	// Unique across clients: every occupant receives the message with it.
	id := "xm" + randomHex(4) + "-" + strconv.FormatUint(c.ids.Add(1), 10)
	if err := c.write(fmt.Sprintf("<message type='groupchat' id='%s' to='%s'><body>%s</body></message>", id, escape(o.Room), escape(body))); err != nil {
		return "", err
	}
	self := "/" + o.nick()
	m, err := c.waitMessage(messageWait, "answer to message "+id+" from "+o.Room, func(m *element) bool {
		from := m.attr("from")
		if m.attr("id") != id || !strings.EqualFold(bareJID(from), o.Room) {
			return false
		}
		switch m.attr("type") {
		case "groupchat":
			return from[len(o.Room):] == self
		case "error":
			return true
		}
		return false
	})
	if err != nil {
		return "", err
	}
	if m.attr("type") == "error" {
		se := m.stanzaError()
		if se == nil {
			se = &StanzaError{Condition: "undefined-condition", Text: "error message without <error/>"}
		}
		return "", fmt.Errorf("xmpptest: %s refused the message: %w", o.Room, se)
	}
	return roomStanzaID(m, o.Room), nil
}

// nick returns the occupant's nick, which the room may have changed.
func (o *Occupant) nick() string {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	return o.Nick
}

// roomStanzaID returns the id of m's <stanza-id/> by room, or "".
func roomStanzaID(m *element, room string) string {
	for _, k := range m.Kids {
		if k.XMLName.Space == nsSID && k.XMLName.Local == "stanza-id" && strings.EqualFold(k.attr("by"), room) {
			return k.attr("id")
		}
	}
	return ""
}

// WaitRole waits up to timeout for a presence from the room announcing that
// nick has role (e.g. "visitor" after a mute, "participant" after an
// unmute). Like WaitPresence, each presence is returned at most once.
func (o *Occupant) WaitRole(nick, role string, timeout time.Duration) (Presence, error) {
	p, err := o.wait(timeout, true, func(p Presence) bool {
		return p.Type == "" && strings.EqualFold(bareJID(p.From), o.Room) && strings.TrimPrefix(p.From, bareJID(p.From)+"/") == nick && p.Role == role
	})
	if err != nil {
		return Presence{}, fmt.Errorf("xmpptest: %s/%s: no role %s seen: %w", o.Room, nick, role, err)
	}
	return p, nil
}

// SetRole sends the moderator's role change (XEP-0045 §8.3-8.5) of nick in
// room, e.g. "visitor" to mute and "participant" to unmute, and waits for
// the result; a refusal is returned as a *StanzaError.
func (c *Client) SetRole(room, nick, role, reason string) error {
	r := ""
	if reason != "" {
		r = "<reason>" + escape(reason) + "</reason>"
	}
	_, err := c.iq("set", room, fmt.Sprintf("<query xmlns='%s'><item nick='%s' role='%s'>%s</item></query>", nsMUCAdmin, escape(nick), escape(role), r))
	return err
}

// Features returns the features that to advertises in its disco#info (e.g. a
// room's "urn:xmpp:message-moderate:1"); a refusal is a *StanzaError.
func (c *Client) Features(to string) ([]string, error) {
	res, err := c.iq("get", to, "<query xmlns='"+nsDiscoInfo+"'/>")
	if err != nil {
		return nil, err
	}
	q := res.child(nsDiscoInfo, "query")
	if q == nil {
		return nil, fmt.Errorf("xmpptest: no disco#info query in %s", res.raw)
	}
	var features []string
	for _, k := range q.Kids {
		if k.XMLName.Space == nsDiscoInfo && k.XMLName.Local == "feature" {
			features = append(features, k.attr("var"))
		}
	}
	return features, nil
}

// Moderate sends the XEP-0425 IQ that retracts the message with stanza id
// stanzaID from room, in the version named by ns (NSModerate0 or
// NSModerate1), and waits for the result; a refusal is a *StanzaError. The
// sender must be a moderator of the room.
func (c *Client) Moderate(room, stanzaID, ns, reason string) error {
	r := ""
	if reason != "" {
		r = "<reason>" + escape(reason) + "</reason>"
	}
	var payload string
	switch ns {
	case NSModerate0:
		payload = fmt.Sprintf("<apply-to xmlns='%s' id='%s'><moderate xmlns='%s'><retract xmlns='%s'/>%s</moderate></apply-to>",
			nsFasten, escape(stanzaID), NSModerate0, nsRetract0, r)
	case NSModerate1:
		payload = fmt.Sprintf("<moderate id='%s' xmlns='%s'><retract xmlns='%s'/>%s</moderate>",
			escape(stanzaID), NSModerate1, nsRetract1, r)
	default:
		return fmt.Errorf("xmpptest: %q is not a XEP-0425 namespace", ns)
	}
	_, err := c.iq("set", room, payload)
	return err
}

// Retraction is a moderated retraction (XEP-0425) as an occupant receives it
// from the room: one message that may carry it in both versions.
type Retraction struct {
	ID string // the stanza id of the retracted message
	// Forms are the versions the message carries it in: NSModerate0
	// (<apply-to xmlns='urn:xmpp:fasten:0' id=…><moderated …><retract
	// xmlns='urn:xmpp:message-retract:0'/>) and NSModerate1 (<retract
	// id=… xmlns='urn:xmpp:message-retract:1'><moderated
	// xmlns='urn:xmpp:message-moderate:1' …/>).
	Forms  []string
	By     string // the moderated element's by attribute (the moderator's room JID), if given
	Reason string // the reason, if given
	Raw    string // the message as received
}

// parseRetraction returns the retraction m carries, if any.
func parseRetraction(m *element) (Retraction, bool) {
	r := Retraction{Raw: m.raw}
	if a := m.child(nsFasten, "apply-to"); a != nil {
		if mod := a.child(NSModerate0, "moderated"); mod != nil && mod.child(nsRetract0, "retract") != nil {
			r.ID, r.By = a.attr("id"), mod.attr("by")
			r.Forms = append(r.Forms, NSModerate0)
			if reason := mod.child(NSModerate0, "reason"); reason != nil {
				r.Reason = reason.Text
			}
		}
	}
	if ret := m.child(nsRetract1, "retract"); ret != nil {
		if mod := ret.child(NSModerate1, "moderated"); mod != nil {
			if r.ID != "" && r.ID != ret.attr("id") {
				return Retraction{}, false // two ids: not something a room sends
			}
			r.ID = ret.attr("id")
			if r.By == "" {
				r.By = mod.attr("by")
			}
			r.Forms = append(r.Forms, NSModerate1)
			// Prosody puts the reason in the retract namespace, ejabberd
			// 24.12 in the moderate one.
			for _, ns := range []string{nsRetract1, NSModerate1} {
				if reason := ret.child(ns, "reason"); reason != nil && r.Reason == "" {
					r.Reason = reason.Text
				}
			}
		}
	}
	return r, len(r.Forms) > 0
}

// WaitRetraction waits up to timeout for the room of o to announce the
// moderated retraction of the message with stanza id stanzaID, in either
// version, and returns it. Each message is returned at most once.
func (o *Occupant) WaitRetraction(stanzaID string, timeout time.Duration) (Retraction, error) {
	var found Retraction
	_, err := o.c.waitMessage(timeout, "retraction of "+stanzaID+" from "+o.Room, func(m *element) bool {
		if !strings.EqualFold(m.attr("from"), o.Room) || m.attr("type") != "groupchat" {
			return false
		}
		r, ok := parseRetraction(m)
		if ok && r.ID == stanzaID {
			found = r
		}
		return ok && r.ID == stanzaID
	})
	return found, err
}

// ArchivedMessage is one message of a room's archive (XEP-0313).
type ArchivedMessage struct {
	StanzaID string // the archive's id of it: the stanza id the room assigned
	From     string // room@service/nick
	Body     string // "" for a tombstone
	// Tombstone reports that the archive holds the message as retracted or
	// moderated (a <retracted/> of urn:xmpp:message-retract:0 or :1, or a
	// <moderated/> of urn:xmpp:message-moderate:0 or :1, in place of it), as
	// Prosody's does; ejabberd 24.12 removes a retracted message instead.
	Tombstone bool
	Raw       string // the archived <message/> as forwarded
}

// ArchivedMessages queries the archive of room (XEP-0313, to the room's bare
// JID, page after page) and returns its messages, oldest first; a refusal,
// e.g. of a room without an archive, is a *StanzaError.
func (c *Client) ArchivedMessages(room string) ([]ArchivedMessage, error) {
	var all []ArchivedMessage
	after := ""
	for range archivePages {
		qid := "xq" + strconv.FormatUint(c.ids.Add(1), 10)
		rsm := fmt.Sprintf("<set xmlns='%s'><max>%d</max>", nsRSM, archivePageSize)
		if after != "" {
			rsm += "<after>" + escape(after) + "</after>"
		}
		rsm += "</set>"
		res, err := c.iq("set", room, fmt.Sprintf("<query xmlns='%s' queryid='%s'>%s</query>", nsMAM, qid, rsm))
		if err != nil {
			return nil, err
		}
		// The results arrive before the IQ result, which the read loop
		// delivers after recording them.
		page := c.takeResults(room, qid)
		all = append(all, page...)
		fin := res.child(nsMAM, "fin")
		if fin == nil {
			return nil, fmt.Errorf("xmpptest: no <fin/> in the archive's answer %s", res.raw)
		}
		if fin.attr("complete") == "true" || len(page) == 0 {
			return all, nil
		}
		after = page[len(page)-1].StanzaID
	}
	return nil, fmt.Errorf("xmpptest: archive of %s longer than %d pages", room, archivePages)
}

// takeResults returns, and marks as taken, the archive results for query qid
// from room received so far.
func (c *Client) takeResults(room, qid string) []ArchivedMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ArchivedMessage
	for i, m := range c.messages {
		res := m.child(nsMAM, "result")
		if c.msgTaken[i] || res == nil || res.attr("queryid") != qid || !strings.EqualFold(m.attr("from"), room) {
			continue
		}
		c.msgTaken[i] = true
		fwd := res.child(nsForward, "forwarded")
		if fwd == nil {
			continue
		}
		inner := fwd.child(nsClient, "message")
		if inner == nil {
			continue
		}
		am := ArchivedMessage{StanzaID: res.attr("id"), From: inner.attr("from"), Raw: innerRaw(m.raw)}
		if b := inner.child(nsClient, "body"); b != nil {
			am.Body = b.Text
		}
		am.Tombstone = slices.ContainsFunc(inner.Kids, isTombstone)
		out = append(out, am)
	}
	return out
}

// isTombstone reports whether k, a child of an archived message, marks it
// as retracted or moderated.
func isTombstone(k element) bool {
	switch k.XMLName.Space {
	case nsRetract0, nsRetract1:
		return k.XMLName.Local == "retracted"
	case NSModerate0, NSModerate1:
		return k.XMLName.Local == "moderated"
	}
	return false
}

// innerRaw returns the forwarded <message …>…</message> inside the raw text
// of an archive result, or raw when it cannot tell.
func innerRaw(raw string) string {
	i := strings.Index(raw, "<forwarded")
	if i < 0 {
		return raw
	}
	rest := raw[i:]
	if end := strings.LastIndex(rest, "</forwarded>"); end >= 0 {
		rest = rest[:end]
	}
	j := strings.Index(rest, "<message")
	k := strings.LastIndex(rest, "</message>")
	if j < 0 || k < j {
		return raw
	}
	return rest[j : k+len("</message>")]
}

package muc

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// Refusals of a ban or an unban before anything is sent.
var (
	// ErrAffiliated: the JID holds an affiliation the change would take
	// away (owner or admin for a ban; owner, admin or member for an unban);
	// the text names it.
	ErrAffiliated = errors.New("muc: the JID holds an affiliation in the room")
	// ErrProtectedJID: the JID is of muc-kick's own domain or of a MUC
	// service it acts on, which muc-kick never bans.
	ErrProtectedJID = errors.New("muc: muc-kick does not ban its own domain or a MUC service")

	errUnreadableList = errors.New("muc: an affiliation list could not be read")
)

// adminList is the answer to an affiliation list request (XEP-0045 §9.5,
// §10.5). It must never fail to decode: every field is a string.
type adminList struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
	Items   []struct {
		JID         string `xml:"jid,attr"`
		Affiliation string `xml:"affiliation,attr"`
	} `xml:"item"`
}

// Namespace and GetSet make adminList an IQ payload gosrc.io/xmpp decodes.
func (*adminList) Namespace() string         { return nsMUCAdmin }
func (*adminList) GetSet() *stanza.ResultSet { return nil }

// listQuery asks a room for the JIDs holding affiliation.
type listQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
	Item    struct {
		Affiliation string `xml:"affiliation,attr"`
	} `xml:"item"`
}

// Ban sets the affiliation of user (a bare JID) in room to outcast (XEP-0045
// §9.1): an occupant of that account is removed (status 301) and cannot
// enter again until Unban. It refuses, before sending anything, a JID of
// muc-kick's own domain or of a MUC service (ErrProtectedJID), and an owner
// or admin of the room (ErrAffiliated).
func (m *Manager) Ban(ctx context.Context, room, user jid.JID, reason string) error {
	if err := m.serves(room); err != nil {
		return err
	}
	if why := m.protected(user); why != "" {
		return fmt.Errorf("%w: %s", ErrProtectedJID, why)
	}
	aff, err := m.affiliationOf(ctx, room, user, "owner", "admin")
	if err != nil {
		return err
	}
	if aff != "none" {
		return fmt.Errorf("%w: %s is an %s of %s; a ban would strip it", ErrAffiliated, user, aff, room)
	}
	return refusedAs("ban", m.admin(ctx, room, AdminItem{JID: user.String(), Affiliation: "outcast", Reason: reason}))
}

// Unban lifts a ban of user in room (XEP-0045 §9.2): an outcast's affiliation
// goes back to none, and lifted is true. A JID with no affiliation is not
// banned: nothing is sent, and lifted is false. An owner, admin or member is
// ErrAffiliated: an unban would strip it.
func (m *Manager) Unban(ctx context.Context, room, user jid.JID) (lifted bool, err error) {
	if err := m.serves(room); err != nil {
		return false, err
	}
	// The short lists first: the outcast list of a big public room can be
	// too long to read, and once user holds none of these, an unban can
	// strip nothing.
	aff, err := m.affiliationOf(ctx, room, user, "owner", "admin", "member")
	switch {
	case err != nil:
		return false, err
	case aff != "none":
		return false, fmt.Errorf("%w: %s is a%s %s of %s, not banned; an unban would strip it", ErrAffiliated, user, article(aff), aff, room)
	}
	if aff, err = m.affiliationOf(ctx, room, user, "outcast"); errors.Is(err, errUnreadableList) {
		aff = "outcast" // unknown: lifting a ban that is not there changes nothing
	} else if err != nil {
		return false, err
	}
	if aff == "none" {
		return false, nil
	}
	return true, refusedAs("unban", m.admin(ctx, room, AdminItem{JID: user.String(), Affiliation: "none"}))
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "n"
	}
	return ""
}

// affiliationOf returns the first of affiliations whose list in room holds
// user, or "none". Like a kick, each list is asked from the component's bare
// JID first and from inside the room if the server wants a present
// moderator.
func (m *Manager) affiliationOf(ctx context.Context, room, user jid.JID, affiliations ...string) (string, error) {
	for _, aff := range affiliations {
		q := listQuery{}
		q.Item.Affiliation = aff
		iq, err := m.request(ctx, room, "get", q)
		if err != nil {
			return "", refusedAs("request for the "+aff+" list", err)
		}
		list, _ := iq.Payload.(*adminList)
		if list == nil {
			// A reply that could not be read (too large, malformed) is no
			// empty list: acting on it could strip what it holds.
			return "", fmt.Errorf("%w: the %s list of %s", errUnreadableList, aff, room)
		}
		for _, it := range list.Items {
			if held, ok := jid.FromServer(strings.TrimSpace(it.JID)); ok && held.Equal(user) {
				return aff, nil
			}
		}
	}
	return "none", nil
}

func init() {
	stanza.TypeRegistry.MapExtension(stanza.PKTIQ, xml.Name{Space: nsMUCAdmin, Local: "query"}, adminList{})
}

// protected says why user may not be banned, or "": it is of muc-kick's own
// domain or of a MUC service it acts on, or is the server muc-kick is
// attached to (a ban of that domain would ban every local account; its
// accounts may be banned).
func (m *Manager) protected(user jid.JID) (why string) {
	own, _ := jid.FromServer(m.conn.Domain())
	parent, hasParent := own.Parent()
	switch d := user.Domain(); {
	case d.Equal(own) || m.domains[d.String()]:
		return fmt.Sprintf("%s is of %s", user, d)
	case hasParent && user.Equal(parent):
		return fmt.Sprintf("%s is the server muc-kick is attached to: a ban of it would ban every local account", user)
	}
	return ""
}

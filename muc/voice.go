package muc

import (
	"context"
	"fmt"

	"github.com/muc-kick/muc-kick/internal/jid"
)

// A Role is what an occupant may do in a room (XEP-0045 §5.1). Mute and
// unmute are role changes; a kick is the role none.
type Role string

// The roles a moderator gives and takes away.
const (
	RoleVisitor     Role = "visitor"     // present, may not speak: muted (§8.3)
	RoleParticipant Role = "participant" // may speak again (§8.4)
)

// SetRole gives the occupant with nickname nick in room the role role, with
// an optional reason everyone sees. Like a kick, it needs a present
// moderator: the component enters the room under the room policy (after
// asking the room's disco#info from outside, so that a missing room is not
// created). An owner or admin of the room is ErrAffiliated, and nothing is
// sent: its role follows its affiliation (Prosody lets an owner mute another,
// and the unmute then leaves it a participant, no longer a moderator).
func (m *Manager) SetRole(ctx context.Context, roomJID jid.JID, nick string, role Role, reason string) error {
	err := m.fromInside(ctx, roomJID, func(r *room, from string) error {
		if err := m.roleGuard(r, nick, role); err != nil {
			return err
		}
		_, err := m.conn.IQ(ctx, "set", from, roomJID.String(), AdminQuery{Item: AdminItem{Nick: nick, Role: string(role), Reason: reason}})
		return err
	})
	return refusedAs(role.change(), err)
}

// roleGuard refuses a role change of an owner or admin of r, as far as
// the room's presences told.
func (m *Manager) roleGuard(r *room, nick string, role Role) error {
	m.mu.Lock()
	o, self := r.occupants[nick], nick == r.nick
	m.mu.Unlock()
	if self {
		return fmt.Errorf("%w: %s is muc-kick itself", ErrRefused, nick)
	}
	if o.Affiliation == "owner" || o.Affiliation == "admin" {
		return fmt.Errorf("%w: %s is a%s %s of %s; a %s would take the moderator role that gives it", ErrAffiliated, nick, article(o.Affiliation), o.Affiliation, r.jid, role.change())
	}
	return nil
}

// SetRoleJID gives role to every occupant of room whose real JID is user (a
// full JID) or belongs to it (a bare JID), as KickJID kicks them, and
// returns their nicknames.
func (m *Manager) SetRoleJID(ctx context.Context, roomJID, user jid.JID, role Role, reason string) ([]string, error) {
	nicks, err := m.changeJID(ctx, roomJID, user, func(r *room, nick string) (AdminQuery, error) {
		return AdminQuery{Item: AdminItem{Nick: nick, Role: string(role), Reason: reason}}, m.roleGuard(r, nick, role)
	})
	return nicks, refusedAs(role.change(), err)
}

// change names the change to role, for messages.
func (r Role) change() string {
	switch r {
	case RoleVisitor:
		return "mute"
	case RoleParticipant:
		return "unmute"
	}
	return "role change"
}

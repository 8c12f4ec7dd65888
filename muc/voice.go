package muc

import (
	"context"

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
// moderator: the component enters the room under the room policy.
func (m *Manager) SetRole(ctx context.Context, room jid.JID, nick string, role Role, reason string) error {
	return refusedAs(role.change(), m.admin(ctx, room, AdminItem{Nick: nick, Role: string(role), Reason: reason}))
}

// SetRoleJID gives role to every occupant of room whose real JID is user (a
// full JID) or belongs to it (a bare JID), as KickJID kicks them, and
// returns their nicknames.
func (m *Manager) SetRoleJID(ctx context.Context, room, user jid.JID, role Role, reason string) ([]string, error) {
	nicks, err := m.changeJID(ctx, room, user, func(nick string) AdminQuery {
		return AdminQuery{Item: AdminItem{Nick: nick, Role: string(role), Reason: reason}}
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

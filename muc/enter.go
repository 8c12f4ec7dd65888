package muc

import "context"

// Enter makes the component a present moderator of room, as the first kick
// into it would, without kicking anyone: `muc-kick check` proves the
// component's rights with it. Like a kick, it never leaves a room created:
// an entry that creates the room leaves again and reports ErrRoomNotFound.
func (m *Manager) Enter(ctx context.Context, roomJID string) error {
	if err := m.checkDomain(roomJID); err != nil {
		return err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return err
	}
	defer m.release(r)
	_, err = m.enter(ctx, r)
	return err
}

// ModeratorFix TEMPORARY until the muc branch lands.
func ModeratorFix(software, version, domain string) string { return "give " + domain + " admin rights" }

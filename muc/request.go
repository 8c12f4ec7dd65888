package muc

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// request sends one muc#admin IQ of type typ to room and returns the answer:
// first from the component's bare JID, and, when the server wants a present
// moderator, again from inside.
func (m *Manager) request(ctx context.Context, roomJID jid.JID, typ string, payload any) (*stanza.IQ, error) {
	if err := m.serves(roomJID); err != nil {
		return nil, err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return nil, err
	}
	defer m.release(r)

	if !m.isIn(r) {
		iq, err := m.conn.IQ(ctx, typ, "", roomJID.String(), payload)
		if !errors.Is(err, errNotAllowed) {
			return iq, kickError(err, false)
		}
		// Not allowed from outside: enter as a moderator and try again.
	}
	var answer *stanza.IQ
	err = m.inside(ctx, r, func(from string) error {
		iq, err := m.conn.IQ(ctx, typ, from, roomJID.String(), payload)
		answer = iq
		return err
	})
	return answer, err
}

// changeJID sends the change query(r, nick) (unless it returns an error,
// which ends the loop) for every occupant of room whose
// real JID is user (a full JID: that session) or belongs to it (a bare JID:
// every session of the account), and returns their nicknames. The component
// learns real JIDs from the presences it receives as a moderator, so it
// enters the room first if it is not in (fromInside). An occupant whose
// presence has not reached the component yet is not matched; when none
// matches, the error wraps ErrOccupantNotFound.
//
// When a change fails after others succeeded, changeJID returns the
// nicknames changed so far together with the error.
func (m *Manager) changeJID(ctx context.Context, roomJID, user jid.JID, query func(r *room, nick string) (AdminQuery, error)) ([]string, error) {
	var changed []string
	err := m.fromInside(ctx, roomJID, func(r *room, from string) error {
		for _, nick := range m.occupantsOf(r, user) {
			if slices.Contains(changed, nick) {
				continue
			}
			q, err := query(r, nick)
			if err != nil {
				return err // refused before anything is sent
			}
			_, err = m.conn.IQ(ctx, "set", from, roomJID.String(), q)
			switch kerr := kickError(err, true); {
			case kerr == nil:
				changed = append(changed, nick)
			case errors.Is(kerr, ErrOccupantNotFound):
				// Left meanwhile: nothing to change.
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return changed, err
	}
	if len(changed) == 0 {
		return nil, fmt.Errorf("%w: nobody in %s is %s", ErrOccupantNotFound, roomJID, user)
	}
	return changed, nil
}

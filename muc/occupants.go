package muc

import (
	"context"
	"encoding/xml"
	"slices"
	"strings"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// Occupant is what the component knows of one occupant of a room, from the
// presences the room sent it as a moderator.
type Occupant struct {
	Nick        string
	Role        string  // moderator, participant, visitor ("" if the room did not say)
	Affiliation string  // owner, admin, member, none ("" if the room did not say)
	JID         jid.JID // the real JID, when the room shows it; zero otherwise
	OccupantID  string  // XEP-0421, when the room provides it; "" otherwise
}

// Occupants lists the occupants of roomJID, sorted by nickname, without the
// component itself. Like a kick by JID, it enters the room if the component
// is not in (after asking the room's disco#info from outside, so that a
// missing room, ErrRoomNotFound, is not created), and the room is then held
// under the room policy as after a kick. An occupant whose presence has not
// reached the component yet is not listed.
func (m *Manager) Occupants(ctx context.Context, roomJID jid.JID) ([]Occupant, error) {
	var list []Occupant
	err := m.fromInside(ctx, roomJID, func(r *room, _ string) error {
		list = m.occupantList(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// occupantList is the occupants of r, sorted by nickname.
func (m *Manager) occupantList(r *room) []Occupant {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := make([]Occupant, 0, len(r.occupants))
	for _, o := range r.occupants {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b Occupant) int { return strings.Compare(a.Nick, b.Nick) })
	return list
}

// occupantsOf lists the nicknames in r whose real JID is, or belongs to, user.
func (m *Manager) occupantsOf(r *room, user jid.JID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var nicks []string
	for nick, o := range r.occupants {
		if o.JID.Equal(user) || user.IsBare() && !o.JID.IsZero() && o.JID.Bare().Equal(user) {
			nicks = append(nicks, nick)
		}
	}
	slices.Sort(nicks)
	return nicks
}

// occupantOf reads an available presence of the occupant nick.
func occupantOf(nick string, p stanza.Presence, x *userX) Occupant {
	o := Occupant{Nick: nick}
	if x != nil && len(x.Items) > 0 {
		it := x.Items[0]
		o.Role, o.Affiliation = strings.TrimSpace(it.Role), strings.TrimSpace(it.Affiliation)
		o.JID, _ = jid.FromServer(it.JID)
	}
	for _, e := range p.Extensions {
		if id, ok := e.(*occupantIDX); ok {
			o.OccupantID = id.ID
			break
		}
	}
	return o
}

// nsOccupantID is XEP-0421's namespace.
const nsOccupantID = "urn:xmpp:occupant-id:0"

// occupantIDX is the id a room gives an occupant across nickname changes
// (XEP-0421). Like userX it must never fail to decode: one string
// attribute, unknown children skipped.
type occupantIDX struct {
	XMLName xml.Name `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	ID      string   `xml:"id,attr"`
}

// UnmarshalXML decodes an occupant id as encoding/xml would from the struct
// tags (the last attribute named id, in any namespace), without its
// reflection: every presence from a room may carry one.
func (o *occupantIDX) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	o.XMLName = start.Name
	for _, a := range start.Attr {
		if a.Name.Local == "id" {
			o.ID = a.Value
		}
	}
	return d.Skip()
}

func init() {
	stanza.TypeRegistry.MapExtension(stanza.PKTPresence, xml.Name{Space: nsOccupantID, Local: "occupant-id"}, occupantIDX{})
}

package httpapi

// occupant is one entry of the answer to GET /muc_occupants.
type occupant struct {
	Nickname    string `json:"nickname"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
	JID         string `json:"jid,omitempty"`         // when the room shows real JIDs to moderators
	OccupantID  string `json:"occupant_id,omitempty"` // XEP-0421, when the room provides it
}

// occupantsOf is the answer's list of the occupants in list: [] for none.
func occupantsOf(list []Occupant) []occupant {
	out := make([]occupant, 0, len(list))
	for _, o := range list {
		out = append(out, occupant{Nickname: o.Nick, Role: o.Role, Affiliation: o.Affiliation, JID: o.JID, OccupantID: o.OccupantID})
	}
	return out
}

package httpapi

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/muc-kick/muc-kick/muc"
)

// The answers of the moderation toolbox beyond kicks and bans: the
// occupant list and retractions.

// occupant is one entry of the answer to GET /muc_occupants.
type occupant struct {
	Nickname    string `json:"nickname"`
	Role        string `json:"role"`
	Affiliation string `json:"affiliation"`
	JID         string `json:"jid,omitempty"`         // when the room shows real JIDs to moderators
	OccupantID  string `json:"occupant_id,omitempty"` // XEP-0421, when the room provides it
}

// occupantsOf is the answer's list of the occupants in list: [] for none.
func occupantsOf(list []muc.Occupant) []occupant {
	out := make([]occupant, 0, len(list))
	for _, o := range list {
		e := occupant{Nickname: o.Nick, Role: o.Role, Affiliation: o.Affiliation, OccupantID: o.OccupantID}
		if !o.JID.IsZero() {
			e.JID = o.JID.String()
		}
		out = append(out, e)
	}
	return out
}

// addSelection adds to rec, a request's audit line, what a retraction
// selects: "id", or "last" and/or "since"; nothing for other requests.
func (req request) addSelection(rec *slog.Record) {
	if req.ID != "" {
		rec.AddAttrs(slog.String("id", req.ID))
	}
	if req.Last != 0 {
		rec.AddAttrs(slog.Int("last", req.Last))
	}
	if !req.Since.IsZero() {
		rec.AddAttrs(slog.String("since", req.Since.Format(time.RFC3339)))
	}
}

// failure is a message a retraction could not retract, with why.
type failure struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// retraction records in res what Retract did and returns the request's
// error: err, or, when nothing was retracted, the first failure's (its
// status and message are the answer's).
func (res *result) retraction(r muc.Retraction, err error) error {
	if len(r.Retracted) == 0 {
		if err == nil && len(r.Failed) > 0 {
			err = r.Failed[0].Err
		}
		if err == nil {
			err = fmt.Errorf("%w: nothing was retracted", muc.ErrMessageNotFound)
		}
		return err
	}
	res.Retracted = r.Retracted
	for _, f := range r.Failed {
		_, msg, _ := classify(f.Err, actionRetract)
		res.Failed = append(res.Failed, failure{ID: f.ID, Error: msg})
	}
	return err
}

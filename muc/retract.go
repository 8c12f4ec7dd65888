package muc

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// Outcomes of a retraction that are not transport failures.
var (
	// ErrNotSupported: the room cannot do what was asked (no XEP-0425, or
	// no archive to find messages in); the text names what to enable.
	ErrNotSupported = errors.New("muc: the room does not support this")
	// ErrMessageNotFound: no message has that id, or none matches the
	// selection.
	ErrMessageNotFound = errors.New("muc: no message matches")
)

// Retraction is what became of a retraction: the ids retracted, and those
// that could not be, with why.
type Retraction struct {
	Retracted []string
	Failed    []RetractFailure
}

// RetractFailure is a message that could not be retracted.
type RetractFailure struct {
	ID  string
	Err error
}

// Retract retracts messages of room with XEP-0425 (moderated message
// retraction), in the newest version the room advertises: the one named by
// sel.ID, or those of the sender sel.Nick or sel.JID found in the room's
// archive (XEP-0313), the sel.Last most recent and/or those since sel.Since.
// Every occupant is told, and the archive keeps a tombstone. Like a kick, it
// needs a present moderator.
//
// A room without XEP-0425, or without an archive when one is needed, is
// ErrNotSupported, naming what the server's admin must enable.
func (m *Manager) Retract(ctx context.Context, roomJID jid.JID, sel Selection, reason string) (Retraction, error) {
	if err := m.serves(roomJID); err != nil {
		return Retraction{}, err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return Retraction{}, err
	}
	defer m.release(r)
	feats, err := m.features(ctx, roomJID)
	if err != nil {
		return Retraction{}, refusedAs("retraction", err)
	}
	if err := m.retractable(roomJID, feats, sel.ID == ""); err != nil {
		return Retraction{}, err
	}
	var res Retraction
	err = m.inside(ctx, r, func(from string) error {
		res = Retraction{}
		ids := []string{sel.ID}
		if sel.ID != "" && feats.archive {
			if err := m.lookUp(ctx, from, roomJID, sel.ID, feats.extended); err != nil {
				return err
			}
		}
		if sel.ID == "" {
			var err error
			if ids, err = m.searchArchive(ctx, r, from, sel); err != nil {
				return err
			}
		}
		return m.retractEach(ctx, from, roomJID, feats.moderation, ids, reason, &res)
	})
	switch {
	case err != nil && len(res.Retracted) == 0:
		return res, refusedAs("retraction", err)
	case len(res.Retracted) == 0 && len(res.Failed) == 0:
		return res, fmt.Errorf("%w: nothing in the archive of %s matches", ErrMessageNotFound, roomJID)
	case len(res.Retracted) == 0:
		return res, res.Failed[0].Err // none retracted: the first failure says why
	}
	return res, nil
}

// retractEach retracts ids one by one into res. A refusal of the first
// (not-allowed, forbidden) comes back raw, for inside to enter again; a
// transport failure ends the loop, and the ids left fail with it.
func (m *Manager) retractEach(ctx context.Context, from string, roomJID jid.JID, v moderation, ids []string, reason string, res *Retraction) error {
	for i, id := range ids {
		_, err := m.conn.IQ(ctx, "set", from, roomJID.String(), retractQuery(v, id, reason))
		var serr *StanzaError
		switch {
		case err == nil:
			res.Retracted = append(res.Retracted, id)
		case errors.As(err, &serr) && i == 0 && (errors.Is(err, errNotAllowed) || errors.Is(err, errForbidden)):
			return err
		case errors.As(err, &serr):
			res.Failed = append(res.Failed, RetractFailure{ID: id, Err: retractError(id, serr)})
		default:
			for _, left := range ids[i:] {
				res.Failed = append(res.Failed, RetractFailure{ID: left, Err: err})
			}
			return err
		}
	}
	return nil
}

// retractError names the server's refusal to retract message id.
func retractError(id string, serr *StanzaError) error {
	switch {
	case errors.Is(serr, errNotFound), errors.Is(serr, &StanzaError{Condition: "bad-request"}):
		// Prosody: item-not-found; ejabberd: bad-request "Stanza id is not valid".
		return fmt.Errorf("%w: no message %q in the room's archive (%s)", ErrMessageNotFound, id, serr)
	case errors.Is(serr, errNotAllowed), errors.Is(serr, errForbidden):
		return fmt.Errorf("%w (%w)", refusal("retraction"), serr)
	}
	return fmt.Errorf("the server could not retract %q: %s", id, serr)
}

// features asks room for its disco#info from the component's bare JID: a
// missing room answers item-not-found and is not created.
func (m *Manager) features(ctx context.Context, roomJID jid.JID) (roomFeatures, error) {
	iq, err := m.conn.IQ(ctx, "get", "", roomJID.String(), discoInfoQuery{})
	if errors.Is(err, errNotFound) {
		return roomFeatures{}, fmt.Errorf("%w (%w)", ErrRoomNotFound, err)
	}
	if err != nil {
		return roomFeatures{}, kickError(err, false)
	}
	var vars []string
	if d, ok := iq.Payload.(*stanza.DiscoInfo); ok {
		for _, f := range d.Features {
			vars = append(vars, f.Var)
		}
	}
	return featuresOf(vars), nil
}

// retractable says what the server's admin must enable for a retraction in
// room, or nil; needArchive: the messages must be found in the archive.
func (m *Manager) retractable(roomJID jid.JID, f roomFeatures, needArchive bool) error {
	if f.moderation != noModeration && (f.archive || !needArchive) {
		return nil
	}
	service := roomJID.Domain()
	software, version := m.ServerSoftware(service)
	return fmt.Errorf("%w: %s", ErrNotSupported, RetractionFix(software, version, service.String(), f.moderation != noModeration))
}

// RetractionFix names what the admin of the XMPP server must enable so that
// rooms of mucDomain retract messages (XEP-0425) found in their archive
// (XEP-0313), for the software and version the server reported ("" when
// unknown); moderation says the room has XEP-0425 and lacks only the
// archive.
func RetractionFix(software, version, mucDomain string, moderation bool) string {
	prosody := fmt.Sprintf(`retraction needs mod_muc_moderation (Debian's prosody-modules) and mod_muc_mam on Prosody's MUC component %q: add "muc_moderation" and "muc_mam" to its modules_enabled and restart Prosody`, mucDomain)
	ejabberd := `retraction needs ejabberd 24.12 or later (23.01 has no XEP-0425) with mod_mam loaded and "mam: true" in mod_muc's default_room_options (or the room's configuration)`
	if moderation {
		prosody = fmt.Sprintf(`the room keeps no archive to find messages in: add "muc_mam" to the modules_enabled of Prosody's MUC component %q and restart Prosody, or retract by id`, mucDomain)
		ejabberd = `the room keeps no archive to find messages in: load mod_mam and set "mam: true" in mod_muc's default_room_options (or the room's configuration), or retract by id`
	}
	switch serverFamily(software) {
	case "prosody":
		return prosody
	case "ejabberd":
		return ejabberd
	}
	return "on Prosody: " + prosody + "; on ejabberd: " + ejabberd
}

// searchArchive reads the archive of r from the newest page back and
// returns the ids of the messages sel names, newest first.
func (m *Manager) searchArchive(ctx context.Context, r *room, from string, sel Selection) ([]string, error) {
	s := archiveSearch{match: matcher{sel: sel, occupantIDs: m.occupantIDsOf(r, sel.JID)}}
	before := ""
	for {
		page, fin, err := m.archivePage(ctx, from, r.jid, before, sel)
		if err != nil {
			return nil, err
		}
		if s.take(page, fin.Complete == "true") || fin.Set.First == "" || fin.Set.First == before {
			return s.ids, nil
		}
		before = fin.Set.First
	}
}

// archivePage asks the room for the page of its archive older than before
// and collects the results it sends (before the IQ's answer, on the same
// stream).
func (m *Manager) archivePage(ctx context.Context, from string, roomJID jid.JID, before string, sel Selection) ([]archived, *mamFin, error) {
	qid := m.queryID()
	return m.archiveQuery(ctx, from, roomJID, newMAMQuery(qid, before, sel.Since), m.collect(qid, roomJID))
}

// lookUp asks the archive whether it holds the message id: ejabberd 24.12
// retracts an id of its own form that it never assigned, and tells every
// occupant, where Prosody answers item-not-found (so Prosody is not asked).
// ejabberd's archive is asked by time (its ids are times); another server's
// with XEP-0313's extended field ids. No such message is ErrMessageNotFound;
// an archive that refuses the question lets the retraction try; only a
// transport failure is returned.
func (m *Manager) lookUp(ctx context.Context, from string, roomJID jid.JID, id string, extended bool) error {
	q, byTime := idQuery, false
	switch software, _ := m.ServerSoftware(roomJID.Domain()); serverFamily(software) {
	case "prosody":
		return nil // Prosody answers an id it never assigned with item-not-found itself
	case "":
		if !extended {
			return nil // an archive that cannot look ids up: the room decides
		}
	case "ejabberd":
		// ejabberd's archive takes no ids field, but its ids are times.
		stamp, ok := ejabberdStamp(id)
		if !ok {
			return nil // not an id of ejabberd's: it answers bad-request
		}
		q, byTime = func(qid, _ string) mamQuery { return stampQuery(qid, stamp) }, true
	}
	qid := m.queryID()
	page, _, err := m.archiveQuery(ctx, from, roomJID, q(qid, id), m.collect(qid, roomJID))
	var serr *StanzaError
	if errors.As(err, &serr) {
		return nil // the archive cannot look ids up: the room decides
	}
	if byTime { // other messages of that instant, if any, are not it
		page = slices.DeleteFunc(page, func(a archived) bool { return a.ID != id })
	}
	if err == nil && len(page) == 0 {
		return fmt.Errorf("%w: no message %q in the archive of %s", ErrMessageNotFound, id, roomJID)
	}
	return err
}

// collect registers a collector for the results of the query qid.
func (m *Manager) collect(qid string, roomJID jid.JID) *collector {
	c := &collector{room: roomJID, id: qid}
	m.mu.Lock()
	m.archives[qid] = c
	m.mu.Unlock()
	return c
}

// archiveQuery sends q and returns the results c collected before the
// answer came, and the answer's paging; it unregisters c.
func (m *Manager) archiveQuery(ctx context.Context, from string, roomJID jid.JID, q mamQuery, c *collector) ([]archived, *mamFin, error) {
	defer func() {
		m.mu.Lock()
		delete(m.archives, c.id)
		m.mu.Unlock()
	}()
	iq, err := m.conn.IQ(ctx, "set", from, roomJID.String(), q)
	if err != nil {
		return nil, nil, err
	}
	fin, _ := iq.Payload.(*mamFin)
	if fin == nil {
		fin = &mamFin{Complete: "true"} // no paging information: take this page as all
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.page, fin, nil
}

// collector gathers the results of one archive query.
type collector struct {
	room jid.JID
	id   string // the query's
	page []archived
}

// archiveResult takes a result of an archive query of ours. Anyone can send
// the component such a message: it counts only from the room asked, for a
// query still waiting, and no more than a page of them.
func (m *Manager) archiveResult(from string, res *mamResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.archives[res.QueryID]
	sender, ok := jid.FromServer(from)
	if c == nil || !ok || !sender.Equal(c.room) || len(c.page) >= 2*archivePage {
		return
	}
	if a, ok := archivedOf(res); ok {
		c.page = append(c.page, a)
	}
}

// mamResultOf returns a message's archive result, or nil.
func mamResultOf(msg stanza.Message) *mamResult {
	for _, e := range msg.Extensions {
		if r, ok := e.(*mamResult); ok {
			return r
		}
	}
	return nil
}

// occupantIDsOf returns the occupant ids (XEP-0421) the room has shown for
// the occupants whose real JID is, or belongs to, user.
func (m *Manager) occupantIDsOf(r *room, user jid.JID) map[string]bool {
	if user.IsZero() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make(map[string]bool)
	for _, o := range r.occupants {
		if o.OccupantID != "" && !o.JID.IsZero() && (o.JID.Equal(user) || o.JID.Bare().Equal(user.Bare())) {
			ids[o.OccupantID] = true
		}
	}
	return ids
}

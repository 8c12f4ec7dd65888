package muc

import (
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// Namespaces of message archives (XEP-0313), result set management
// (XEP-0059), data forms (XEP-0004), forwarding (XEP-0297), delayed
// delivery (XEP-0203) and occupant ids (XEP-0421).
const (
	nsMAM      = "urn:xmpp:mam:2"
	nsRSM      = "http://jabber.org/protocol/rsm"
	nsDataForm = "jabber:x:data"
	nsForward  = "urn:xmpp:forward:0"
	nsDelay    = "urn:xmpp:delay"
)

// archivePage is how many messages one archive query asks for; the most
// XEP-0313 servers commonly allow in one page.
const archivePage = 100

// mamQuery asks a room's archive for one page of messages, newest first
// when Before is set (XEP-0313 §4.1, XEP-0059 §2.5).
type mamQuery struct {
	XMLName xml.Name  `xml:"urn:xmpp:mam:2 query"`
	QueryID string    `xml:"queryid,attr"`
	Form    *dataForm `xml:"jabber:x:data x,omitempty"`
	Set     rsmSet    `xml:"http://jabber.org/protocol/rsm set"`
}

type dataForm struct {
	Type   string      `xml:"type,attr"`
	Fields []formField `xml:"field"`
}

type formField struct {
	Var   string `xml:"var,attr"`
	Type  string `xml:"type,attr,omitempty"`
	Value string `xml:"value"`
}

// rsmSet asks for at most Max items before Before: the newest page when
// Before is empty (<before/>), the page older than that id otherwise.
type rsmSet struct {
	Max    int    `xml:"max"`
	Before string `xml:"before"`
}

// newMAMQuery builds the query for the page older than before ("" for the
// newest), of messages archived since since (zero: all).
func newMAMQuery(queryID, before string, since time.Time) mamQuery {
	q := mamQuery{QueryID: queryID, Set: rsmSet{Max: archivePage, Before: before}}
	if !since.IsZero() {
		q.Form = &dataForm{Type: "submit", Fields: []formField{
			{Var: "FORM_TYPE", Type: "hidden", Value: nsMAM},
			{Var: "start", Value: since.UTC().Format(time.RFC3339)},
		}}
	}
	return q
}

// nsMAMExtended says a room's archive takes XEP-0313's extended fields,
// such as ids.
const nsMAMExtended = "urn:xmpp:mam:2#extended"

// idQuery asks the archive for the message with stanza id id alone (the
// extended field "ids").
func idQuery(queryID, id string) mamQuery {
	return mamQuery{QueryID: queryID, Set: rsmSet{Max: 1}, Form: &dataForm{Type: "submit", Fields: []formField{
		{Var: "FORM_TYPE", Type: "hidden", Value: nsMAM},
		{Var: "ids", Value: id},
	}}}
}

// stampQuery asks the archive for the messages archived at the instant
// stamp (start and end, XEP-0313's standard fields): ejabberd's stanza ids
// are the archive's timestamps in microseconds, so this finds the message
// an id of ejabberd's names, where its archive takes no ids field.
func stampQuery(queryID string, stamp time.Time) mamQuery {
	at := stamp.UTC().Format("2006-01-02T15:04:05.000000Z")
	return mamQuery{QueryID: queryID, Set: rsmSet{Max: 10}, Form: &dataForm{Type: "submit", Fields: []formField{
		{Var: "FORM_TYPE", Type: "hidden", Value: nsMAM},
		{Var: "start", Value: at},
		{Var: "end", Value: at},
	}}}
}

// ejabberdStamp reads an ejabberd stanza id: a count of microseconds since
// 1970, which is when the message was archived.
func ejabberdStamp(id string) (time.Time, bool) {
	us, err := strconv.ParseInt(id, 10, 64)
	if err != nil || us < 0 {
		return time.Time{}, false
	}
	return time.UnixMicro(us), true
}

// mamResult is one archived message, as the room sends it to the querier
// (XEP-0313 §4.2). Anyone can send the component a message carrying one, so
// it must never fail to decode: every field is a string, interpreted later.
type mamResult struct {
	XMLName   xml.Name `xml:"urn:xmpp:mam:2 result"`
	QueryID   string   `xml:"queryid,attr"`
	ID        string   `xml:"id,attr"`
	Forwarded struct {
		Delay struct {
			Stamp string `xml:"stamp,attr"`
		} `xml:"urn:xmpp:delay delay"`
		Message archivedMessage `xml:"message"`
	} `xml:"urn:xmpp:forward:0 forwarded"`
}

// archivedMessage is the part of an archived message a retraction needs.
type archivedMessage struct {
	From       string  `xml:"from,attr"`
	Type       string  `xml:"type,attr"`
	Body       *string `xml:"body"`
	OccupantID struct {
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	User struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	} `xml:"http://jabber.org/protocol/muc#user x"`
}

// mamFin ends the answer to an archive query (XEP-0313 §4.3).
type mamFin struct {
	XMLName  xml.Name `xml:"urn:xmpp:mam:2 fin"`
	Complete string   `xml:"complete,attr"`
	Set      struct {
		First string `xml:"first"`
		Last  string `xml:"last"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

// Namespace and GetSet make mamFin an IQ payload gosrc.io/xmpp decodes.
func (*mamFin) Namespace() string         { return nsMAM }
func (*mamFin) GetSet() *stanza.ResultSet { return nil }

// An archived is one message of a room's archive, as a retraction selects
// them.
type archived struct {
	ID         string    // the stanza id the room assigned (XEP-0359)
	Nick       string    // the sender's nickname
	JID        jid.JID   // the sender's bare real JID, when the archive says
	OccupantID string    // the sender's occupant id (XEP-0421), when given
	Stamp      time.Time // when it was archived; zero if unreadable
	Body       bool      // whether it has a body: tombstones and markers have none
}

// archivedOf reads r; ok is false for a result that names no message.
func archivedOf(r *mamResult) (a archived, ok bool) {
	m := r.Forwarded.Message
	_, nick, _ := strings.Cut(m.From, "/")
	a = archived{
		ID:         strings.TrimSpace(r.ID),
		Nick:       nick,
		OccupantID: m.OccupantID.ID,
		Body:       m.Body != nil && strings.TrimSpace(*m.Body) != "",
	}
	if len(m.User.Items) > 0 {
		if real, ok := jid.FromServer(m.User.Items[0].JID); ok {
			a.JID = real.Bare()
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, r.Forwarded.Delay.Stamp); err == nil {
		a.Stamp = t
	}
	return a, a.ID != "" && m.Type == string(stanza.MessageTypeGroupchat)
}

// A Selection says which messages of a room to retract: one by its id, or
// those of one sender, the Last most recent and/or those since Since.
type Selection struct {
	ID    string    // one message, by the stanza id the room assigned
	Nick  string    // the sender's nickname, or
	JID   jid.JID   // the sender's account (bare JID)
	Last  int       // at most this many, newest first; 0: no count
	Since time.Time // only messages archived at or after; zero: any
}

// matcher tells the archived messages a Selection names. occupantIDs are
// the occupant ids the room has shown for sel.JID.
type matcher struct {
	sel         Selection
	occupantIDs map[string]bool
}

// wants reports whether a is one of the messages to retract.
func (m matcher) wants(a archived) bool {
	if !a.Body {
		return false // a tombstone, a marker or a subject: nothing to retract
	}
	if !m.sel.Since.IsZero() && !a.Stamp.IsZero() && a.Stamp.Before(m.sel.Since) {
		return false
	}
	switch {
	case m.sel.Nick != "":
		return a.Nick == m.sel.Nick
	case !m.sel.JID.IsZero():
		return a.JID.Equal(m.sel.JID.Bare()) || a.OccupantID != "" && m.occupantIDs[a.OccupantID]
	}
	return false
}

// archiveSearch collects, page by page from the newest, the ids of the
// messages a Selection names.
type archiveSearch struct {
	match matcher
	ids   []string
	seen  map[string]bool
	pages int
}

// maxArchivePages bounds how far back a search reads: a selection by count
// stops at its count, one by time at its start, and neither reads more than
// this many pages.
const maxArchivePages = 50

// take adds the wanted messages of one page (in the archive's order, oldest
// first) and reports whether the search is over.
func (s *archiveSearch) take(page []archived, complete bool) (done bool) {
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	s.pages++
	older := false
	for i := len(page) - 1; i >= 0; i-- {
		a := page[i]
		if !s.match.sel.Since.IsZero() && !a.Stamp.IsZero() && a.Stamp.Before(s.match.sel.Since) {
			older = true
		}
		if s.seen[a.ID] || !s.match.wants(a) {
			continue
		}
		s.seen[a.ID] = true
		s.ids = append(s.ids, a.ID)
		if s.match.sel.Last > 0 && len(s.ids) == s.match.sel.Last {
			return true
		}
	}
	return complete || older || len(page) == 0 || s.pages >= maxArchivePages
}

// queryID makes the id of an archive query: a random prefix per Manager, so
// that two instances of muc-kick querying one room (on one component
// domain) do not take each other's results, and a count.
func (m *Manager) queryID() string {
	return m.queryPrefix + strconv.FormatUint(m.queries.Add(1), 36)
}

func init() {
	stanza.TypeRegistry.MapExtension(stanza.PKTMessage, xml.Name{Space: nsMAM, Local: "result"}, mamResult{})
	stanza.TypeRegistry.MapExtension(stanza.PKTIQ, xml.Name{Space: nsMAM, Local: "fin"}, mamFin{})
}

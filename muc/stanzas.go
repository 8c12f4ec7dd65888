package muc

import (
	"encoding/xml"
	"strconv"
	"strings"

	"gosrc.io/xmpp/stanza"
)

// XEP-0045 namespaces.
const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCUser  = "http://jabber.org/protocol/muc#user"
	nsMUCAdmin = "http://jabber.org/protocol/muc#admin"
)

// Status codes of XEP-0045 §15.6 that the manager acts on.
const (
	statusCreated   = 201 // a new room was created by your entry
	statusBanned    = 301
	statusKicked    = 307
	statusAffChange = 321
	statusMembers   = 322
	statusShutdown  = 332
)

// AdminQuery is the muc#admin payload of a role or affiliation change
// (XEP-0045 §8.2, §9.1). encoding/xml escapes every attribute and text, so
// any nickname or reason arrives verbatim.
type AdminQuery struct {
	XMLName xml.Name  `xml:"http://jabber.org/protocol/muc#admin query"`
	Item    AdminItem `xml:"item"`
}

// AdminItem is the one item of an AdminQuery.
type AdminItem struct {
	Nick        string `xml:"nick,attr,omitempty"`
	JID         string `xml:"jid,attr,omitempty"`
	Role        string `xml:"role,attr,omitempty"`
	Affiliation string `xml:"affiliation,attr,omitempty"`
	Reason      string `xml:"reason,omitempty"`
}

// KickQuery is the payload that kicks nick (XEP-0045 §8.2): role none.
func KickQuery(nick, reason string) AdminQuery {
	return AdminQuery{Item: AdminItem{Nick: nick, Role: "none", Reason: reason}}
}

// discoInfoQuery asks an entity for its identity and features (XEP-0030).
type discoInfoQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
}

// presence is an outgoing presence to a room occupant JID.
type presence struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr,omitempty"`
	X       *joinX   `xml:"x,omitempty"`
}

// joinX asks to enter a room without any history (XEP-0045 §7.2.1, §7.2.15).
type joinX struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
	History struct {
		MaxChars int `xml:"maxchars,attr"`
	} `xml:"history"`
}

// userX is the muc#user payload of a presence from a room (XEP-0045 §7.2.3).
//
// Anyone can send the component a presence carrying one, so it must never
// fail to decode: gosrc.io/xmpp's parser would fail the whole stanza. Every
// field is a string and is interpreted leniently later: a status code that
// is not a number is ignored, an unknown role is just not "moderator".
// Unknown children are skipped. Every presence from a room carries one, so
// it is decoded by hand (UnmarshalXML), not by encoding/xml's reflection.
type userX struct {
	XMLName  xml.Name `xml:"http://jabber.org/protocol/muc#user x"`
	Items    []userItem
	Statuses []userStatus
	Destroy  *struct{}
}

// userItem is an <item> of a muc#user payload.
type userItem struct {
	Role, Affiliation, JID, Nick string
}

// userStatus is a <status> of a muc#user payload.
type userStatus struct {
	Code string
}

// UnmarshalXML decodes a muc#user payload as encoding/xml would from these
// struct tags, which it replaces:
//
//	Items    []struct{ Role, Affiliation, JID, Nick string } `xml:"item"` (attributes role, affiliation, jid, nick)
//	Statuses []struct{ Code string }                         `xml:"status"` (attribute code)
//	Destroy  *struct{}                                       `xml:"destroy"`
//
// Children are matched by local name in any namespace, attributes too, the
// last of two alike wins; what else a child holds is skipped. It fails only
// when the XML itself does.
func (x *userX) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	x.XMLName = start.Name
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "item":
				var it userItem
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "role":
						it.Role = a.Value
					case "affiliation":
						it.Affiliation = a.Value
					case "jid":
						it.JID = a.Value
					case "nick":
						it.Nick = a.Value
					}
				}
				x.Items = append(x.Items, it)
			case "status":
				var st userStatus
				for _, a := range t.Attr {
					if a.Name.Local == "code" {
						st.Code = a.Value
					}
				}
				x.Statuses = append(x.Statuses, st)
			case "destroy":
				x.Destroy = &struct{}{}
			}
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// has reports whether x carries status code; codes that are not numbers
// count as absent.
func (x *userX) has(code int) bool {
	if x == nil {
		return false
	}
	for _, s := range x.Statuses {
		if n, err := strconv.Atoi(strings.TrimSpace(s.Code)); err == nil && n == code {
			return true
		}
	}
	return false
}

// role is the role the first item gives, or "".
func (x *userX) role() string {
	if x == nil || len(x.Items) == 0 {
		return ""
	}
	return strings.TrimSpace(x.Items[0].Role)
}

// removal names why an unavailable presence took someone out of the room, or
// "" for a plain leave.
func (x *userX) removal() string {
	switch {
	case x == nil:
		return ""
	case x.Destroy != nil:
		return "room destroyed"
	case x.has(statusKicked):
		return "kicked"
	case x.has(statusBanned):
		return "banned"
	case x.has(statusAffChange), x.has(statusMembers):
		return "removed by an affiliation change"
	case x.has(statusShutdown):
		return "MUC service shut down"
	}
	return ""
}

// mucUser returns a presence's muc#user payload, or nil.
func mucUser(p stanza.Presence) *userX {
	for _, e := range p.Extensions {
		if x, ok := e.(*userX); ok {
			return x
		}
	}
	return nil
}

func init() {
	// gosrc.io/xmpp's parser drops presence payloads it has no type for; this
	// registers ours, as its registry is meant to be used.
	stanza.TypeRegistry.MapExtension(stanza.PKTPresence, xml.Name{Space: nsMUCUser, Local: "x"}, userX{})
}

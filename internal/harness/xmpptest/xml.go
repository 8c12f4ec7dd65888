package xmpptest

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/muc-kick/muc-kick/internal/xmlrec"
)

// Namespaces used by the client.
const (
	nsStream  = "http://etherx.jabber.org/streams"
	nsClient  = "jabber:client"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsMUC     = "http://jabber.org/protocol/muc"
	nsMUCUser = "http://jabber.org/protocol/muc#user"
	nsMUCOwn  = "http://jabber.org/protocol/muc#owner"
	nsPing    = "urn:xmpp:ping"
	nsData    = "jabber:x:data"
)

// errStreamClosed is returned when the peer closes its stream.
var errStreamClosed = errors.New("xmpptest: stream closed by the server")

// element is a generic XML element: enough to inspect any stanza.
type element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []element  `xml:",any"`

	// raw is the element exactly as received (top-level elements only).
	raw string
}

// attr returns the value of the attribute local (in no namespace).
func (e *element) attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child named local in namespace space, or nil.
func (e *element) child(space, local string) *element {
	for i := range e.Kids {
		k := &e.Kids[i]
		if k.XMLName.Local == local && k.XMLName.Space == space {
			return k
		}
	}
	return nil
}

// stanzaError returns the <error/> child of e as a *StanzaError, or nil.
func (e *element) stanzaError() *StanzaError {
	errEl := e.child(e.XMLName.Space, "error")
	if errEl == nil {
		return nil
	}
	se := &StanzaError{Type: errEl.attr("type")}
	for _, k := range errEl.Kids {
		if k.XMLName.Space != nsStanzas {
			continue
		}
		if k.XMLName.Local == "text" {
			se.Text = strings.TrimSpace(k.Text)
		} else if se.Condition == "" {
			se.Condition = k.XMLName.Local
		}
	}
	return se
}

// StanzaError is an XMPP stanza error (RFC 6120 §8.3), as returned by Join
// and ConfigureRoom when the server refuses. Use errors.As to get it.
type StanzaError struct {
	Type      string // e.g. "cancel", "auth", "modify"
	Condition string // e.g. "not-authorized", "forbidden", "conflict"
	Text      string // optional human-readable text
}

// Error returns e as "stanza error TYPE/CONDITION", with the text if any.
func (e *StanzaError) Error() string {
	s := "stanza error " + e.Type + "/" + e.Condition
	if e.Text != "" {
		s += fmt.Sprintf(" (%q)", e.Text)
	}
	return s
}

// xmlStream reads one XML stream (a new one after each stream restart).
type xmlStream struct {
	rec *xmlrec.Recorder
	dec *xml.Decoder
}

func newXMLStream(br *bufio.Reader) *xmlStream {
	rec := xmlrec.New(br)
	return &xmlStream{rec: rec, dec: xml.NewDecoder(rec)}
}

// open reads up to and including the <stream:stream> start tag and returns
// its attributes.
func (x *xmlStream) open() (xml.StartElement, error) {
	for {
		tok, err := x.dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != nsStream || se.Name.Local != "stream" {
				return xml.StartElement{}, fmt.Errorf("xmpptest: expected <stream:stream>, got <%s xmlns=%q>", se.Name.Local, se.Name.Space)
			}
			x.rec.Forget(x.dec.InputOffset())
			return se.Copy(), nil
		}
	}
}

// next reads the next top-level element of the stream, with its raw text. It
// returns errStreamClosed at </stream:stream>.
func (x *xmlStream) next() (*element, error) {
	for {
		start := x.dec.InputOffset()
		tok, err := x.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := new(element)
			if err := x.dec.DecodeElement(el, &t); err != nil {
				return nil, err
			}
			end := x.dec.InputOffset()
			el.raw = strings.TrimSpace(string(x.rec.Since(start, end)))
			x.rec.Forget(end)
			return el, nil
		case xml.EndElement:
			return nil, errStreamClosed
		}
	}
}

// escape returns s escaped for use in XML text or attribute values.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

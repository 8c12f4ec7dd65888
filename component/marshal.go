package component

import "encoding/xml"

// The XML the component writes itself.

const (
	nsPing    = "urn:xmpp:ping"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// rawIQ is an outgoing IQ. Its payload is any value encoding/xml marshals.
type rawIQ struct {
	XMLName xml.Name  `xml:"iq"`
	Type    string    `xml:"type,attr"`
	ID      string    `xml:"id,attr"`
	From    string    `xml:"from,attr,omitempty"`
	To      string    `xml:"to,attr,omitempty"`
	Payload any       `xml:",omitempty"`
	Error   *rawError `xml:"error,omitempty"`
}

type rawError struct {
	Type      string   `xml:"type,attr"`
	Condition xml.Name // an empty element named for the condition
}

func (e rawError) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Attr = []xml.Attr{{Name: xml.Name{Local: "type"}, Value: e.Type}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := xml.StartElement{Name: xml.Name{Local: e.Condition.Local}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: e.Condition.Space}}}
	if err := enc.EncodeToken(cond); err != nil {
		return err
	}
	if err := enc.EncodeToken(cond.End()); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

type pingPayload struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

package component

import (
	"encoding/xml"
	"errors"

	"gosrc.io/xmpp/stanza"
)

// errPresenceUnconsumed is what encoding/xml answers when a nested element
// named as the presence itself ends gosrc.io/xmpp's UnmarshalXML early.
var errPresenceUnconsumed = errors.New("xml: stanza.Presence.UnmarshalXML did not consume entire <presence> element")

// childTokens hands a decoder one child of the element a frameReader
// reads: the child's start tag (already read from the frameReader), then
// the frameReader's tokens.
type childTokens struct {
	r     *frameReader
	start *xml.StartElement
}

func (c *childTokens) Token() (xml.Token, error) {
	if c.start != nil {
		t := *c.start
		c.start = nil
		return t, nil
	}
	return c.r.Token()
}

// decodePresence decodes the presence r reads as gosrc.io/xmpp v0.5.1's
// Presence.UnmarshalXML does, to the same value and the same success or
// failure, reading r's tokens itself: only a child that UnmarshalXML
// decodes (a registered payload, show, status, priority, error) goes
// through an xml.Decoder, made for the first one and reused. Like
// UnmarshalXML, it acts on such a child at any depth, ignores text and
// other elements, and takes the end of a nested element named as the
// presence for its own (which encoding/xml then refuses).
func (r *frameReader) decodePresence() (stanza.Presence, error) {
	start := r.f.start
	r.started = true // read here, not handed out
	pres := presenceOf(start)
	var d *xml.Decoder
	child := childTokens{r: r}
	for {
		t, err := r.Token()
		if err != nil {
			return pres, err
		}
		switch tt := t.(type) {
		case xml.StartElement:
			var v any
			ext := stanza.TypeRegistry.GetPresExtension(tt.Name)
			switch {
			case ext != nil:
				v = ext
			case tt.Name.Local == "show":
				v = &pres.Show
			case tt.Name.Local == "status":
				v = &pres.Status
			case tt.Name.Local == "priority":
				v = &pres.Priority
			case tt.Name.Local == "error":
				v = &pres.Error
			default:
				continue
			}
			if d == nil {
				d = xml.NewTokenDecoder(&child)
			}
			child.start = &tt
			if err := decodeChild(d, v); err != nil {
				return pres, err
			}
			if ext != nil {
				pres.Extensions = append(pres.Extensions, ext)
			}
		case xml.EndElement:
			if tt.Name == start.Name {
				if r.depth != 0 {
					return pres, errPresenceUnconsumed
				}
				return pres, nil
			}
		}
	}
}

// presenceOf is a presence with the attributes of start, taken by local
// name as gosrc.io/xmpp's Presence.UnmarshalXML takes them.
func presenceOf(start xml.StartElement) stanza.Presence {
	pres := stanza.Presence{XMLName: start.Name}
	for _, attr := range start.Attr {
		switch attr.Name.Local {
		case "id":
			pres.Id = attr.Value
		case "type":
			pres.Type = stanza.StanzaType(attr.Value)
		case "to":
			pres.To = attr.Value
		case "from":
			pres.From = attr.Value
		case "lang":
			pres.Lang = attr.Value
		}
	}
	return pres
}

// decodeChild decodes into v the child d is about to read, its start tag
// first.
func decodeChild(d *xml.Decoder, v any) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	start := tok.(xml.StartElement)
	return d.DecodeElement(v, &start)
}

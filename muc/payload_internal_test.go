package muc

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// reflectedUserX is userX as encoding/xml's reflection decoded it before
// userX.UnmarshalXML replaced it.
type reflectedUserX struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#user x"`
	Items   []struct {
		Role        string `xml:"role,attr"`
		Affiliation string `xml:"affiliation,attr"`
		JID         string `xml:"jid,attr"`
		Nick        string `xml:"nick,attr"`
	} `xml:"item"`
	Statuses []struct {
		Code string `xml:"code,attr"`
	} `xml:"status"`
	Destroy *struct{} `xml:"destroy"`
}

// reflectedOccupantID is occupantIDX as reflection decoded it.
type reflectedOccupantID struct {
	XMLName xml.Name `xml:"urn:xmpp:occupant-id:0 occupant-id"`
	ID      string   `xml:"id,attr"`
}

// FuzzPayloadsDecodeAsReflection: the hand-written decoders of the
// muc#user and occupant-id payloads give what encoding/xml's reflection
// gave from the struct tags they replace, on any well-formed payload.
func FuzzPayloadsDecodeAsReflection(f *testing.F) {
	for _, s := range []string{
		`<status code='110'/><status code='307 '/><item role='moderator' affiliation='owner' jid='a@b/c' nick='n'/>`,
		`<item role='&#x263A;' role2='x' xmlns:role='urn:x'><actor nick='x'/><reason>r</reason></item><destroy jid='x'><reason/></destroy>`,
		`<item><item role='inner'><item/></item></item><x xmlns='jabber:x:data'/><o:status xmlns:o='urn:o' code='1'/>`,
		`<status code='-1'/>text<![CDATA[<x>]]><!-- c --><status/><destroy/><destroy/>`,
	} {
		f.Add(s, ` id='a' o:id='b' xmlns:o='urn:o'`)
	}
	f.Fuzz(func(t *testing.T, inner, attrs string) {
		raw := `<x xmlns='http://jabber.org/protocol/muc#user'` + attrs + `>` + inner + `</x>`
		if !wellFormed(raw) || rootName(raw) != (xml.Name{Space: nsMUCUser, Local: "x"}) {
			return // gosrc.io/xmpp's registry hands a payload over by its name
		}
		var got userX
		var want reflectedUserX
		errGot, errWant := xml.Unmarshal([]byte(raw), &got), xml.Unmarshal([]byte(raw), &want)
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("%s: error %v, reflection's %v", raw, errGot, errWant)
		}
		if len(got.Items) != len(want.Items) || len(got.Statuses) != len(want.Statuses) || (got.Destroy == nil) != (want.Destroy == nil) || got.XMLName != want.XMLName {
			t.Fatalf("%s:\n got  %+v\n want %+v", raw, got, want)
		}
		for i, it := range want.Items {
			if got.Items[i] != (userItem{it.Role, it.Affiliation, it.JID, it.Nick}) {
				t.Fatalf("%s: item %d %+v, want %+v", raw, i, got.Items[i], it)
			}
		}
		for i, st := range want.Statuses {
			if got.Statuses[i].Code != st.Code {
				t.Fatalf("%s: status %d %q, want %q", raw, i, got.Statuses[i].Code, st.Code)
			}
		}
		rawID := `<occupant-id xmlns='urn:xmpp:occupant-id:0'` + attrs + `>` + inner + `</occupant-id>`
		if rootName(rawID) != (xml.Name{Space: nsOccupantID, Local: "occupant-id"}) {
			return
		}
		var gotID occupantIDX
		var wantID reflectedOccupantID
		errGot, errWant = xml.Unmarshal([]byte(rawID), &gotID), xml.Unmarshal([]byte(rawID), &wantID)
		if (errGot == nil) != (errWant == nil) || gotID.ID != wantID.ID || gotID.XMLName != wantID.XMLName {
			t.Fatalf("%s: %+v (%v), want %+v (%v)", rawID, gotID, errGot, wantID, errWant)
		}
	})
}

// rootName is the name of the element raw, a well-formed one, opens with.
func rootName(raw string) xml.Name {
	tok, _ := xml.NewDecoder(strings.NewReader(raw)).Token()
	start, _ := tok.(xml.StartElement)
	return start.Name
}

// WellFormed is wellFormed for the external tests (fuzz_test.go).
var WellFormed = wellFormed

// wellFormed reports whether raw is exactly one well-formed element.
func wellFormed(raw string) bool {
	d := xml.NewDecoder(strings.NewReader(raw))
	depth, elements := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return depth == 0 && elements == 1
		}
		if err != nil {
			return false
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				elements++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 {
				return false
			}
		case xml.ProcInst, xml.Directive:
			return false
		}
	}
}

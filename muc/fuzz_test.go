package muc_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/muc"
	"gosrc.io/xmpp/stanza"
)

// FuzzKickQuery checks the kick payload round trip: whatever nickname and
// reason pass validation, the XML carries exactly them, in exactly one item,
// and nothing else.
func FuzzKickQuery(f *testing.F) {
	for _, s := range [][2]string{
		{"Bob", "spam"},
		{"<b>&\"q'", "]]> <x/> & ünïcødé"},
		{"a\tb", "line\r\nbreak"},
		{"🚪", ""},
		{"x'/><item nick='y' role='none'/><x a='", "</reason></item><item nick='z' role='none'>"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, nick, reason string) {
		if muc.CheckNick(nick) != nil || muc.CheckReason(reason) != nil {
			return // refused before any XML is built
		}
		data, err := xml.Marshal(muc.KickQuery(nick, reason))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var q struct {
			XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
			Items   []struct {
				Nick    string `xml:"nick,attr"`
				Role    string `xml:"role,attr"`
				Reasons []struct {
					Text string `xml:",chardata"`
				} `xml:"reason"`
				Any []xml.Name `xml:",any"`
			} `xml:"item"`
			Any []xml.Name `xml:",any"`
		}
		if err := xml.Unmarshal(data, &q); err != nil {
			t.Fatalf("the kick XML does not parse: %v\n%s", err, data)
		}
		if len(q.Items) != 1 || len(q.Any) != 0 {
			t.Fatalf("%d items and %d other elements:\n%s", len(q.Items), len(q.Any), data)
		}
		it := q.Items[0]
		wantReasons := 1
		if reason == "" {
			wantReasons = 0
		}
		if it.Nick != nick || it.Role != "none" || len(it.Reasons) != wantReasons || len(it.Any) != 0 {
			t.Fatalf("nick %q role %q reasons %d (want %q none %d):\n%s", it.Nick, it.Role, len(it.Reasons), nick, wantReasons, data)
		}
		// XML normalises a bare CR to LF in text; anything else is verbatim.
		if wantReasons == 1 && it.Reasons[0].Text != reason {
			t.Fatalf("reason %q, want %q:\n%s", it.Reasons[0].Text, reason, data)
		}
	})
}

// FuzzMUCUserPresence checks that muc's muc#user payload never makes a
// well-formed presence undecodable: whatever a stranger puts inside
// <x xmlns='http://jabber.org/protocol/muc#user'>, gosrc.io/xmpp's parser
// (which decodes registered payloads strictly) returns the presence.
func FuzzMUCUserPresence(f *testing.F) {
	for _, s := range []string{
		`<status code='abc'/>`,
		`<status code='110'/><status code='307 '/><item role='moderator' affiliation='owner' jid='a@b/c' nick='n'/>`,
		`<status code='99999999999999999999999'/><status code=''/><status/>`,
		`<item role='&#x263A;'><actor nick='x'/><reason>r</reason></item><destroy jid='x'><reason/></destroy>`,
		`<item><item><item/></item></item><x xmlns='jabber:x:data'/>`,
		`<status code='-1'/>text<![CDATA[<x>]]><!-- c -->`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, inner string) {
		raw := `<presence xmlns='jabber:component:accept' from='r@conference.example.org/n' to='kick.example.org'>` +
			`<x xmlns='http://jabber.org/protocol/muc#user'>` + inner + `</x></presence>`
		if !muc.WellFormed(raw) {
			return // the stream's problem, not the payload's
		}
		p, err := stanza.NextPacket(xml.NewDecoder(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("a well-formed presence did not decode: %v\n%s", err, raw)
		}
		if _, ok := p.(stanza.Presence); !ok {
			t.Fatalf("decoded as %T", p)
		}
	})
}

// FuzzOccupantIDPresence checks the same of XEP-0421's <occupant-id/>, which
// muc registers with gosrc.io/xmpp's parser too.
func FuzzOccupantIDPresence(f *testing.F) {
	for _, s := range []string{
		` id='abc'/>`,
		`><x/>text<occupant-id id='nested'/></occupant-id>`,
		` id='&#x263A;' other='x'><![CDATA[<y>]]></occupant-id>`,
		` id=''/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='second'/>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		raw := `<presence xmlns='jabber:component:accept' from='r@conference.example.org/n' to='kick.example.org'>` +
			`<occupant-id xmlns='urn:xmpp:occupant-id:0'` + rest + `</presence>`
		if !muc.WellFormed(raw) {
			return
		}
		p, err := stanza.NextPacket(xml.NewDecoder(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("a well-formed presence did not decode: %v\n%s", err, raw)
		}
		if _, ok := p.(stanza.Presence); !ok {
			t.Fatalf("decoded as %T", p)
		}
	})
}

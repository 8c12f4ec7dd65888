package muc_test

import (
	"encoding/xml"
	"testing"

	"github.com/muc-kick/muc-kick/muc"
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

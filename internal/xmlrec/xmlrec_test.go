package xmlrec

import (
	"bufio"
	"encoding/xml"
	"strings"
	"testing"
)

// TestElementsAsBytes cuts each top-level element out of a stream by the
// decoder's offsets, forgetting what came before, as the component's read
// loop does: each must come out exactly as sent, and a big element's buffer
// must not be kept once it is forgotten.
func TestElementsAsBytes(t *testing.T) {
	big := "<message><body>" + strings.Repeat("x", 100<<10) + "</body></message>"
	elements := []string{
		`<presence from='r@c/a'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>`,
		big,
		`<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<message>a &amp; b <![CDATA[<not/>]]></message>`,
	}
	rec := New(bufio.NewReader(strings.NewReader("<stream>" + strings.Join(elements, "\n  ") + "</stream>")))
	dec := xml.NewDecoder(rec)
	if _, err := dec.Token(); err != nil { // <stream>
		t.Fatal(err)
	}
	for i, want := range elements {
		var start int64
		var se xml.StartElement
		for {
			start = dec.InputOffset()
			rec.Forget(start)
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("element %d: %v", i, err)
			}
			if s, ok := tok.(xml.StartElement); ok {
				se = s
				break
			}
		}
		if err := dec.Skip(); err != nil {
			t.Fatalf("element %d: %v", i, err)
		}
		if got := string(rec.Since(start, dec.InputOffset())); got != want {
			t.Errorf("element %d (<%s>): got %.80q, want %.80q", i, se.Name.Local, got, want)
		}
		rec.Forget(dec.InputOffset())
		if cap(rec.buf) > 64<<10 {
			t.Errorf("after element %d, %d bytes of buffer are kept", i, cap(rec.buf))
		}
	}
}

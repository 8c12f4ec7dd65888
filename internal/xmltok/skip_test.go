package xmltok

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzSkipContent: for any input that is one well-formed element, SkipContent
// after its start tag stops exactly where encoding/xml's Skip finds the
// element's end tag, and Token then reads that end tag, read a byte at a
// time or at once. (The skipper is xmlrec's, fuzzed there on its own.)
func FuzzSkipContent(f *testing.F) {
	for _, s := range []string{`<e>x</e>`, `<e><a b='>'/><!--</e>--></e>`, `<e><![CDATA[</e>]]]></e>`,
		`<e><?p </e>?><a><b/></a></e>`, `<e>` + strings.Repeat(`<a>`, 40) + strings.Repeat(`</a>`, 40) + `</e>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec := xml.NewDecoder(strings.NewReader(s))
		tok, err := dec.Token()
		if _, ok := tok.(xml.StartElement); err != nil || !ok || strings.HasSuffix(s[:dec.InputOffset()], "/>") {
			return
		}
		if err := dec.Skip(); err != nil || dec.InputOffset() != int64(len(s)) {
			return // not one well-formed element
		}
		if _, err := dec.Token(); err != io.EOF {
			return
		}
		end := strings.LastIndex(s, "</")
		for _, r := range []io.Reader{strings.NewReader(s), iotest.OneByteReader(strings.NewReader(s))} {
			sc := New(r)
			if _, err := sc.Token(); err != nil {
				t.Fatalf("%q: the start tag: %v", s, err)
			}
			if err := sc.SkipContent(); err != nil || sc.Offset() != int64(end) {
				t.Fatalf("%q: skipped to %d, %v; want %d", s, sc.Offset(), err, end)
			}
			if tok, err := sc.Token(); err != nil {
				t.Fatalf("%q: end tag after the skip: %v", s, err)
			} else if _, ok := tok.(xml.EndElement); !ok {
				t.Fatalf("%q: after the skip %#v, want the end tag", s, tok)
			}
		}
	})
}

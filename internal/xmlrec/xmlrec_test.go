package xmlrec

import (
	"bufio"
	"encoding/xml"
	"io"
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

// TestSkipContent skips each element's content unread and leaves its end tag
// to the decoder, which must then find the stream intact: the element's end,
// then the next element whole.
func TestSkipContent(t *testing.T) {
	for _, content := range []string{
		``,
		`text only > here`,
		strings.Repeat(`<a/>`, 1000) + `<priority>high</priority>`,
		`<a x='>' y="</e>"><b  /><c ></c></a>`,
		`<!-- </e> <x> --><![CDATA[</e><y>]]]>`,
		`<?pi </e> ?>t<a><![CDATA[]]></a>`,
		`<!DOCTYPE x [<!ENTITY y "</e>">]><!00>`,
		strings.Repeat(`<a>`, 300) + strings.Repeat(`</a>`, 300),
	} {
		stream := "<stream><e from='x'>" + content + "</e><next id='1'/></stream>"
		// A small buffer, so that the scan crosses buffer boundaries.
		rec := New(bufio.NewReaderSize(strings.NewReader(stream), 16))
		dec := xml.NewDecoder(rec)
		for range 2 { // <stream>, <e>
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
		}
		n, err := rec.SkipContent()
		if err != nil || n != int64(len(content)) {
			t.Errorf("%.40q: skipped %d bytes, %v; want %d", content, n, err, len(content))
		}
		if tok, err := dec.Token(); err != nil || tok.(xml.EndElement).Name.Local != "e" {
			t.Fatalf("%.40q: after the skip %#v, %v; want </e>", content, tok, err)
		}
		if tok, err := dec.Token(); err != nil || tok.(xml.StartElement).Name.Local != "next" {
			t.Fatalf("%.40q: then %#v, %v; want <next>", content, tok, err)
		}
	}
}

// FuzzSkipContent: for any input that is one well-formed element, SkipContent
// after its start tag stops exactly where encoding/xml's Skip finds the
// element's end tag, and the decoder then reads that end tag.
func FuzzSkipContent(f *testing.F) {
	for _, s := range []string{`<e>x</e>`, `<e><a b='>'/><!--</e>--></e>`, `<e><![CDATA[</e>]]]></e>`, `<e><?p </e>?><a><b/></a></e>`} {
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
		rec := New(bufio.NewReaderSize(strings.NewReader(s), 16))
		d := xml.NewDecoder(rec)
		d.Token()
		startLen := d.InputOffset()
		n, err := rec.SkipContent()
		if err != nil || startLen+n != int64(end) {
			t.Fatalf("%q: skipped %d bytes after the start tag, %v; want %d", s, n, err, int64(end)-startLen)
		}
		if _, err := d.Token(); err != nil {
			t.Fatalf("%q: end tag after the skip: %v", s, err)
		}
	})
}

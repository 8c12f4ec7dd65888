package xmltok

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// XMPP forbids what encoding/xml accepts: the Scanner refuses it, after
// the tokens before it.
func TestRefusesWhatXMPPForbids(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"comment", stream + `<!-- hi --></stream:stream>`},
		{"comment in a stanza", stream + `<message><!-- hi --></message></stream:stream>`},
		{"processing instruction", stream + `<?php echo 1 ?></stream:stream>`},
		{"a second declaration", stream + `<?xml version='1.0'?></stream:stream>`},
		{"declaration after blanks", ` <?xml version='1.0'?><a/>`},
		{"another target first", `<?xml-stylesheet href='a'?><a/>`},
		{"DTD", `<!DOCTYPE a [<!ENTITY e "x">]><a/>`},
		{"directive in a stanza", stream + `<message><!ENTITY e "x"></message></stream:stream>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := std([]byte(tc.in))
			if wantErr != nil {
				t.Fatalf("encoding/xml refuses it too: %v", wantErr)
			}
			got, err := ours(strings.NewReader(tc.in))
			var serr *xml.SyntaxError
			if !errors.As(err, &serr) {
				t.Fatalf("got %d tokens and %v, want a syntax error", len(got), err)
			}
			if len(got) > 0 && !reflect.DeepEqual(got, want[:len(got)]) || !forbidden(len(got), want[len(got)].tok) {
				t.Errorf("failed after %d tokens, not at what XMPP forbids: %v", len(got), err)
			}
		})
	}
}

// What encoding/xml's strict mode refuses, the Scanner refuses at the same
// token.
func TestRefusesWhatEncodingXMLRefuses(t *testing.T) {
	for _, in := range []string{
		`<a>&e;</a>`, `<a b='&e;'/>`, `<a>&amp</a>`, `<a>&#xZ;</a>`, `<a>&#0;</a>`, `<a>&#1114112;</a>`,
		`<a b=c/>`, `<a b/>`, `<a b='<'/>`, `<a b='1'`, "<a>\xff</a>", "<a>\x01</a>", "<a b='\x0b'/>",
		`<a></b>`, `</a>`, `<a:b:c/>`, `<1a/>`, `<a 1b='x'/>`, `<a>]]></a>`, `<a / >`, `<![CDATA[x`, `<a`,
		`<?xml version='1.1'?><a/>`, `<?xml version='1.0' encoding='latin1'?><a/>`, `<é/>` + "<\u0300/>",
	} {
		want, wantErr := std([]byte(in))
		if wantErr == nil {
			t.Fatalf("%q: encoding/xml accepts it", in)
		}
		got, err := ours(strings.NewReader(in))
		if err == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %d tokens and %v; encoding/xml %d and %v", in, len(got), err, len(want), wantErr)
		}
	}
}

// Tokens far larger than a read, read in pieces, come out whole, as
// encoding/xml gives them.
func TestLargeTokens(t *testing.T) {
	big := strings.Repeat("a&amp;b\r\n", 20000)
	in := stream + `<message to='` + big + `'><body>` + big + `</body><x><![CDATA[` + big + `]]></x>` +
		`<` + strings.Repeat("n", 70000) + `/></message></stream:stream>`
	want, wantErr := std([]byte(in))
	for name, r := range map[string]func() *Scanner{
		"whole":   func() *Scanner { return New(strings.NewReader(in)) },
		"halves":  func() *Scanner { return New(iotest.HalfReader(strings.NewReader(in))) },
		"dataErr": func() *Scanner { return New(iotest.DataErrReader(strings.NewReader(in))) },
	} {
		s := r()
		got, err := collect(xml.NewTokenDecoder(s), s.Offset)
		if err != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d tokens, %v; want %d, %v", name, len(got), err, len(want), wantErr)
		}
	}
}

// Elements are cut out of the stream by offsets, as the component's read
// loop does; SkipContent reads past an element's content and leaves its end
// tag; a self-closing element says so.
func TestOffsetsAndSkip(t *testing.T) {
	in := stream + `<iq id='1'><q xmlns='x'/></iq> <message><body>a<b>c</b><!-- skipped --></body></message><p/>`
	s := New(iotest.OneByteReader(strings.NewReader(in)))
	d := xml.NewTokenDecoder(s)
	next := func() xml.Token {
		t.Helper()
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	next() // the declaration
	next() // <stream:stream>
	s.Forget(s.Offset())
	off := s.Offset()
	if _, ok := next().(xml.StartElement); !ok {
		t.Fatal("no <iq>")
	}
	for range 3 {
		next()
	}
	if got := string(s.Since(off, s.Offset())); got != `<iq id='1'><q xmlns='x'/></iq>` {
		t.Errorf("the iq cut out as %q", got)
	}
	s.Forget(s.Offset())
	next() // " "
	start := next().(xml.StartElement)
	if start.Name.Local != "message" || s.SelfClosing() {
		t.Fatalf("got %v", start)
	}
	next() // <body>
	if err := s.SkipContent(); err != nil {
		t.Fatal(err)
	}
	if end, ok := next().(xml.EndElement); !ok || end.Name.Local != "body" {
		t.Fatalf("after SkipContent: %v", end)
	}
	next() // </message>
	off = s.Offset()
	if p := next().(xml.StartElement); p.Name.Local != "p" || !s.SelfClosing() {
		t.Errorf("<p/>: %v, self-closing %v", p, s.SelfClosing())
	}
	if got := string(s.Since(off, s.Offset())); got != `<p/>` || !bytes.HasSuffix([]byte(in), []byte(got)) {
		t.Errorf("<p/> cut out as %q", got)
	}
}

// Elements cut out one after another from a long stream, read in pieces,
// are the bytes sent, whatever the buffer did in between (moved what it
// kept, grew for a large element, shrank again).
func TestSinceOverALongStream(t *testing.T) {
	var in strings.Builder
	var elems []string
	for i := range 3000 {
		e := "<p n='" + strings.Repeat("x", i%97) + "'>" + strings.Repeat("&amp;y", i%13) + "<q/></p>"
		if i == 1500 {
			e = "<p>" + strings.Repeat("z", 300<<10) + "</p>"
		}
		elems = append(elems, e)
		in.WriteString(e)
	}
	s := New(iotest.HalfReader(strings.NewReader(in.String())))
	d := xml.NewTokenDecoder(s)
	for i, want := range elems {
		off := s.Offset()
		s.Forget(off)
		for depth := 0; depth > 0 || s.Offset() == off; {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("element %d: %v", i, err)
			}
			switch tok.(type) {
			case xml.StartElement:
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if got := string(s.Since(off, s.Offset())); got != want {
			t.Fatalf("element %d cut out as %.80q, want %.80q", i, got, want)
		}
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v", err)
	}
}

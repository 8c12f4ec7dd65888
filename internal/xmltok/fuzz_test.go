package xmltok

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// stream is how a server opens a component stream, for the seeds.
const stream = `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='5d3f' from='kick.example.org'>`

// seeds are streams as Prosody and ejabberd send them, and hostile ones.
var seeds = []string{
	stream + `<handshake/>`,
	stream + `<handshake/> <presence from='room@conference.example.org/alice' to='kick.example.org/bot' id='p1'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='alice@example.org/res'/></x><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://psi-im.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>`,
	stream + `<presence type='unavailable' from='room@conference.example.org/bob' to='kick.example.org/r1'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'><actor nick='mod'/><reason>spam &amp; worse</reason></item><status code='307'/></x></presence>`,
	stream + `<iq xmlns="jabber:component:accept" type="result" id="k1" from="room@conference.example.org" to="kick.example.org"/>`,
	stream + `<message type='groupchat' from='room@conference.example.org/bob' xml:lang='en'><body>a &lt;b&gt; &#x1F600; &#233;</body></message>`,
	stream + `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
	stream + `<message><body><![CDATA[<not a tag> ]] ]]></body></message>`,
	stream + "<message>\r\n<body>a\rb\r\n</body></message>",
	stream + `<!-- a comment -->`,
	stream + `<?pi data?>`,
	`<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>`,
	stream + `<a>&unknown;</a>`,
	stream + `<a b='<'/>`,
	stream + `<a b=c/>`,
	stream + `<a b='1' b='2'/>`,
	stream + `<a></b>`,
	stream + "<a>\x00</a>",
	stream + "<a>\xff</a>",
	stream + `<a>&#0;&#xD800;&#1114112;</a>`,
	stream + `<a:b:c/>`,
	stream + `<é à='1'/>`,
	`<?xml version='1.0' encoding='latin1'?><a/>`,
	` <?xml version='1.0'?><a/>`,
	stream + `<a>]]></a>`,
}

// FuzzScannerAsDecoder feeds the same bytes to a Scanner (through
// xml.NewTokenDecoder, as the component reads a stream) and to encoding/xml's
// own strict Decoder. The Scanner must give the same tokens at the same
// offsets, and fail no later than encoding/xml fails, or than the input
// uses what XMPP forbids (a comment, a processing instruction other than
// the declaration at the start, a DTD or other directive), which it must
// refuse. Read a byte at a time, it must give the same again.
func FuzzScannerAsDecoder(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, s := range stanzaCorpus(f) {
		f.Add([]byte(stream + s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4<<10 { // larger adds nothing but time (TestLargeTokens reads large ones)
			return
		}
		want, wantErr := std(in)
		got, gotErr := ours(bytes.NewReader(in))
		if n := len(got); n > len(want) {
			t.Fatalf("token %d: %#v, where encoding/xml failed: %v", len(want), got[len(want)], wantErr)
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("token %d: got %#v, want %#v", i, got[i], want[i])
			}
		}
		switch n := len(got); {
		case gotErr == nil && (wantErr != nil || n != len(want)):
			t.Fatalf("ended after %d tokens; encoding/xml gave %d, then %v", n, len(want), wantErr)
		case gotErr != nil && n == len(want) && wantErr == nil:
			t.Fatalf("failed after all %d tokens: %v", n, gotErr)
		case gotErr != nil && n < len(want) && !forbidden(n, want[n].tok):
			t.Fatalf("failed at token %d (%#v): %v", n, want[n].tok, gotErr)
		}
		slow, slowErr := ours(iotest.OneByteReader(bytes.NewReader(in)))
		if !reflect.DeepEqual(slow, got) || (slowErr == nil) != (gotErr == nil) {
			t.Fatalf("a byte at a time: %d tokens, %v; at once: %d, %v", len(slow), slowErr, len(got), gotErr)
		}
	})
}

// token is a token, copied, with the stream offset after it.
type token struct {
	tok xml.Token
	off int64
}

// forbidden reports whether tok, the nth token, is what XMPP forbids.
func forbidden(n int, tok xml.Token) bool {
	switch t := tok.(type) {
	case xml.Comment, xml.Directive:
		return true
	case xml.ProcInst:
		return n > 0 || t.Target != "xml"
	}
	return false
}

// std tokenizes in with encoding/xml's strict Decoder.
func std(in []byte) ([]token, error) {
	d := xml.NewDecoder(bytes.NewReader(in))
	return collect(d, d.InputOffset)
}

// ours tokenizes r with a Scanner under xml.NewTokenDecoder.
func ours(r io.Reader) ([]token, error) {
	s := New(r)
	return collect(xml.NewTokenDecoder(s), s.Offset)
}

// collect reads up to 10,000 tokens, or an error; io.EOF is no error.
func collect(d *xml.Decoder, off func() int64) ([]token, error) {
	var toks []token
	for range 10000 {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return toks, nil
		}
		if err != nil {
			return toks, err
		}
		toks = append(toks, token{xml.CopyToken(tok), off()})
	}
	return toks, nil
}

// stanzaCorpus reads the component's FuzzStanza corpus, stanzas as
// servers send them and hostile ones.
func stanzaCorpus(tb testing.TB) []string {
	files, _ := filepath.Glob("../../component/testdata/fuzz/FuzzStanza/*")
	var out []string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "[]byte("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(v, ")")); err == nil {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

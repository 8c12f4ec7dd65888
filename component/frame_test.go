package component

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"gosrc.io/xmpp/stanza"
)

// mucUserX is a registered presence payload, decoded as strictly as the muc
// package's (a status code is an int), so that the tests of this package
// meet the decode failures the daemon meets. component registers none.
type mucUserX struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#user x"`
	Status  []struct {
		Code int `xml:"code,attr"`
	} `xml:"status"`
}

func init() {
	stanza.TypeRegistry.MapExtension(stanza.PKTPresence, xml.Name{Space: "http://jabber.org/protocol/muc#user", Local: "x"}, mucUserX{})
}

// TestFramesDecodeAsInPlace: a stanza cut out of the stream as bytes and
// decoded on its own decodes to exactly what gosrc.io/xmpp's NextPacket made
// of it in place, namespaces and prefixes declared on the stream header
// included.
func TestFramesDecodeAsInPlace(t *testing.T) {
	const header = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' xmlns:m='http://jabber.org/protocol/muc#user' from='kick.example.org' id='x1'>"
	stanzas := []string{
		`<iq type='result' id='a1' from='room@conference.example.org' to='kick.example.org'/>`,
		`<iq type='error' id='a2' from='room@conference.example.org' to='kick.example.org/r1'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Bob' role='none'/></query><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Nickname Bob does not exist in the room</text></error></iq>`,
		`<iq type='get' id='a3' from='example.org' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<presence from='room@conference.example.org/kickbot' to='kick.example.org/r1'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/><status code='110'/></x></presence>`,
		// a prefix declared on the stream header, used by the stanza
		`<presence type='unavailable' from='room@conference.example.org/bob' to='kick.example.org/r1'><m:x><m:status code='307'/></m:x></presence>`,
		`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>`,
		`<message type='groupchat' from='room@conference.example.org/bob' to='kick.example.org/r1' xml:lang='en'><subject>hi</subject><body>a &amp; b</body></message>`,
		`<c:message xmlns:c='jabber:component:accept' from='a@b' to='kick.example.org'><c:body>prefixed</c:body></c:message>`,
	}
	// In place, as the read loop did before.
	inPlace := xml.NewDecoder(strings.NewReader(header + strings.Join(stanzas, "\n")))
	if _, err := stanza.InitStream(inPlace); err != nil {
		t.Fatal(err)
	}
	// As frames.
	s := &session{}
	s.read(strings.NewReader(header + strings.Join(stanzas, "\n")))
	h, err := s.streamHeader()
	if err != nil {
		t.Fatal(err)
	}
	s.nsContext = namespaceContext(h)
	for i := range stanzas {
		want, err := stanza.NextPacket(inPlace)
		if err != nil {
			t.Fatalf("stanza %d in place: %v", i, err)
		}
		var f frame
		for {
			off := s.tok.Offset()
			s.tok.Forget(off)
			tok, err := s.dec.Token()
			if err != nil {
				t.Fatalf("stanza %d: %v", i, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if f, err = s.readFrame(se, off, maxElements); err != nil {
					t.Fatalf("stanza %d: %v", i, err)
				}
				break
			}
		}
		if string(f.raw) != stanzas[i] {
			t.Errorf("frame %d:\n got %s\nwant %s", i, f.raw, stanzas[i])
		}
		got, err := s.decode(f)
		if err != nil {
			t.Fatalf("stanza %d as a frame: %v", i, err)
		}
		if p, ok := got.(stanza.Presence); ok && len(p.Extensions) != 1 {
			t.Errorf("stanza %d: extensions %#v, want the registered muc#user payload", i, p.Extensions)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stanza %d:\n as a frame %#v\n in place   %#v", i, got, want)
		}
		// A presence or message is decoded as it is read, to the same.
		if decodesInPlace(f.start) && (f.decodeErr != nil || !reflect.DeepEqual(f.packet, want)) {
			t.Errorf("stanza %d:\n decoded as read %#v (%v)\n in place       %#v", i, f.packet, f.decodeErr, want)
		}
	}
}

// TestDecodedAsReadAsFromBytes: a stanza decoded from the read loop's
// tokens (decodeInPlace, which keeps the empty children gosrc.io/xmpp has
// no use for from its decoder) decodes to what its bytes decode to, or
// fails as they do: unknown children empty or not, a known name nested in
// an unknown child, a child named as the stanza, payloads registered or
// not, and each stanza's own children.
func TestDecodedAsReadAsFromBytes(t *testing.T) {
	const header = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='kick.example.org' id='x1'>"
	stanzas := []string{
		`<presence from='r@c/a'><a/><b xmlns='urn:b'/><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/><show>away</show></presence>`,
		`<presence from='r@c/a'><a/><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x><a></a><a> </a></presence>`,
		`<presence from='r@c/a'><a>text</a><a><show>nested</show></a><priority>5</priority></presence>`,
		`<presence from='r@c/a'><presence/><show>away</show></presence>`,
		`<presence from='r@c/a'><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></presence>`,
		`<presence from='r@c/a'><priority/><status/><error type='cancel'/><a/></presence>`,
		`<presence from='r@c/a'><a/></presence>`,
		`<message from='r@c/a' type='groupchat'><a/><body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/><subject/><a/></message>`,
		`<message from='r@c/a'><message/><body/></message>`,
		`<message from='r@c/a'><a><body>nested</body></a><thread/></message>`,
		`<iq type='result' id='i1' from='r@c'><a/></iq>`,
	}
	s := &session{}
	s.read(strings.NewReader(header + strings.Join(stanzas, "")))
	h, err := s.streamHeader()
	if err != nil {
		t.Fatal(err)
	}
	s.nsContext = namespaceContext(h)
	for i := range stanzas {
		off := s.tok.Offset()
		s.tok.Forget(off)
		tok, err := s.dec.Token()
		if err != nil {
			t.Fatalf("stanza %d: %v", i, err)
		}
		f, err := s.readFrame(tok.(xml.StartElement), off, maxElements)
		if err != nil {
			t.Fatalf("stanza %d: %v", i, err)
		}
		want, wantErr := s.decode(f)
		if (f.decodeErr == nil) != (wantErr == nil) || wantErr == nil && !reflect.DeepEqual(f.packet, want) {
			t.Errorf("stanza %d %s:\n decoded as read %#v (%v)\n from its bytes  %#v (%v)", i, stanzas[i], f.packet, f.decodeErr, want, wantErr)
		}
	}
}

package component

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"gosrc.io/xmpp/stanza"
)

// handWrittenX is a registered presence payload (under a namespace of its
// own, so that the benchmarks' traffic meets none) with a hand-written
// decoder, as the muc package's are: it reads its own tokens, and stops
// early (leaving its element unconsumed) at a <stop/>, which encoding/xml
// then refuses.
type handWrittenX struct {
	ID string
}

func (o *handWrittenX) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		if a.Name.Local == "id" {
			o.ID = a.Value
		}
	}
	for depth := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "stop" {
				return nil
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

func init() {
	stanza.TypeRegistry.MapExtension(stanza.PKTPresence, xml.Name{Space: "urn:test:hand-written", Local: "h"}, handWrittenX{})
}

// presenceHeader opens the stream the presences of FuzzPresenceAsGosrc are
// read from, with a prefix declared for muc#user.
const presenceHeader = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' xmlns:m='http://jabber.org/protocol/muc#user' from='kick.example.org' id='x1'>"

// FuzzPresenceAsGosrc: arbitrary bytes as a presence's content, read as the
// read loop reads a stanza, decode in place (decodePresence) to exactly
// what gosrc.io/xmpp's NextPacket makes of the element's bytes, or fail
// where it fails. An element over a bound is left aside: the read loop
// drops it before looking at its decoding.
func FuzzPresenceAsGosrc(f *testing.F) {
	for _, seed := range presenceSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		doc := "<presence from='room@conference.example.org/x' to='kick.example.org/r1' type='unavailable' id='p1' xml:lang='en'>" + content + "</presence>"
		s := &session{}
		s.read(strings.NewReader(presenceHeader + doc))
		h, err := s.streamHeader()
		if err != nil {
			t.Fatal(err)
		}
		s.nsContext = namespaceContext(h)
		off := s.tok.Offset()
		s.tok.Forget(off)
		tok, err := s.dec.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != "presence" {
			return
		}
		fr, err := s.readFrame(start, off, maxElements)
		if err != nil || fr.over != "" || fr.raw == nil {
			return
		}
		want, wantErr := s.decode(fr)
		if fr.decodePanic || (fr.decodeErr == nil) != (wantErr == nil) || wantErr == nil && !reflect.DeepEqual(fr.packet, want) {
			t.Errorf("%s:\n decoded as read %#v (%v)\n from its bytes  %#v (%v)", fr.raw, fr.packet, fr.decodeErr, want, wantErr)
		}
	})
}

// presenceSeeds are presences as Prosody and ejabberd send them, and
// hostile ones.
var presenceSeeds = []string{
	``,
	`<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none' nick='bob'><actor nick='mod'/><reason>spam</reason></item><status code='307'/></x>`,
	`<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' jid='kick.example.org/r1'/><status code='110'/><status code='100'/></x>`,
	`<occupant-id xmlns='urn:xmpp:occupant-id:0' id='dd72603deec90a38ba552f7c68cbcc61bca202cd'/><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/></x>`,
	`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://prosody.im' ver='KTdlf5Gmh3yyWRRXtcW6Rzvg+6I='/><show>away</show><status>brb</status><priority>5</priority>`,
	`<error type='cancel' by='room@conference.example.org'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Nickname in use</text></error>`,
	`<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><x xmlns='http://jabber.org/protocol/muc'/>`,
	`<x xmlns='http://jabber.org/protocol/muc'><password>p</password><history maxstanzas='0'/></x>`,
	`<m:x><m:status code='307'/></m:x>`,
	`<x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x>`,
	`<priority>high</priority>`,
	`<priority> 7 </priority><priority/><priority>  </priority>`,
	`<priority>300</priority>`,
	`<show>a<b>c</b>d</show><status><x/></status>`,
	`text<a>more</a>&amp;`,
	`<a><show>nested</show></a><a><b><priority>x</priority></b></a>`,
	`<presence/><show>away</show>`,
	`<a><presence></presence></a>`,
	`<presence xmlns='urn:other'/>`,
	`<h xmlns='urn:test:hand-written' id='a'/><h xmlns='urn:test:hand-written' id='b'><k/>t<k>u</k></h>`,
	`<h xmlns='urn:test:hand-written' id='a'><stop/></h>`,
	`<h xmlns='urn:test:hand-written' id='a'><k/><k><stop/></k></h>`,
	`<a xmlns:p='urn:test:hand-written'><p:h id='z'/></a>`,
	`<x xmlns='http://jabber.org/protocol/muc#user'><x xmlns='http://jabber.org/protocol/muc#user'/></x>`,
	`<error><error type='x'/></error>`,
	`<a/><a></a><a> </a><b xmlns='urn:b'/>`,
}

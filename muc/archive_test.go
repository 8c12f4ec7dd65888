package muc

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

func TestRetractQueryXML(t *testing.T) {
	for _, tc := range []struct {
		v    moderation
		want string
	}{
		{moderation1, `<moderate xmlns="urn:xmpp:message-moderate:1" id="s-1"><retract xmlns="urn:xmpp:message-retract:1"></retract><reason>spam &amp; worse</reason></moderate>`},
		{moderation0, `<apply-to xmlns="urn:xmpp:fasten:0" id="s-1"><moderate xmlns="urn:xmpp:message-moderate:0"><retract xmlns="urn:xmpp:message-retract:0"></retract><reason>spam &amp; worse</reason></moderate></apply-to>`},
	} {
		out, err := xml.Marshal(retractQuery(tc.v, "s-1", "spam & worse"))
		if err != nil || string(out) != tc.want {
			t.Errorf("version %d:\n got %s (%v)\nwant %s", tc.v, out, err, tc.want)
		}
	}
	out, _ := xml.Marshal(retractQuery(moderation1, "s-2", ""))
	if strings.Contains(string(out), "reason") {
		t.Errorf("an empty reason must be left out: %s", out)
	}
}

func TestMAMQueryXML(t *testing.T) {
	out, err := xml.Marshal(newMAMQuery("q1", "", time.Time{}))
	want := `<query xmlns="urn:xmpp:mam:2" queryid="q1"><set xmlns="http://jabber.org/protocol/rsm"><max>100</max><before></before></set></query>`
	if err != nil || string(out) != want {
		t.Errorf("newest page:\n got %s (%v)\nwant %s", out, err, want)
	}
	since := time.Date(2026, 12, 5, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	out, _ = xml.Marshal(newMAMQuery("q2", "id-9", since))
	want = `<query xmlns="urn:xmpp:mam:2" queryid="q2"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="start"><value>2026-12-05T07:00:00Z</value></field></x><set xmlns="http://jabber.org/protocol/rsm"><max>100</max><before>id-9</before></set></query>`
	if string(out) != want {
		t.Errorf("older page since:\n got %s\nwant %s", out, want)
	}
}

func TestFeaturesOf(t *testing.T) {
	for _, tc := range []struct {
		vars []string
		want roomFeatures
	}{
		{nil, roomFeatures{}},
		{[]string{"urn:xmpp:mam:2", nsModerate0}, roomFeatures{moderation0, true, false}},
		{[]string{nsModerate1, nsModerate0, "urn:xmpp:mam:2"}, roomFeatures{moderation1, true, false}},
		{[]string{nsModerate0, nsModerate1}, roomFeatures{moderation1, false, false}},
		{[]string{"urn:xmpp:message-moderate:2"}, roomFeatures{}},
		{[]string{nsModerate1, "urn:xmpp:mam:2", "urn:xmpp:mam:2#extended"}, roomFeatures{moderation1, true, true}},
	} {
		if got := featuresOf(tc.vars); got != tc.want {
			t.Errorf("featuresOf(%q) = %+v, want %+v", tc.vars, got, tc.want)
		}
	}
}

// decodeResult decodes a message the way the component's stream does.
func decodeResult(t *testing.T, raw string) *mamResult {
	t.Helper()
	var msg stanza.Message
	if err := xml.Unmarshal([]byte(raw), &msg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, e := range msg.Extensions {
		if r, ok := e.(*mamResult); ok {
			return r
		}
	}
	return nil
}

func TestArchivedOf(t *testing.T) {
	prosody := `<message from='room@chat.example.org' to='kick.example.org/r1'>
	  <result xmlns='urn:xmpp:mam:2' queryid='q1' id='5d8a'>
	    <forwarded xmlns='urn:xmpp:forward:0'>
	      <delay xmlns='urn:xmpp:delay' stamp='2026-12-05T07:30:00Z'/>
	      <message xmlns='jabber:client' from='room@chat.example.org/Bob' type='groupchat' id='m1'>
	        <body>buy now</body>
	        <occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ-bob'/>
	      </message></forwarded></result></message>`
	a, ok := archivedOf(decodeResult(t, prosody))
	want := archived{ID: "5d8a", Nick: "Bob", OccupantID: "occ-bob", Stamp: time.Date(2026, 12, 5, 7, 30, 0, 0, time.UTC), Body: true}
	if !ok || a != want {
		t.Errorf("Prosody's result: %+v %v, want %+v", a, ok, want)
	}

	ejabberd := `<message from='room@chat.example.org' to='kick.example.org/r1'>
	  <result xmlns='urn:xmpp:mam:2' queryid='q1' id='1733383800000000'>
	    <forwarded xmlns='urn:xmpp:forward:0'>
	      <message xmlns='jabber:client' from='room@chat.example.org/Bob' type='groupchat'>
	        <x xmlns='http://jabber.org/protocol/muc#user'><item jid='Bob@Example.org/phone'/></x>
	        <body>buy now</body></message>
	      <delay xmlns='urn:xmpp:delay' stamp='2026-12-05T07:30:00.123456Z'/>
	    </forwarded></result></message>`
	a, ok = archivedOf(decodeResult(t, ejabberd))
	if !ok || a.JID.String() != "bob@example.org" || a.Nick != "Bob" || a.Stamp.IsZero() || !a.Body {
		t.Errorf("ejabberd's result: %+v %v", a, ok)
	}

	tombstone := `<message from='room@chat.example.org'><result xmlns='urn:xmpp:mam:2' id='t1'><forwarded xmlns='urn:xmpp:forward:0'>
	  <message from='room@chat.example.org/Bob' type='groupchat'><retracted xmlns='urn:xmpp:message-retract:1'/></message></forwarded></result></message>`
	if a, ok := archivedOf(decodeResult(t, tombstone)); !ok || a.Body {
		t.Errorf("a tombstone has no body: %+v %v", a, ok)
	}

	for name, raw := range map[string]string{
		"no id":       `<message><result xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><message type='groupchat'><body>x</body></message></forwarded></result></message>`,
		"chat":        `<message><result xmlns='urn:xmpp:mam:2' id='c'><forwarded xmlns='urn:xmpp:forward:0'><message type='chat'><body>x</body></message></forwarded></result></message>`,
		"no message":  `<message><result xmlns='urn:xmpp:mam:2' id='c'/></message>`,
		"bad stamp":   `<message><result xmlns='urn:xmpp:mam:2' id='c'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='yesterday'/></forwarded></result></message>`,
		"nested junk": `<message><result xmlns='urn:xmpp:mam:2' id='c'><forwarded xmlns='urn:xmpp:forward:0'><message type='groupchat'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='@@'><item/></item></x></message></forwarded></result></message>`,
	} {
		r := decodeResult(t, raw)
		if r == nil {
			t.Errorf("%s: not decoded as a result", name)
			continue
		}
		if a, ok := archivedOf(r); ok && a.Body {
			t.Errorf("%s: taken as a message to retract: %+v", name, a)
		}
	}
}

func TestArchiveSearch(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 12, 5, 7, min, 0, 0, time.UTC) }
	bob, _ := jid.Parse("bob@example.org")
	// Two pages, oldest first within each, as the archive sends them.
	older := []archived{
		{ID: "a1", Nick: "Bob", Stamp: at(1), Body: true},
		{ID: "a2", Nick: "Alice", Stamp: at(2), Body: true},
		{ID: "a3", Nick: "Bob", JID: bob, Stamp: at(3), Body: true},
	}
	newer := []archived{
		{ID: "b1", Nick: "Bob", Stamp: at(4), Body: false}, // a tombstone
		{ID: "b2", Nick: "Robert", OccupantID: "occ-bob", Stamp: at(5), Body: true},
		{ID: "b3", Nick: "Bob", Stamp: at(6), Body: true},
	}
	run := func(sel Selection, occ map[string]bool) []string {
		s := archiveSearch{match: matcher{sel: sel, occupantIDs: occ}}
		if !s.take(newer, false) {
			s.take(older, true)
		}
		return s.ids
	}
	for _, tc := range []struct {
		name string
		sel  Selection
		occ  map[string]bool
		want []string
	}{
		{"by nick, newest first", Selection{Nick: "Bob"}, nil, []string{"b3", "a3", "a1"}},
		{"by nick, last 2", Selection{Nick: "Bob", Last: 2}, nil, []string{"b3", "a3"}},
		{"by nick since", Selection{Nick: "Bob", Since: at(3)}, nil, []string{"b3", "a3"}},
		{"by jid and occupant id", Selection{JID: bob}, map[string]bool{"occ-bob": true}, []string{"b2", "a3"}},
		{"by jid alone", Selection{JID: bob}, nil, []string{"a3"}},
		{"nobody", Selection{Nick: "Carol"}, nil, nil},
	} {
		if got := run(tc.sel, tc.occ); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}

	// A selection by count stops reading once it has its count.
	s := archiveSearch{match: matcher{sel: Selection{Nick: "Bob", Last: 1}}}
	if !s.take(newer, false) {
		t.Error("a search with its count must be over")
	}
	// One by time stops at the first older message.
	s = archiveSearch{match: matcher{sel: Selection{Nick: "Bob", Since: at(5)}}}
	if !s.take(newer, false) {
		t.Error("a search past its start must be over")
	}
	// Neither reads without end.
	s = archiveSearch{match: matcher{sel: Selection{Nick: "Nobody"}}}
	for i := 1; i < maxArchivePages; i++ {
		if s.take(newer, false) {
			t.Fatalf("over after %d pages", i)
		}
	}
	if !s.take(newer, false) {
		t.Errorf("not over after %d pages", maxArchivePages)
	}
}

func TestStampQuery(t *testing.T) {
	stamp, ok := ejabberdStamp("1796457541762189")
	if !ok {
		t.Fatal("an ejabberd id is not read as a time")
	}
	out, _ := xml.Marshal(stampQuery("q", stamp))
	want := `<field var="start"><value>2026-12-05T07:59:01.762189Z</value></field><field var="end"><value>2026-12-05T07:59:01.762189Z</value></field>`
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "<max>10</max>") {
		t.Errorf("stampQuery: %s\nwant %s", out, want)
	}
	for _, id := range []string{"no-such-id", "06b13c16-0000-7000-8000-000000000000", "-5", ""} {
		if _, ok := ejabberdStamp(id); ok {
			t.Errorf("ejabberdStamp(%q) is a time", id)
		}
	}
}

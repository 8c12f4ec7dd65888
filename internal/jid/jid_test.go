package jid

import (
	"errors"
	"strings"
	"testing"
)

// TestParseRoomNormalizes checks that a room is sent, stored and matched as
// the server routes it: Prosody and ejabberd prepare the room name with
// nodeprep, so "team\u0301secret" is the room "teaḿsecret".
func TestParseRoomNormalizes(t *testing.T) {
	for _, tc := range []struct{ in, want, errHas string }{
		{"Room@Conference.Example.org", "room@conference.example.org", ""},
		{"team\u0301secret@conference.example.org", "tea\u1e3fsecret@conference.example.org", ""}, // combining mark
		{"ＴＥＡＭ-red@conference.example.org", "team-red@conference.example.org", ""},                // fullwidth
		{"Cafe\u0301@conference.example.org", "café@conference.example.org", ""},
		{"\ufb01le@conference.example.org", "", "not a valid XMPP localpart"},           // compatibility ligature
		{"room\u00b2@conference.example.org", "", "not a valid XMPP localpart"},         // superscript
		{"straße@conference.example.org", "", "servers could normalize it differently"}, // nodeprep: strasse
		{"room@\u13cf.example.org", "", "servers could normalize it differently"},       // Cherokee: folds to U+ABAF, which folds on to U+13DF
		{"\u13cf@conference.example.org", "", "servers could normalize it differently"},
		{"room\uff20evil.org@conference.example.org", "", "JID cannot hold"}, // fullwidth @ becomes @
		{"room\uff0fx@conference.example.org", "", "JID cannot hold"},        // fullwidth / becomes /
		{"room@ｃｏｎｆｅｒｅｎｃｅ.example.org", "", "domain"},
		{"room@conference\uff0eexample.org", "", "domain"},
		{"room@conference.example.org.", "", `domain: it ends with "."`}, // one domain rule
	} {
		got, err := ParseRoom(tc.in)
		switch {
		case tc.errHas == "" && (err != nil || got.String() != tc.want || !got.IsBare() || got.Local() == ""):
			t.Errorf("ParseRoom(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.errHas != "" && (err == nil || !errors.Is(err, ErrInvalidRoom) || !strings.Contains(err.Error(), tc.errHas) || !got.IsZero()):
			t.Errorf("ParseRoom(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.errHas)
		}
	}
}

func TestParseNormalizes(t *testing.T) {
	for _, tc := range []struct{ in, want, errHas string }{
		{"Bob@Example.org/Phone", "bob@example.org/Phone", ""}, // the resource keeps its case
		{"ＢＯＢ@example.org", "bob@example.org", ""},
		{"Bo\u0301b@example.org/cafe\u0301", "bób@example.org/café", ""},
		{"example.org", "example.org", ""},
		{"bob@example.org/ＰＨＯＮＥ", "", "resource"},
		{"\u210cello@example.org", "", "not a valid XMPP localpart"},
		{"bob\uff20evil@example.org", "", "JID cannot hold"},
		{"bob@example.org./x", "", `domain: it ends with "."`},
	} {
		got, err := Parse(tc.in)
		switch {
		case tc.errHas == "" && (err != nil || got.String() != tc.want):
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.errHas != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("Parse(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.errHas)
		}
	}
}

// The texts the HTTP API answers with, byte for byte.
func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		parse func(string) (JID, error)
		in    string
		want  string
	}{
		{ParseRoom, "conference.example.org", `muc: invalid room JID: "conference.example.org" has no room name; give room@service`},
		{ParseRoom, "a@", `muc: invalid room JID: "a@": no domain after '@'`},
		{ParseRoom, "r@a..b", `muc: invalid room JID: "r@a..b": domain: it has an empty label`},
		{ParseRoom, "a room@c.example", `muc: invalid room JID: "a room@c.example": room name contains ' ', which a JID cannot hold`},
		{Parse, "@example.org", `muc: invalid JID: "@example.org" has an empty name before '@'`},
		{Parse, "a b@example.org", `muc: invalid JID: "a b@example.org": name contains ' ', which a JID cannot hold`},
		{Parse, "b@example.org/", `muc: invalid JID: "b@example.org/": bad resource`},
	} {
		if _, err := tc.parse(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"conference.example.org", ""},
		{"münchen.de", ""},
		{"kick.example.org.", `it ends with "."`},
		{"", "it is empty"},
		{"a..b", "it has an empty label"},
		{"a b.org", "it contains ' '"},
	} {
		err := CheckDomain(tc.in)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("CheckDomain(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
	if d, err := ParseDomain("Conference.Example.ORG"); err != nil || d.String() != "conference.example.org" || !d.Equal(d.Domain()) {
		t.Errorf("ParseDomain = %v, %v", d, err)
	}
}

func TestParts(t *testing.T) {
	j, err := Parse("Bob@Example.org/Phone")
	if err != nil {
		t.Fatal(err)
	}
	if j.Local() != "bob" || j.Domain().String() != "example.org" || j.Resource() != "Phone" || j.IsBare() {
		t.Errorf("parts of %v: %q %q %q", j, j.Local(), j.Domain(), j.Resource())
	}
	if b := j.Bare(); b.String() != "bob@example.org" || !b.IsBare() || b.Equal(j) {
		t.Errorf("Bare = %v", b)
	}
	if w := j.Bare().WithResource("Phone"); !w.Equal(j) {
		t.Errorf("WithResource = %v, want %v", w, j)
	}
	room, _ := ParseRoom("room@conference.example.org")
	for _, tc := range []struct {
		j    JID
		want string
	}{{room, "example.org"}, {j, "org"}} {
		if p, ok := tc.j.Parent(); !ok || p.String() != tc.want {
			t.Errorf("Parent(%v) = %v, %v; want %s", tc.j, p, ok, tc.want)
		}
	}
	if one, _ := Parse("localhost"); one.Local() != "" {
		t.Errorf("Local of a domain: %q", one.Local())
	} else if p, ok := one.Parent(); ok {
		t.Errorf("Parent(localhost) = %v", p)
	}
	if !(JID{}).IsZero() || j.IsZero() {
		t.Error("IsZero")
	}
}

func TestFromServer(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Room@Conference.Example.org/Nick Name", "room@conference.example.org/Nick Name", true},
		{"Bob@Example.org", "bob@example.org", true},
		{"example.org", "example.org", true},
		{"room@conference.example.org/", "", false},
		{"@example.org", "", false},
		{"", "", false},
		{"/x", "", false},
	} {
		got, ok := FromServer(tc.in)
		if ok != tc.ok || ok && got.String() != tc.want {
			t.Errorf("FromServer(%q) = %v, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	parsed, _ := ParseRoom("room@conference.example.org")
	if got, _ := FromServer("ROOM@conference.example.org/x"); !got.Bare().Equal(parsed) {
		t.Errorf("a room the server names is not the room parsed: %v, %v", got, parsed)
	}
}

package muc

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
		{"room\uff20evil.org@conference.example.org", "", "JID cannot hold"},            // fullwidth @ becomes @
		{"room\uff0fx@conference.example.org", "", "JID cannot hold"},                   // fullwidth / becomes /
		{"room@ｃｏｎｆｅｒｅｎｃｅ.example.org", "", "domain"},
		{"room@conference\uff0eexample.org", "", "domain"},
	} {
		got, err := ParseRoom(tc.in)
		switch {
		case tc.errHas == "" && (err != nil || got != tc.want):
			t.Errorf("ParseRoom(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.errHas != "" && (err == nil || !errors.Is(err, ErrInvalidRoom) || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("ParseRoom(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.errHas)
		}
	}
}

func TestParseJIDNormalizes(t *testing.T) {
	for _, tc := range []struct{ in, want, errHas string }{
		{"Bob@Example.org/Phone", "bob@example.org/Phone", ""}, // the resource keeps its case
		{"ＢＯＢ@example.org", "bob@example.org", ""},
		{"Bo\u0301b@example.org/cafe\u0301", "bób@example.org/café", ""},
		{"example.org", "example.org", ""},
		{"bob@example.org/ＰＨＯＮＥ", "", "resource"},
		{"\u210cello@example.org", "", "not a valid XMPP localpart"},
		{"bob\uff20evil@example.org", "", "JID cannot hold"},
	} {
		got, err := ParseJID(tc.in)
		switch {
		case tc.errHas == "" && (err != nil || got != tc.want):
			t.Errorf("ParseJID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.errHas != "" && (err == nil || !errors.Is(err, ErrInvalidJID) || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("ParseJID(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.errHas)
		}
	}
}

package jidprep

import (
	"errors"
	"strings"
	"testing"
)

func TestNode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      string // "" for none
	}{
		{"team", "team", ""},
		{"Team-Red", "team-red", ""},
		{"team\u0301secret", "tea\u1e3fsecret", ""},      // m + combining acute = ḿ, as the server routes it
		{"tea\u1e3fsecret", "tea\u1e3fsecret", ""},       // already composed
		{"ＴＥＡＭ", "team", ""},                             // fullwidth
		{"ｔｅａｍ－ｒｅｄ", "team-red", ""},                     // fullwidth hyphen too
		{"Café", "café", ""},                             // precomposed
		{"Cafe\u0301", "café", ""},                       // decomposed
		{"ΣΑΣ", "σασ", ""},                               // Greek: both give final-insensitive lower case
		{"straße", "", "ambiguous"},                      // nodeprep folds ß to ss, PRECIS keeps ß
		{"\ufb01le", "", "not a valid XMPP localpart"},   // ligature ﬁ: nodeprep gives "file"
		{"room\u00b2", "", "not a valid XMPP localpart"}, // superscript two
		{"\u210cello", "", "not a valid XMPP localpart"}, // ℌ
		{"I\u0307", "", ""},                              // checked below: whatever it gives, both agree
		{"a\u200db", "", "not a valid XMPP localpart"},   // zero width joiner: nodeprep drops it
		{"\u2665room", "", "not a valid XMPP localpart"}, // a symbol
		{"", "", "empty"},
	} {
		got, err := Node(tc.in)
		switch {
		case tc.in == "I\u0307":
			if err == nil && got != strings.ToLower(got) {
				t.Errorf("Node(%q) = %q", tc.in, got)
			}
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Node(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err == "ambiguous" && !errors.Is(err, ErrAmbiguous):
			t.Errorf("Node(%q) = %q, %v; want ErrAmbiguous", tc.in, got, err)
		case tc.err != "" && tc.err != "ambiguous" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Node(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
		}
	}
}

func TestResourceAndDomain(t *testing.T) {
	if got, err := Resource("Phone"); err != nil || got != "Phone" {
		t.Errorf("Resource(Phone) = %q, %v: a resource keeps its case", got, err)
	}
	if got, err := Resource("cafe\u0301"); err != nil || got != "café" {
		t.Errorf("Resource(decomposed) = %q, %v", got, err)
	}
	for _, s := range []string{"ＰＨＯＮＥ", "\ufb01"} {
		if _, err := Resource(s); !errors.Is(err, ErrAmbiguous) {
			t.Errorf("Resource(%q): %v, want ErrAmbiguous", s, err)
		}
	}
	if got, err := Domain("Conference.Example.ORG"); err != nil || got != "conference.example.org" {
		t.Errorf("Domain = %q, %v", got, err)
	}
	if got, err := Domain("münchen.de"); err != nil || got != "münchen.de" {
		t.Errorf("Domain(IDN) = %q, %v", got, err)
	}
	for _, s := range []string{"ｃｏｎｆｅｒｅｎｃｅ.example.org", "conference\uff0eexample.org", "conference\u3002example.org"} {
		if _, err := Domain(s); !errors.Is(err, ErrAmbiguous) {
			t.Errorf("Domain(%q): %v, want ErrAmbiguous", s, err)
		}
	}
}

// FuzzNode checks that what Node accepts is stable: preparing it again
// gives it back (the servers would route it as muc-kick sends it).
func FuzzNode(f *testing.F) {
	for _, s := range []string{"team", "team\u0301secret", "ＴＥＡＭ", "straße", "\ufb01le", "ΣΑΣ", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Node(s)
		if err != nil {
			return
		}
		again, err := Node(got)
		if err != nil || again != got {
			t.Fatalf("Node(%q) = %q, but Node(%q) = %q, %v", s, got, got, again, err)
		}
	})
}

// TestASCIIAsPrepared: the ASCII shortcuts of Node and Domain give what
// golang.org/x/text's preparations give, for every ASCII character alone,
// between letters and doubled.
func TestASCIIAsPrepared(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		for _, s := range []string{string(rune(c)), "a" + string(rune(c)) + "Z", string(rune(c)) + string(rune(c))} {
			if printableASCII(s) {
				got, err := Node(s)
				want, wantErr := node(s)
				if got != want || (err == nil) != (wantErr == nil) {
					t.Errorf("Node(%q) = %q, %v; the preparations give %q, %v", s, got, err, want, wantErr)
				}
			}
			got, err := Domain(s)
			want, wantErr := domain(s)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Errorf("Domain(%q) = %q, %v; the preparations give %q, %v", s, got, err, want, wantErr)
			}
		}
	}
}

// FuzzASCIIAsPrepared checks the same on any string.
func FuzzASCIIAsPrepared(f *testing.F) {
	for _, s := range []string{"Team", "a.B-c_d", "x~!#$%*+=?^`{|}", "\x7f", "ＴＥＡＭ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		got, err := Node(s)
		want, wantErr := node(s)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("Node(%q) = %q, %v; the preparations give %q, %v", s, got, err, want, wantErr)
		}
		got, err = Domain(s)
		want, wantErr = domain(s)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("Domain(%q) = %q, %v; the preparations give %q, %v", s, got, err, want, wantErr)
		}
	})
}

package jid

import "testing"

// FuzzParse checks the round trip: what Parse or ParseRoom accepts, it
// writes out (String) so that parsing it again gives the same JID, and the
// parts put together are the whole.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"room@conference.example.org", "Bob@Example.org/Phone", "example.org", "ＴＥＡＭ@c.example/ＰＨＯＮＥ",
		"team\u0301secret@conference.example.org", "a@b@c", "a/b/c", "b@example.org./x", "straße@x.org",
		"x@münchen.de/café", "@x", "x@", "x@y/", "\ufb01le@x.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, parse := range map[string]func(string) (JID, error){"Parse": Parse, "ParseRoom": ParseRoom} {
			j, err := parse(s)
			if err != nil {
				if !j.IsZero() {
					t.Fatalf("%s(%q) failed with a JID: %v", name, s, j)
				}
				continue
			}
			again, err := parse(j.String())
			if err != nil || !again.Equal(j) || again.String() != j.String() {
				t.Fatalf("%s(%q) = %q, but %s(%q) = %q, %v", name, s, j, name, j, again, err)
			}
			if j.Domain().String() == "" || !j.Bare().WithResource(j.Resource()).Equal(j) {
				t.Fatalf("%s(%q) = %q: parts do not make the whole", name, s, j)
			}
			if name == "ParseRoom" && (j.Local() == "" || !j.IsBare()) {
				t.Fatalf("ParseRoom(%q) = %q: not room@service", s, j)
			}
		}
	})
}

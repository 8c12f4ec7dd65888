package httpapi_test

import (
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/httpapi"
)

// refMatch is the obvious dynamic-programming glob matcher, quadratic but
// plainly right, against which MatchRoom is fuzzed.
func refMatch(pattern, room string) bool {
	// ok[j]: pattern[:i] matches room[:j].
	ok := make([]bool, len(room)+1)
	ok[0] = true
	for i := 0; i < len(pattern); i++ {
		next := make([]bool, len(room)+1)
		if pattern[i] == '*' {
			seen := false
			for j := range ok {
				seen = seen || ok[j]
				next[j] = seen
			}
		} else {
			for j := 1; j <= len(room); j++ {
				next[j] = ok[j-1] && room[j-1] == pattern[i]
			}
		}
		ok = next
	}
	return ok[len(room)]
}

// pathological is a room of 1,023 bytes before the domain, and a pattern
// with many stars that it almost matches: the old recursive matcher took
// time of the order of len(room)^stars on it (a 200-byte room took 2 s, a
// 1,000-byte one never finished).
var (
	pathologicalRoom    = strings.Repeat("-", 1023) + "@conference.example.org"
	pathologicalPattern = strings.Repeat("*-", 16) + "*x*@conference.example.org"
)

func TestMatchRoomManyStars(t *testing.T) {
	// Before the matcher was linear, this test did not end.
	if httpapi.MatchRoom(pathologicalPattern, pathologicalRoom) {
		t.Error("matched a room without an x")
	}
	if !httpapi.MatchRoom(pathologicalPattern, strings.Repeat("-", 1022)+"x@conference.example.org") || !httpapi.MatchRoom(pathologicalPattern, strings.Repeat("-", 40)+"x"+strings.Repeat("-", 982)+"@conference.example.org") {
		t.Error("did not match the room with an x")
	}
}

// BenchmarkMatchRoomManyStars prints the time of the worst case above:
// well under a millisecond (about 0.3 µs on the project's machine).
func BenchmarkMatchRoomManyStars(b *testing.B) {
	for b.Loop() {
		if httpapi.MatchRoom(pathologicalPattern, pathologicalRoom) {
			b.Fatal("matched")
		}
	}
}

func FuzzMatchRoom(f *testing.F) {
	f.Add("*@x", "a@x")
	f.Add("a*b*c@x", "a123b456c@x")
	f.Add("a*b*c@x", "abc@x")
	f.Add("*a*", "a")
	f.Add("ab*ba", "aba")
	f.Add("**", "")
	f.Add("*-*-*x", "-----")
	f.Add("team-*@c", "team-@c")
	f.Fuzz(func(t *testing.T, pattern, room string) {
		if len(pattern) > 64 || len(room) > 256 {
			return
		}
		if got, want := httpapi.MatchRoom(pattern, room), refMatch(pattern, room); got != want {
			t.Fatalf("MatchRoom(%q, %q) = %v, want %v", pattern, room, got, want)
		}
	})
}

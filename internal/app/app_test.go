package app

import (
	"slices"
	"strings"
	"testing"
)

func TestKeyChanges(t *testing.T) {
	a, b, c := []byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32)), []byte(strings.Repeat("c", 32))
	got := KeyChanges([][]byte{a, b}, [][]byte{c, a})
	want := []string{"credential key " + KeyID(c) + " added", "credential key " + KeyID(b) + " removed: its credentials are refused"}
	if !slices.Equal(got, want) {
		t.Errorf("KeyChanges = %q, want %q", got, want)
	}
	if got := KeyChanges([][]byte{a}, [][]byte{a}); got != nil {
		t.Errorf("the same keys: %q", got)
	}
	if id := KeyID(a); len(id) != 8 {
		t.Errorf("KeyID = %q", id)
	}
}

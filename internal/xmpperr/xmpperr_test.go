package xmpperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	errGone := New(ErrUnavailable, "x: gone")
	err := fmt.Errorf("kicking: %w", errGone)
	if !errors.Is(err, errGone) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("%v is not its sentinel and its class", err)
	}
	if errors.Is(err, ErrNoAnswer) || errors.Is(err, ErrStreamLost) {
		t.Errorf("%v is in another class too", err)
	}
	if got := err.Error(); got != "kicking: x: gone" {
		t.Errorf("text %q, want the sentinel's own, not its class's", got)
	}
}

func TestStanzaErrorIs(t *testing.T) {
	err := fmt.Errorf("kick: %w", &StanzaError{Type: "cancel", Condition: "not-allowed", Text: "no"})
	for _, tc := range []struct {
		target *StanzaError
		want   bool
	}{
		{&StanzaError{Condition: "not-allowed"}, true},
		{&StanzaError{Type: "cancel", Condition: "not-allowed"}, true},
		{&StanzaError{Type: "auth", Condition: "not-allowed"}, false},
		{&StanzaError{Condition: "forbidden"}, false},
	} {
		if got := errors.Is(err, tc.target); got != tc.want {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", err, tc.target, got, tc.want)
		}
	}
	if got := err.Error(); got != "kick: xmpp error cancel/not-allowed: no" {
		t.Errorf("text %q", got)
	}
}

package credential

import (
	"strings"
	"testing"
)

func TestParseActions(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
		err   string
	}{
		{nil, "kick,ban,unban", ""},
		{[]string{"mute"}, "mute", ""},
		{[]string{"retract", "kick", "occupants"}, "kick,occupants,retract", ""},
		{[]string{"kick", "ban", "unban", "mute", "unmute", "occupants", "retract"}, "kick,ban,unban,mute,unmute,occupants,retract", ""},
		{[]string{"Kick"}, "", `unknown action "Kick"`},
		{[]string{"kick", "kick"}, "", `action "kick" is listed twice`},
		{[]string{""}, "", `unknown action ""`},
	} {
		got, err := ParseActions(tc.names)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseActions(%q) = %v, %v; want error containing %q", tc.names, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseActions(%q) = %q, %v; want %q", tc.names, got, err, tc.want)
		}
	}
}

func TestActionsHas(t *testing.T) {
	s := ActionsOf(Kick, Mute)
	for _, a := range AllActions {
		if want := a == Kick || a == Mute; s.Has(a) != want {
			t.Errorf("Has(%s) = %v, want %v", a, s.Has(a), want)
		}
	}
	if Actions(0).Has(Kick) || Everything.Has("nonsense") {
		t.Error("an empty set or an unknown action must not be held")
	}
	if Everything.String() != "kick,ban,unban,mute,unmute,occupants,retract" {
		t.Errorf("Everything = %s", Everything)
	}
}

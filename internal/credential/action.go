package credential

import (
	"fmt"
	"slices"
	"strings"
)

// An Action is one thing a caller may ask muc-kick to do, named as
// credentials and the configuration name it.
type Action string

// The actions, one per moderation endpoint.
const (
	Kick      Action = "kick"
	Ban       Action = "ban"
	Unban     Action = "unban"
	Mute      Action = "mute"
	Unmute    Action = "unmute"
	Occupants Action = "occupants"
	Retract   Action = "retract"
)

// AllActions lists every action, in the order documentation gives them.
var AllActions = []Action{Kick, Ban, Unban, Mute, Unmute, Occupants, Retract}

// DefaultActions are the rights of a client or credential that names none:
// what every caller could do before actions existed. Newer actions must be
// granted.
var DefaultActions = []Action{Kick, Ban, Unban}

// Actions is a set of actions. The zero value holds none.
type Actions uint16

// ActionsOf returns the set holding acts.
func ActionsOf(acts ...Action) Actions {
	var s Actions
	for _, a := range acts {
		if i := slices.Index(AllActions, a); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// Everything is the set of every action.
var Everything = ActionsOf(AllActions...)

// ParseActions reads action names as a client's configuration or a
// credential lists them. None at all means DefaultActions; an unknown or
// repeated name is an error naming it.
func ParseActions(names []string) (Actions, error) {
	if len(names) == 0 {
		return ActionsOf(DefaultActions...), nil
	}
	var s Actions
	for _, n := range names {
		a := Action(n)
		if !slices.Contains(AllActions, a) {
			return 0, fmt.Errorf("unknown action %q; the actions are %s", n, Everything)
		}
		if s.Has(a) {
			return 0, fmt.Errorf("action %q is listed twice", n)
		}
		s |= ActionsOf(a)
	}
	return s, nil
}

// Has reports whether a is in s.
func (s Actions) Has(a Action) bool {
	i := slices.Index(AllActions, a)
	return i >= 0 && s&(1<<i) != 0
}

// List returns the actions in s, in the order of AllActions.
func (s Actions) List() []Action {
	var out []Action
	for _, a := range AllActions {
		if s.Has(a) {
			out = append(out, a)
		}
	}
	return out
}

// String lists the actions in s, comma-separated.
func (s Actions) String() string {
	names := make([]string, 0, len(AllActions))
	for _, a := range s.List() {
		names = append(names, string(a))
	}
	return strings.Join(names, ",")
}

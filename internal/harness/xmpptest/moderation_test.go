package xmpptest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// moderationSupport is what each server version advertises in a room's
// disco#info with Options.Retraction, as verified here: nil for a version
// not listed (the test then takes what the room says).
func moderationSupport(name string) (want []string, known bool) {
	switch {
	case strings.HasPrefix(name, "prosody-0.12"):
		return []string{NSModerate0}, true
	case strings.HasPrefix(name, "prosody-13"), strings.HasPrefix(name, "ejabberd-24.12"):
		return []string{NSModerate0, NSModerate1}, true
	case strings.HasPrefix(name, "ejabberd-23.01"):
		return nil, true
	}
	return nil, false
}

// moderateFeatures returns the XEP-0425 namespaces among features.
func moderateFeatures(features []string) []string {
	var out []string
	for _, ns := range []string{NSModerate0, NSModerate1} {
		if slices.Contains(features, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// TestMuteAndRetract proves the helpers the moderation tests build on, with
// plain clients on every server: a moderator mutes a participant (role
// visitor), whose groupchat message the room then refuses, and unmutes it;
// a moderator retracts a message with XEP-0425 (the newest version the room
// advertises), every occupant receives the retraction in each version the
// room advertises, and the archive holds a tombstone in its place (Prosody)
// or no longer holds it (ejabberd). A server without XEP-0425 (ejabberd 23.01)
// advertises no message-moderate feature and refuses the IQ.
func TestMuteAndRetract(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.StartWith(t, Options{Retraction: true})
			room := "mod1@" + s.MUCDomain

			mod, bob, carol := Connect(t, s), Connect(t, s), Connect(t, s)
			mo, err := mod.Join(room, "mod") // the room's creator: owner, moderator
			if err != nil {
				t.Fatal(err)
			}
			bo, err := bob.Join(room, "bob")
			if err != nil {
				t.Fatal(err)
			}
			co, err := carol.Join(room, "carol")
			if err != nil {
				t.Fatal(err)
			}

			// Mute: every occupant sees bob become a visitor; the room
			// refuses bob's message and carol never receives it.
			if err := mod.SetRole(room, "bob", "visitor", "quiet"); err != nil {
				t.Fatalf("mute: %v", err)
			}
			for _, o := range []*Occupant{mo, bo, co} {
				if _, err := o.WaitRole("bob", "visitor", waitTimeout); err != nil {
					t.Fatalf("%s: %v", o.Nick, err)
				}
			}
			_, err = bo.Say("muted words")
			var se *StanzaError
			if !errors.As(err, &se) {
				t.Fatalf("a visitor's message: want a stanza error, got %v", err)
			}
			t.Logf("%s refuses a visitor's message: %v", k.Name, se)
			if _, err := co.Say("after the refusal"); err != nil {
				t.Fatal(err)
			}
			for _, m := range carol.Unsolicited() {
				if strings.Contains(m, "muted words") {
					t.Errorf("carol received the muted message: %s", m)
				}
			}

			// Unmute, then bob speaks.
			if err := mod.SetRole(room, "bob", "participant", ""); err != nil {
				t.Fatalf("unmute: %v", err)
			}
			if _, err := bo.WaitRole("bob", "participant", waitTimeout); err != nil {
				t.Fatal(err)
			}
			spam, err := bo.Say("spam")
			if err != nil {
				t.Fatal(err)
			}
			kept, err := co.Say("kept")
			if err != nil {
				t.Fatal(err)
			}
			if spam == "" || kept == "" || spam == kept {
				t.Fatalf("stanza ids the room assigned: %q and %q", spam, kept)
			}

			features, err := mod.Features(room)
			if err != nil {
				t.Fatal(err)
			}
			have := moderateFeatures(features)
			t.Logf("%s advertises %v", k.Name, have)
			if want, known := moderationSupport(k.Name); known && !slices.Equal(have, want) {
				t.Fatalf("XEP-0425 features of the room: got %v, want %v", have, want)
			}

			if len(have) == 0 {
				for _, ns := range []string{NSModerate0, NSModerate1} {
					err := mod.Moderate(room, spam, ns, "spam")
					if !errors.As(err, &se) || se.Condition != "service-unavailable" {
						t.Errorf("retraction (%s) on a room without it: want service-unavailable, got %v", ns, err)
					}
				}
				return
			}

			ns := have[len(have)-1] // the newest
			if err := mod.Moderate(room, spam, ns, "spam"); err != nil {
				t.Fatalf("retraction with %s: %v", ns, err)
			}
			for _, o := range []*Occupant{mo, bo, co} {
				r, err := o.WaitRetraction(spam, waitTimeout)
				if err != nil {
					t.Fatalf("%s: %v", o.Nick, err)
				}
				if !slices.Equal(r.Forms, have) || r.Reason != "spam" {
					t.Errorf("%s received %+v; want the forms %v with reason spam", o.Nick, r, have)
				}
				t.Logf("%s received the retraction in %v: %s", o.Nick, r.Forms, r.Raw)
			}

			archive, err := carol.ArchivedMessages(room)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]ArchivedMessage{}
			for _, m := range archive {
				got[m.StanzaID] = m
				t.Logf("archived: %+v", m)
			}
			// Prosody keeps a tombstone in the archive; ejabberd removes the
			// message from it.
			m, ok := got[spam]
			switch {
			case strings.HasPrefix(k.Name, "ejabberd"):
				if ok {
					t.Errorf("archived retracted message: %+v; want it removed", m)
				}
			case !ok || !m.Tombstone || m.Body != "":
				t.Errorf("archived retracted message: %+v (found %v); want a tombstone", m, ok)
			}
			if m, ok := got[kept]; !ok || m.Tombstone || m.Body != "kept" {
				t.Errorf("archived kept message: %+v (found %v)", m, ok)
			}
		})
	}
}

// TestNoRetractionWithoutOptions proves that a server started without
// Options.Retraction keeps no archive of its rooms (what the 501 of a
// retraction rests on), and shows what each does with a retraction then.
func TestNoRetractionWithoutOptions(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			s := k.Start(t)
			room := "plain1@" + s.MUCDomain
			mod, bob := Connect(t, s), Connect(t, s)
			mo, err := mod.Join(room, "mod")
			if err != nil {
				t.Fatal(err)
			}
			bo, err := bob.Join(room, "bob")
			if err != nil {
				t.Fatal(err)
			}
			id, err := bo.Say("hello")
			if err != nil {
				t.Fatal(err)
			}
			features, err := mod.Features(room)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(features, nsMAM) {
				t.Errorf("the room advertises %s without Options.Retraction", nsMAM)
			}
			_, err = mod.ArchivedMessages(room)
			var se *StanzaError
			if !errors.As(err, &se) || se.Condition != "service-unavailable" {
				t.Errorf("archive query without Options.Retraction: want service-unavailable, got %v", err)
			}
			have := moderateFeatures(features)
			t.Logf("%s without Options.Retraction: stanza id %q, XEP-0425 features %v", k.Name, id, have)
			// ejabberd 24.12 advertises XEP-0425 without an archive too.
			if len(have) > 0 != strings.HasPrefix(k.Name, "ejabberd-24.12") {
				t.Errorf("XEP-0425 features without Options.Retraction: %v", have)
			}
			if id == "" {
				id = "no-such-id"
			}
			for _, ns := range []string{NSModerate0, NSModerate1} {
				err := mod.Moderate(room, id, ns, "")
				t.Logf("retraction (%s) without the modules: %v", ns, err)
				if len(have) == 0 && (!errors.As(err, &se) || se.Condition != "service-unavailable") {
					t.Errorf("retraction (%s) without XEP-0425: want service-unavailable, got %v", ns, err)
				}
				if err == nil {
					r, err := mo.WaitRetraction(id, waitTimeout)
					t.Logf("retraction without an archive: %+v, %v", r, err)
				}
			}
		})
	}
}

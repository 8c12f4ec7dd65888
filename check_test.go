package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// TestCheckCommand runs `muc-kick check` against every server: on a setup
// made from the contrib snippets every check passes and the throw-away room
// is gone afterwards; a wrong secret fails the connection; a registration
// without the admin lines fails the moderator check with the fix for that
// server and version.
func TestCheckCommand(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("the contrib setup passes", func(t *testing.T) {
				srv := kind.Start(t)
				code, out, errOut := runMain("check", "-config", checkConfig(t, srv, srv.Secret))
				t.Logf("muc-kick check:\n%s%s", out, errOut)
				if code != 0 {
					t.Fatalf("exit %d, want 0", code)
				}
				for _, what := range []string{"config", "connect", "server", "muc.domains", "moderator", "cleanup"} {
					if !regexp.MustCompile(`(?m)^ok +` + regexp.QuoteMeta(what) + ` `).MatchString(out) {
						t.Errorf("no passing %q line", what)
					}
				}
				if !strings.Contains(out, srv.Version) {
					t.Errorf("the output does not name the server's version %s", srv.Version)
				}
				assertRoomGone(t, srv, out)

				code, out, _ = runMain("check", "-config", checkConfig(t, srv, "wrong-"+srv.Secret))
				t.Logf("muc-kick check with a wrong secret:\n%s", out)
				if code != 1 || !regexp.MustCompile(`(?m)^FAIL +connect `).MatchString(out) {
					t.Errorf("wrong secret: exit %d, want 1 with a failing connect line", code)
				}
			})
			t.Run("a component without admin rights fails with the fix", func(t *testing.T) {
				srv := kind.StartNotAdmin(t)
				code, out, errOut := runMain("check", "-config", checkConfig(t, srv, srv.Secret))
				t.Logf("muc-kick check:\n%s%s", out, errOut)
				if code != 1 || !regexp.MustCompile(`(?m)^FAIL +moderator `).MatchString(out) {
					t.Fatalf("exit %d, want 1 with a failing moderator line", code)
				}
				fix := map[string]string{
					"prosody-0":  "admins = {",
					"prosody-13": "component_admins_as_room_owners = true",
					"ejabberd":   "access_admin",
				}
				for prefix, want := range fix {
					if strings.HasPrefix(srv.Name(), prefix) && !strings.Contains(out, want) {
						t.Errorf("the fix for %s should name %q", srv.Name(), want)
					}
				}
				assertRoomGone(t, srv, out)
			})
		})
	}
}

// checkConfig writes a muc-kick config for srv with secret.
func checkConfig(t *testing.T, srv *xmpptest.Server, secret string) string {
	return writeFile(t, t.TempDir(), "config.toml", componentTOML(srv.ComponentAddr, srv.ComponentDomain, secret, `iq_timeout = "5s"`, `connect_timeout = "5s"`)+fmt.Sprintf(`
[muc]
domains = [%q]
[http]
authorization_header = %q
`, srv.MUCDomain, testAuth))
}

// assertRoomGone checks that the throw-away room the check names no longer
// exists on srv.
func assertRoomGone(t *testing.T, srv *xmpptest.Server, out string) {
	t.Helper()
	room := regexp.MustCompile(`muc-kick-check-[0-9a-f]+@[^ :,]+`).FindString(out)
	if room == "" {
		t.Fatal("the output names no throw-away room")
	}
	exists, err := xmpptest.Connect(t, srv).RoomExists(room)
	if err != nil {
		t.Fatalf("disco#info to %s: %v", room, err)
	}
	if exists {
		t.Errorf("the throw-away room %s still exists after the check", room)
	}
}

package main

import (
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// TestNormalizedRoomOnServer proves on each real server that a room name is
// sent as the server routes it: the server prepares "team\u0301secret" as
// "teaḿsecret", so a kick posted with the decomposed name reaches the
// occupant of the composed room, and the client gets 200 (before, the
// component's IQ went out with the decomposed bytes, the answer came from
// the normalized JID, and the client got 504), and so does a ban.
func TestNormalizedRoomOnServer(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			srv := kind.Start(t)
			d := startDaemon(t, srv, time.Minute)
			composed := "tea\u1e3fsecret@" + srv.MUCDomain
			decomposed := "team\u0301secret@" + srv.MUCDomain
			// The first occupant owns the room; ejabberd lets nobody kick an owner.
			owner := modJoin(t, xmpptest.Connect(t, srv), composed, "owner")
			victim := modJoin(t, xmpptest.Connect(t, srv), composed, "victim")
			modSees(t, owner, "victim", "")

			res := modPost(t, d, "/muc_kick", map[string]string{"nickname": "victim", "muc": decomposed, "reason": "r"})
			if res.code != 200 || res.body["muc"] != composed {
				t.Fatalf("kick with the decomposed name: %d %s, want 200 for %s\n%s", res.code, res.raw, composed, d.logs.String())
			}
			if _, _, err := victim.WaitKicked(5 * time.Second); err != nil {
				t.Error(err)
			}
			if !modEntered(d, composed) {
				t.Error("the log does not say that the component entered the composed room")
			}

			res = modPost(t, d, "/muc_ban", map[string]string{"jid": "eve@" + srv.UsersDomain, "muc": "ＴＥＡ\u1e3eSECRET@" + srv.MUCDomain})
			if res.code != 200 || res.body["muc"] != composed {
				t.Errorf("ban with a fullwidth, upper-case name: %d %s, want 200 for %s", res.code, res.raw, composed)
			}
			res = modPost(t, d, "/muc_ban", map[string]string{"jid": "eve@" + srv.UsersDomain, "muc": "\ufb01le@" + srv.MUCDomain})
			if res.code != 400 {
				t.Errorf("ban in a room whose name servers could read differently: %d %s, want 400", res.code, res.raw)
			}
		})
	}
}

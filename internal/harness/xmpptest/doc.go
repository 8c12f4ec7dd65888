// Package xmpptest starts throw-away XMPP servers (Prosody and ejabberd) on
// free loopback ports for integration tests, and provides a minimal XMPP
// client whose occupants join MUC rooms and observe what happens to them.
//
// A typical test:
//
//	for _, k := range xmpptest.Kinds() {
//		t.Run(k.Name, func(t *testing.T) {
//			t.Parallel()
//			s := k.Start(t) // stopped by t.Cleanup
//			bob := xmpptest.Connect(t, s)
//			occ, err := bob.Join("r1@"+s.MUCDomain, "bob")
//			if err != nil {
//				t.Fatal(err)
//			}
//			// ... connect the component to s.ComponentAddr with
//			// s.ComponentDomain and s.Secret, and kick bob ...
//			reason, actor, err := occ.WaitKicked(10 * time.Second)
//		})
//	}
//
// # Servers
//
// Each server gets its own temporary directory (config, data, logs), its own
// ports and a random component secret, so one test process can run several.
// The configurations are built from contrib/prosody/muc-kick.cfg.lua and
// contrib/ejabberd/muc-kick.yml, with the example domains, port and secret
// replaced by the test values, so the tests that use this package also prove
// that those snippets work. The test-only additions are a virtual host
// AnonDomain with SASL ANONYMOUS, a virtual host UsersDomain with accounts
// (SASL PLAIN, allowed without TLS) and a c2s listener without TLS.
//
// # Moderation and retraction
//
// Kind.StartWith and Install.StartWith take Options: with Retraction the
// server's MUC service also archives each room's messages (XEP-0313) and
// lets moderators retract them (XEP-0425), configured from
// contrib/prosody/retraction.cfg.lua or contrib/ejabberd/retraction.yml
// (merged into the mod_muc section of muc-kick.yml, as that file says).
// Occupant.Say sends a groupchat message and returns the stanza id the room
// assigned (or the room's refusal, e.g. of a muted visitor, as a
// *StanzaError); Occupant.WaitRole sees a role change (a mute);
// Client.SetRole, Client.Moderate and Client.Features act and ask as a
// moderator client; Occupant.WaitRetraction sees a retraction in either
// version; Client.ArchivedMessages reads the room's archive, tombstones
// included.
//
// # Accounts
//
// Connect gives each client a new anonymous bare JID. For several sessions
// of one account, register it and connect with a resource per session:
//
//	if err := s.Register("bob", "pw"); err != nil {
//		t.Fatal(err)
//	}
//	laptop := xmpptest.ConnectAs(t, s, "bob", "pw", "laptop") // bob@users.localhost/laptop
//	phone := xmpptest.ConnectAs(t, s, "bob", "pw", "phone")
//
// Register uses prosodyctl or ejabberdctl with the server's own config, in
// about 50 ms on Prosody and 0.5–1 s on ejabberd (the node must be running).
//
// StartProsody and StartEjabberd skip the test when the server is not
// installed, and fail it instead when the CI environment variable is set.
// Under `go test -short` every function that starts a server skips the test,
// installed or not, CI or not: -short means no XMPP server (SkipIfShort).
// Set XMPPTEST_DEBUG=1 to make the servers log at debug level (every
// stanza); Server.Log returns the log text.
//
// Install.StartCluster starts a cluster of ejabberd nodes on loopback (in
// about 10 s for two), one Server per node; Connect to a node's Server to
// be a client of that node. A room lives on the node it was created
// through and dies with it. Before joining a room that lives on another
// node than the client's, call Client.WaitReachable (a join sent right
// after login was lost now and then).
//
// # Differences between the servers worth knowing
//
//   - ejabberd sends every joining occupant (the component too) an available
//     presence from the bare room JID carrying entity caps, besides the
//     occupants' presences: a presence without a nick is not an occupant.
//   - Prosody adds <occupant-id/> to occupant presences, and shows
//     moderators the actor of a kick as <actor jid='kick.localhost/r1'
//     nick='kickbot'/>; the kicked occupant, and everyone on ejabberd, get
//     <actor nick='kickbot'/>. ejabberd puts <reason/> before <actor/>.
//   - Prosody's attribute order changes from run to run: assert on the
//     parsed Presence fields, or on substrings of Raw, not on all of Raw.
//   - A refused join comes with a <text/> on ejabberd ("A password is
//     required to enter this room", "You have been banned from this room"),
//     without one on Prosody.
//   - After a ban and an unban, ejabberd lets the account back in as a
//     visitor (every session, while the room lives); Prosody as a
//     participant.
//   - On ejabberd the account host has its own module list (host_config),
//     so that mod_muc runs once, on the anonymous host.
//   - A muted visitor's groupchat message gets auth/forbidden everywhere
//     (Prosody: "You do not currently have permission to speak in this
//     chat"; ejabberd: "Visitors are not allowed to send messages to all
//     occupants").
//   - XEP-0425 with Options.Retraction: Prosody 0.12 (bookworm's
//     prosody-modules) advertises and broadcasts urn:xmpp:message-moderate:0
//     only; Prosody 13 (the backports' prosody-modules) and ejabberd 24.12
//     :0 and :1, both forms in one message; ejabberd 23.01 neither
//     (service-unavailable). Prosody's archive keeps a tombstone of a
//     retracted message (<moderated xmlns='urn:xmpp:message-moderate:0'>
//     <retracted xmlns='urn:xmpp:message-retract:0'/>), ejabberd 24.12
//     removes it. Without Options.Retraction, ejabberd 24.12 still
//     advertises and performs XEP-0425 (broadcast only, no archive), and
//     assigns stanza ids; the others answer service-unavailable.
package xmpptest

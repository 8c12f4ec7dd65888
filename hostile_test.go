package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// hostileStanzas are what any XMPP user can send to the component's JID
// (to is its bare or a full JID). The server forwards each one as it is:
// it only re-serialises XML, it does not validate payloads.
func hostileStanzas(srv *xmpptest.Server, to, room string) []string {
	big := strings.Repeat("A", 60<<10)
	stanzas := []string{
		// The presence that ended the stream on every server (issue 12).
		`<presence to='` + to + `'><x xmlns='http://jabber.org/protocol/muc#user'><status code='abc'/></x></presence>`,
		`<presence to='` + to + `'><x xmlns='http://jabber.org/protocol/muc#user'><status code='99999999999999999999'/><item role='moderator' affiliation='owner'/></x></presence>`,
		// Forged news about the component itself: joined, kicked, banned.
		`<presence to='` + to + `'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator' affiliation='owner'/><status code='110'/><status code='201'/></x></presence>`,
		`<presence to='` + to + `' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='110'/><status code='307'/></x></presence>`,
		`<presence to='` + to + `' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><destroy jid='` + room + `'/><status code='110'/></x></presence>`,
		`<presence to='` + to + `' type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
		// Payloads gosrc.io/xmpp decodes strictly.
		`<iq type='get' id='h-rsm' to='` + to + `'><query xmlns='http://jabber.org/protocol/disco#info'><set xmlns='http://jabber.org/protocol/rsm'><max>many</max></set></query></iq>`,
		`<iq type='set' id='h-roster' to='` + to + `'><query xmlns='jabber:iq:roster'><item jid='@@@' subscription='bogus'><group>g</group></item></query></iq>`,
		`<iq type='set' id='h-cmd' to='` + to + `'><command xmlns='http://jabber.org/protocol/commands' node='x' action='junk'><x xmlns='jabber:x:data' type='junk'/></command></iq>`,
		// Two payloads, none, an unknown one.
		`<iq type='get' id='h-two' to='` + to + `'><query xmlns='jabber:iq:version'/><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<iq type='set' id='h-none' to='` + to + `'/>`,
		`<iq type='get' id='h-unknown' to='` + to + `'><query xmlns='urn:example:nothing'/></iq>`,
		// Replies to requests the component never sent.
		`<iq type='result' id='mk000000000000-1' to='` + to + `'/>`,
		`<iq type='error' id='mk000000000000-2' to='` + to + `'><error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
		`<iq type='error' id='h-err' to='` + to + `'><error type='x'><junk/></error></iq>`,
		// Messages, small and large.
		`<message to='` + to + `' type='groupchat'><body>hi</body><x xmlns='jabber:x:oob'><url>` + big[:100] + `</url></x></message>`,
		`<message to='` + to + `'><body>` + big + `</body></message>`,
		`<message to='` + to + `'><markable xmlns='urn:xmpp:chat-markers:0'/><received xmlns='urn:xmpp:chat-markers:0' id=''/></message>`,
		`<presence to='` + to + `'><status>` + big + `</status></presence>`,
		`<presence to='` + to + `'>` + strings.Repeat("<x xmlns='urn:example:deep'>", 200) + strings.Repeat("</x>", 200) + `</presence>`,
	}
	if srv.Kind == "prosody" {
		// ejabberd checks <priority/> itself and bounces this with its
		// own bad-request from the component's address; Prosody forwards it.
		stanzas = append(stanzas, `<presence to='`+to+`'><priority>high</priority></presence>`)
	}
	return stanzas
}

// TestHostileStanzas sends, while kicks run, a batch of malformed and
// hostile stanzas from an ordinary XMPP user to the component's bare and full
// JIDs, on every server: the stream must stay up (no reconnect), every kick
// must land, and the user must get nothing from the component but IQ errors.
func TestHostileStanzas(t *testing.T) {
	for _, kind := range xmpptest.Kinds() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			srv := kind.Start(t)
			d := startDaemon(t, srv, time.Minute)
			room := "hostile@" + srv.MUCDomain
			join(t, srv, room, "owner")
			const victims = 8
			var occupants []*xmpptest.Occupant
			for i := range victims {
				occupants = append(occupants, join(t, srv, room, fmt.Sprintf("victim%d", i)))
			}
			attacker := xmpptest.Connect(t, srv)

			var wg sync.WaitGroup
			wg.Add(1)
			attackErr := make(chan error, 1)
			go func() {
				defer wg.Done()
				for round := range 3 {
					for _, to := range []string{srv.ComponentDomain, srv.ComponentDomain + "/muc-kick", srv.ComponentDomain + "/other"} {
						for _, st := range hostileStanzas(srv, to, room) {
							if err := attacker.SendRaw(st); err != nil {
								attackErr <- fmt.Errorf("round %d: %w", round, err)
								return
							}
						}
					}
				}
			}()
			for i, o := range occupants {
				res := d.kick(t, testAuth, kickBody{Nickname: fmt.Sprintf("victim%d", i), MUC: room, Reason: "hostile"})
				if res.code != 200 {
					t.Errorf("kick %d during the attack: %d %v", i, res.code, res.body)
					continue
				}
				if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
					t.Errorf("victim%d got no 307: %v", i, err)
				}
			}
			wg.Wait()
			select {
			case err := <-attackErr:
				t.Fatalf("the attacker could not send: %v", err)
			default:
			}

			// An IQ round trip after everything was sent: the server and
			// muc-kick have handled it all. A request the component cannot
			// decode is answered with an error, never a result.
			for _, to := range []string{srv.ComponentDomain, srv.ComponentDomain + "/muc-kick"} {
				raw, err := attacker.IQ("get", to, "<query xmlns='http://jabber.org/protocol/disco#info'><set xmlns='http://jabber.org/protocol/rsm'><max>x</max></set></query>")
				var serr *xmpptest.StanzaError
				if !errors.As(err, &serr) {
					t.Errorf("an undecodable IQ get to %s: %v %s, want an IQ error", to, err, raw)
				}
			}

			if n := metric(t, d, "muc_kick_component_reconnects_total"); n != "0" {
				t.Errorf("muc_kick_component_reconnects_total = %s after the attack, want 0", n)
			}
			if n := metric(t, d, "muc_kick_component_connected"); n != "1" {
				t.Errorf("muc_kick_component_connected = %s after the attack, want 1", n)
			}
			if strings.Contains(d.logs.String(), "component: disconnected") {
				t.Error("the component's stream dropped during the attack")
			}
			// The component answers IQ requests with errors, and sends the
			// attacker nothing else: no result, no presence, no message.
			iqError := regexp.MustCompile(`^<iq[^>]*type=['"]error['"]`)
			for _, raw := range attacker.Unsolicited() {
				if strings.Contains(raw, "from='"+srv.ComponentDomain) || strings.Contains(raw, `from="`+srv.ComponentDomain) {
					if !iqError.MatchString(raw) {
						t.Errorf("the component sent the attacker %s", raw)
					}
				}
			}
			// One more kick once the attack is over, from a fresh state.
			late := join(t, srv, room, "late")
			if res := d.kick(t, testAuth, kickBody{Nickname: "late", MUC: room}); res.code != 200 {
				t.Errorf("kick after the attack: %d %v", res.code, res.body)
			} else if _, _, err := late.WaitKicked(5 * time.Second); err != nil {
				t.Error(err)
			}
		})
	}
}

// metric returns the value of an unlabelled metric from d's /metrics.
func metric(t *testing.T, d *daemon, name string) string {
	t.Helper()
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no metric %s in /metrics", name)
	}
	return string(m[1])
}

// Package check is `muc-kick check`: a self-test an admin runs after
// registering the component. It connects to the XMPP server with the
// configured secret, confirms that each of muc.domains is a MUC service, and
// proves that the component becomes a moderator in a room — a throw-away room
// with a random name that it creates for the purpose and destroys again,
// never an existing one. It prints one line per check, with the fix for each
// failure.
package check

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
	"gosrc.io/xmpp/stanza"
)

// Run runs every check of cfg against the live server, writes one line per
// check to w, and reports whether all passed. It gives up within about three
// times the configured IQ timeout per step.
func Run(ctx context.Context, cfg *config.Config, w io.Writer) bool {
	c := &checker{cfg: cfg, out: w, ok: true}
	c.run(ctx)
	return c.ok
}

type checker struct {
	cfg *config.Config
	out io.Writer
	ok  bool

	comp     *component.Component
	rooms    *muc.Manager
	software string // "Prosody", "ejabberd", or "" when the server did not say
	version  string
	creator  *creator
	ran      <-chan error // the component's Run
}

func (c *checker) pass(what, format string, args ...any) {
	fmt.Fprintf(c.out, "ok    %-12s %s\n", what, fmt.Sprintf(format, args...))
}

func (c *checker) fail(what, fix, format string, args ...any) {
	c.ok = false
	fmt.Fprintf(c.out, "FAIL  %-12s %s\n", what, fmt.Sprintf(format, args...))
	for _, line := range strings.Split(fix, "\n") {
		fmt.Fprintf(c.out, "      %-12s %s\n", "", line)
	}
}

func (c *checker) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		if c.ran != nil {
			<-c.ran // the component has closed its stream
		}
	}()
	if !c.connect(ctx) {
		return
	}
	c.askVersion()
	for _, domain := range c.cfg.MUC.Domains {
		if c.isMUC(ctx, domain) {
			c.moderator(ctx, domain)
		}
	}
	closeCtx, stop := context.WithTimeout(ctx, c.cfg.Component.IQTimeout.Duration)
	defer stop()
	_ = c.rooms.Close(closeCtx)
}

// connect starts the component and the room manager, wired as the daemon
// wires them (internal/app), and waits for the first stream.
func (c *checker) connect(ctx context.Context) bool {
	cc := c.cfg.Component
	d := app.New(c.cfg, slog.New(slog.DiscardHandler), nil)
	c.comp, c.rooms = d.Component, d.Rooms
	c.creator = newCreator(cc.Domain)
	up := make(chan struct{})
	// The creator's presences go to it; everything else as in the daemon.
	c.comp.SetHandler(&router{rooms: c.rooms, creator: c.creator, up: up})
	ran := make(chan error, 1)
	go func() { ran <- c.comp.Run(ctx) }()
	c.ran = ran

	wait := time.NewTimer(cc.ConnectTimeout.Duration + time.Second)
	defer wait.Stop()
	select {
	case <-up:
		c.pass("connect", "authenticated to %s as %s", cc.Server, cc.Domain)
		return true
	case err := <-ran:
		c.ran = nil
		c.fail("connect", handshakeFix(cc.Domain), "%s refused %s: %v", cc.Server, cc.Domain, err)
	case <-wait.C:
		c.fail("connect", "check component.server, and that the server listens there for components\n(Prosody: component_ports and component_interfaces; ejabberd: a listener with module ejabberd_service)",
			"no stream to %s within %s: %s", cc.Server, cc.ConnectTimeout.Duration, whyNoStream(ctx, cc.Server))
	case <-ctx.Done():
		c.fail("connect", "", "interrupted")
	}
	return false
}

// whyNoStream tells a server that cannot be reached from one that takes
// the connection but does not complete the component handshake.
func whyNoStream(ctx context.Context, server string) string {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := new(net.Dialer).DialContext(dctx, "tcp", server)
	if err != nil {
		return err.Error()
	}
	conn.Close()
	return "the server accepts the connection but does not complete the XEP-0114 handshake"
}

func handshakeFix(domain string) string {
	return fmt.Sprintf(`the secret or the domain does not match the server's registration of %s:
Prosody: Component %q with component_secret = "<component.secret>"
ejabberd: listen → module: ejabberd_service → hosts: %s: password: "<component.secret>"`, domain, domain, domain)
}

// askVersion learns the server's software as the room manager does when it
// names a fix (XEP-0092, then the disco identity).
func (c *checker) askVersion() {
	mucDomain, _ := jid.ParseDomain(c.cfg.MUC.Domains[0]) // the configuration checked it
	c.software, c.version = c.rooms.ServerSoftware(mucDomain)
	if c.software == "" {
		c.pass("server", "the server does not tell its software (XEP-0092 or disco#info); the fixes below name every server")
		return
	}
	c.pass("server", "%s %s", c.software, c.version)
}

// isMUC asks domain for its disco#info: a MUC service has the identity
// conference/text and the feature http://jabber.org/protocol/muc.
func (c *checker) isMUC(ctx context.Context, domain string) bool {
	fix := fmt.Sprintf("muc.domains must name your MUC service (Prosody: a Component %q \"muc\"; ejabberd: mod_muc's host)", domain)
	iq, err := c.comp.IQ(ctx, "get", "", domain, stanza.DiscoInfo{})
	if err != nil {
		c.fail("muc.domains", fix, "%s does not answer disco#info: %v", domain, err)
		return false
	}
	info, _ := iq.Payload.(*stanza.DiscoInfo)
	if info == nil || !isMUCService(info) {
		c.fail("muc.domains", fix, "%s is not a MUC service (no conference identity with the feature http://jabber.org/protocol/muc)", domain)
		return false
	}
	c.pass("muc.domains", "%s is a MUC service", domain)
	return true
}

func isMUCService(info *stanza.DiscoInfo) bool {
	conference, feature := false, false
	for _, id := range info.Identity {
		conference = conference || id.Category == "conference"
	}
	for _, f := range info.Features {
		feature = feature || f.Var == "http://jabber.org/protocol/muc"
	}
	return conference && feature
}

// moderator creates a throw-away room on domain from a JID of the
// component's own domain that is not the component (a room's creator owns
// it, whatever the server's admin settings), lets the component enter it
// exactly as for a kick, and destroys the room again.
func (c *checker) moderator(ctx context.Context, domain string) {
	var b [6]byte
	_, _ = crand.Read(b[:])
	room := "muc-kick-check-" + hex.EncodeToString(b[:]) + "@" + domain
	timeout := c.cfg.Component.IQTimeout.Duration

	if err := c.creator.create(ctx, c.comp, room, timeout); err != nil {
		c.fail("moderator", "the server must let "+c.creator.bare+" create a room for this check (Prosody: restrict_room_creation; ejabberd: mod_muc's access_create)",
			"cannot create the throw-away room %s: %v", room, err)
		c.destroy(ctx, room)
		return
	}
	roomJID, err := jid.ParseRoom(room)
	if err == nil {
		err = c.rooms.Enter(ctx, roomJID)
	}
	switch {
	case err == nil:
		c.pass("moderator", "%s entered %s as a moderator: kicks will work", c.cfg.Component.Domain, room)
	case errors.Is(err, muc.ErrEntryRefused):
		// err names the role and the fix too; the fix goes on lines of its own.
		c.fail("moderator", muc.ModeratorFix(c.software, c.version, c.cfg.Component.Domain),
			"%s entered %s, but not as a moderator: every kick would be refused", c.cfg.Component.Domain, room)
	default:
		c.fail("moderator", "", "%s could not enter %s: %v", c.cfg.Component.Domain, room, err)
	}
	c.destroy(ctx, room) // which also sends the component away
}

func (c *checker) destroy(ctx context.Context, room string) {
	if err := c.creator.destroy(ctx, c.comp, room); err != nil {
		c.fail("cleanup", "destroy it by hand (Prosody: prosodyctl shell → muc:room(\""+room+"\"):destroy(); ejabberd: ejabberdctl destroy_room)",
			"could not destroy the throw-away room %s: %v", room, err)
		return
	}
	c.pass("cleanup", "destroyed %s", room)
}

// creator is the JID that creates and destroys the throw-away rooms:
// muc-kick-check@<component domain>, which the component may send from.
type creator struct {
	bare, full, nick string

	mu     sync.Mutex
	joined map[string]chan error // room → the answer to our entry
}

func newCreator(domain string) *creator {
	return &creator{
		bare:   "muc-kick-check@" + domain,
		full:   "muc-kick-check@" + domain + "/check",
		nick:   "muc-kick-check",
		joined: make(map[string]chan error),
	}
}

// create enters room as its creator, waits for the room's answer, and
// submits the default configuration (an instant room, XEP-0045 §10.1.2),
// which unlocks a room that the server locks until configured.
func (cr *creator) create(ctx context.Context, comp *component.Component, room string, timeout time.Duration) error {
	answer := make(chan error, 1)
	cr.mu.Lock()
	cr.joined[room] = answer
	cr.mu.Unlock()
	defer func() {
		cr.mu.Lock()
		delete(cr.joined, room)
		cr.mu.Unlock()
	}()
	if err := comp.Send(joinPresence{From: cr.full, To: room + "/" + cr.nick, X: &struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
	}{}}); err != nil {
		return err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-answer:
		if err != nil {
			return err
		}
	case <-t.C:
		return fmt.Errorf("no answer to the entry within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := comp.IQ(ctx, "set", cr.full, room, ownerQuery{X: &dataForm{Type: "submit"}})
	return err
}

func (cr *creator) destroy(ctx context.Context, comp *component.Component, room string) error {
	_, err := comp.IQ(ctx, "set", cr.full, room, ownerQuery{Destroy: &destroy{Reason: "muc-kick check is done"}})
	return err
}

// handle takes a presence to the creator; it reports whether it was one.
func (cr *creator) handle(p stanza.Presence) bool {
	if p.To != cr.full {
		return false
	}
	room, nick, _ := strings.Cut(p.From, "/")
	if nick != cr.nick {
		return true
	}
	cr.mu.Lock()
	answer := cr.joined[strings.ToLower(room)]
	cr.mu.Unlock()
	if answer == nil {
		return true
	}
	var err error
	switch p.Type {
	case stanza.PresenceTypeError:
		err = fmt.Errorf("the room refused the entry: %s %s", p.Error.Type, p.Error.Reason)
	case stanza.PresenceTypeUnavailable:
		err = errors.New("the room sent us away at once")
	}
	select {
	case answer <- err:
	default:
	}
	return true
}

// router hands the creator's presences to it and everything else to the
// room manager, as the daemon's component handler does.
type router struct {
	rooms   *muc.Manager
	creator *creator
	up      chan struct{}
	once    sync.Once
}

func (r *router) HandlePacket(p stanza.Packet) {
	if pres, ok := p.(stanza.Presence); ok && r.creator.handle(pres) {
		return
	}
	r.rooms.HandlePacket(p)
}

func (r *router) SessionChanged(up bool) {
	r.rooms.SessionChanged(up)
	if up {
		r.once.Do(func() { close(r.up) })
	}
}

type joinPresence struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	X       any      `xml:",omitempty"`
}

type ownerQuery struct {
	XMLName xml.Name  `xml:"http://jabber.org/protocol/muc#owner query"`
	X       *dataForm `xml:"jabber:x:data x,omitempty"`
	Destroy *destroy  `xml:"destroy,omitempty"`
}

type dataForm struct {
	Type string `xml:"type,attr"`
}

type destroy struct {
	Reason string `xml:"reason,omitempty"`
}

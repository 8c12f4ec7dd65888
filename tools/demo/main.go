// Command demo shows muc-kick's main job end to end on this machine: a
// throw-away Prosody on loopback, the muc-kick binary registered as its
// component, two occupants in a room, and a curl that kicks one of them.
// It prints what each part said. Run it with `make demo` from the
// repository's root.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

const authz = "Basic ZGVtbzpkZW1v" // demo:demo

func main() {
	d := &testkit.Program{Name: "demo", OnLog: func(msg string) { fmt.Println("   " + msg) }}
	// Prosody runs in a process group of its own: Ctrl-C stops it and
	// muc-kick, and removes their directories, before the demo exits.
	d.CloseOnInterrupt(func(s os.Signal) {
		fmt.Fprintf(os.Stderr, "\ndemo: %v: stopping Prosody and muc-kick (Ctrl-C again quits at once)\n", s)
	})
	// Run stops Prosody and muc-kick on a panic too.
	if err := d.Run(func() error { run(d); return nil }); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

// run is the demo; d fails it with Fatal.
func run(d *testkit.Program) {
	step("1. A throw-away Prosody on loopback (config from contrib/prosody/muc-kick.cfg.lua)")
	srv := xmpptest.StartProsody(d)
	fmt.Printf("   component listener %s, clients %s, MUC service %s\n", srv.ComponentAddr, srv.ClientAddr, srv.MUCDomain)

	step("2. muc-kick, built from this checkout and registered as component %s", srv.ComponentDomain)
	dir := d.TempDir()
	bin := filepath.Join(dir, "muc-kick")
	if err := testkit.Build(bin, "."); err != nil {
		d.Fatal(err)
	}
	port := testkit.FreePort(d)
	cfg := fmt.Sprintf(`[component]
server = %q
domain = %q
secret = %q

[muc]
domains = [%q]
nick = "kickbot"
linger = "5s"

[http]
listen = "127.0.0.1:%d"
authorization_header = %q
`, srv.ComponentAddr, srv.ComponentDomain, srv.Secret, srv.MUCDomain, port, authz)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		d.Fatal(err)
	}
	fmt.Printf("   %s:\n%s", cfgPath, indent(cfg, "   | "))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	mk := testkit.Start(d, exec.Command(bin, "-config", cfgPath), testkit.Options{
		URL:  base,
		Line: func(line string) { fmt.Println("   [muc-kick]", line) },
	})
	mk.WaitReady(d, 20*time.Second)

	room := "demo@" + srv.MUCDomain
	step("3. Two occupants enter %s: alice and Bob (real XMPP clients)", room)
	alice := join(d, srv, room, "alice")
	bob := join(d, srv, room, "Bob")
	if _, err := alice.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool { return p.From == room+"/Bob" }); err != nil {
		d.Fatalf("alice never saw Bob enter: %v", err)
	}
	fmt.Printf("   alice sees Bob in the room: %v\n", alice.Present("Bob"))

	step("4. The web backend kicks Bob")
	body := fmt.Sprintf(`{"nickname": "Bob", "muc": %q, "reason": "Access revoked by the backend"}`, room)
	fmt.Printf("   $ curl -sS -w '\\nHTTP %%{http_code}\\n' -H 'Authorization: %s' --data '%s' %s/muc_kick\n", authz, body, base)
	kick(d, base+"/muc_kick", body)

	step("5. What Bob's client received")
	reason, actor, err := bob.WaitKicked(5 * time.Second)
	if err != nil {
		d.Fatalf("Bob was not kicked: %v", err)
	}
	for _, p := range bob.Presences() {
		if p.HasStatus(307) {
			fmt.Printf("   %s\n", p.Raw)
		}
	}
	fmt.Printf("   → status 307 (kicked) by %q, reason %q\n", actor, reason)
	if _, err := alice.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool {
		return p.From == room+"/Bob" && p.HasStatus(307)
	}); err == nil {
		fmt.Printf("   alice saw the kick too; Bob still in the room for her: %v\n", alice.Present("Bob"))
	}

	step("6. Stopping muc-kick with SIGTERM: it leaves the room and exits")
	if err := mk.Signal(syscall.SIGTERM); err != nil {
		d.Fatal(err)
	}
	state := mk.Wait(d, 30*time.Second)
	if _, err := alice.WaitPresence(5*time.Second, func(p xmpptest.Presence) bool {
		return p.From == room+"/kickbot" && p.Type == "unavailable"
	}); err == nil {
		fmt.Println("   alice saw kickbot leave the room")
	}
	fmt.Printf("   muc-kick exited: %v\n", state)
	step("Done. The same API works against ejabberd; see README.md.")
}

func join(d *testkit.Program, srv *xmpptest.Server, room, nick string) *xmpptest.Occupant {
	c := xmpptest.Connect(d, srv)
	o, err := c.Join(room, nick)
	if err != nil {
		d.Fatalf("%s cannot enter %s: %v", nick, room, err)
	}
	fmt.Printf("   %s entered as %s\n", c.JID(), nick)
	return o
}

// kick posts the request with curl when it is installed, as a backend
// would, and with Go's client otherwise.
func kick(d *testkit.Program, url, body string) {
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-sS", "-w", "\nHTTP %{http_code}\n", "-H", "Authorization: "+authz,
			"-H", "Content-Type: application/json", "--data", body, url).CombinedOutput()
		fmt.Print(indent(string(out), "   "))
		if err != nil {
			d.Fatalf("curl: %v", err)
		}
		return
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("   %s   HTTP %d\n", b, resp.StatusCode)
}

func indent(s, prefix string) string {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line)
	}
	b.WriteString("\n")
	return b.String()
}

// Command muc-kick kicks occupants out of XMPP multi-user chat rooms on
// behalf of a web backend. It connects to the XMPP server as an external
// component (XEP-0114) with admin rights over the MUC service and serves the
// HTTP API of Prosody's mod_http_muc_kick.
//
// Usage:
//
//	muc-kick -config /etc/muc-kick/config.toml
//	muc-kick -config FILE -check-config
//	muc-kick -version
//	muc-kick check -config FILE
//	muc-kick credential -config FILE -name NAME -room PATTERN|'*'... [-actions kick,mute] [-ttl 720h]
//	printf %s 'Basic …' | muc-kick credential hash
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/check"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/credential"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure: the listener, a refused handshake
	exitConfig  = 2 // bad flags or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "credential" {
		return credentialCmd(args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "check" {
		return checkCmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("muc-kick", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`")
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *showVersion {
		printVersion(stdout)
		return exitOK
	}
	cfg := loadConfig(*configPath, stderr)
	if cfg == nil {
		return exitConfig
	}
	if *checkOnly {
		for _, w := range cfg.Warnings() {
			fmt.Fprintln(stderr, "muc-kick: warning:", w)
		}
		fmt.Fprintf(stdout, "muc-kick: %s is valid\n", *configPath)
		reportActions(stdout, cfg)
		return exitOK
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	warnInlineSecrets(log, cfg, *configPath)

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		log.Error("cannot listen for HTTP", "listen", cfg.HTTP.Listen, "err", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, stop, cfg, log, ln)
}

// reportActions says, on w, what each credential of cfg may do.
func reportActions(w io.Writer, cfg *config.Config) {
	if cfg.HTTP.AuthorizationHeader != "" {
		fmt.Fprintf(w, "muc-kick: http.authorization_header may take every action: %s\n", credential.Everything)
	}
	for _, c := range cfg.HTTP.Clients {
		fmt.Fprintf(w, "muc-kick: client %q may take: %s\n", c.Name, c.Granted)
	}
}

// loadConfig loads the configuration at path, or prints why it cannot on
// stderr and returns nil (the caller exits with exitConfig).
func loadConfig(path string, stderr io.Writer) *config.Config {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return nil
	}
	return cfg
}

// serve runs the daemon on ln until ctx ends or something fails for good,
// and returns the exit code.
func serve(ctx context.Context, stopSignals func(), cfg *config.Config, log *slog.Logger, ln net.Listener) int {

	d := app.New(cfg, log, func(up bool) {
		if up {
			notify(log, "STATUS=connected to "+cfg.Component.Server+" as "+cfg.Component.Domain)
		} else {
			notify(log, "STATUS=not connected to "+cfg.Component.Server+"; kicks get 503 until it is back")
		}
	})
	comp, mgr := d.Component, d.Rooms
	srv := app.NewHTTPServer(d.Handler, log, app.DefaultTimeouts(d.KickBound))
	ln = app.LimitListener(ln, int(cfg.HTTP.MaxConnections))
	serveHTTP := func() error { return srv.Serve(ln) }
	var certs *certReloader // nil without TLS
	if cfg.HTTP.TLSCert != "" {
		var err error
		if certs, err = newCertReloader(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey); err != nil {
			log.Error("cannot load the TLS certificate", "err", err)
			return exitFailure
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
		serveHTTP = func() error { return srv.ServeTLS(ln, "", "") }
	} else if plainCredentialsExposed(ln.Addr()) {
		log.Warn("credentials over plain HTTP on a non-loopback address: anyone on the path can read and replay them (Basic, Bearer and signed credentials alike); set http.tls_cert and http.tls_key, or put muc-kick behind a TLS reverse proxy",
			"listen", ln.Addr().String())
	}

	if cfg.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			log.Error("cannot listen for metrics", "listen", cfg.Metrics.Listen, "err", err)
			return exitFailure
		}
		msrv := app.NewHTTPServer(d.Metrics.Handler(), log, app.DefaultTimeouts(0))
		go msrv.Serve(mln)
		defer msrv.Close()
		log.Info("metrics served", "listen", mln.Addr().String())
	}

	// SIGHUP (systemctl reload) reloads the certificate, the named clients,
	// the revoked credentials and the credential keys, rather than ending the process as Go
	// would by default.
	stopHUP := reloadOnSIGHUP(log, certs, cfg.Path(), d.API, cfg.HTTP.CredentialKeys)
	defer stopHUP()

	compCtx, stopComp := context.WithCancel(context.Background())
	defer stopComp()
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(compCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- serveHTTP() }()
	log.Info("muc-kick started", "version", version, "http", ln.Addr().String(), "path", cfg.HTTP.Path,
		"component", cfg.Component.Domain, "server", cfg.Component.Server, "muc_domains", cfg.MUC.Domains)
	notify(log, "READY=1") // the listener is up: requests are answered from now on

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing kicks in flight, leaving rooms")
	case err := <-compDone:
		compDone <- err
		log.Error("giving up", "err", err)
		code = exitFailure
	case err := <-httpDone:
		httpDone <- err
		log.Error("HTTP server failed", "err", err)
		code = exitFailure
	}
	stopSignals() // a second signal now ends the process at once
	notify(log, "STOPPING=1")

	// The listener closes; kicks in flight get the grace period to finish.
	grace, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownGrace.Duration)
	defer cancel()
	overdue := srv.Shutdown(grace) != nil
	if overdue {
		log.Warn("kicks still in flight at the end of the grace period: answering them 503")
	}
	// Leaving the rooms and closing the stream end whatever kicks are still
	// in flight: one waiting to enter a room gets muc.ErrClosed, one waiting
	// for the server's answer the stream's end, each a 503 that says so.
	leave, cancelLeave := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelLeave()
	if err := mgr.Close(leave); err != nil {
		log.Warn("rooms not all left", "err", err)
	}
	stopComp()
	if err := <-compDone; err != nil && !errors.Is(err, context.Canceled) && code == exitOK {
		log.Error("component", "err", err)
		code = exitFailure
	}
	if overdue {
		// Let them write those answers, then cut what is left.
		last, cancelLast := context.WithTimeout(context.Background(), time.Second)
		defer cancelLast()
		if srv.Shutdown(last) != nil {
			srv.Close()
		}
	}
	log.Info("stopped")
	return code
}

// warnInlineSecrets warns when the configuration file at path holds secrets
// and others can read it. (A warning, not a refusal: under the systemd unit,
// with DynamicUser=, the service can read only a file that others can, so
// that file must hold no secret: component.secret_file and
// authorization_sha256 keep them out.)
func warnInlineSecrets(log *slog.Logger, cfg *config.Config, path string) {
	secrets := inlineSecrets(cfg)
	if len(secrets) == 0 {
		return
	}
	if err := config.CheckPrivate(strings.Join(secrets, ", "), path); err != nil {
		log.Warn("the configuration file holds secrets that others can read; chmod 600 it, or keep them out with component.secret_file and authorization_sha256", "err", err)
	}
}

// inlineSecrets names the secrets that the configuration file holds itself.
func inlineSecrets(cfg *config.Config) (keys []string) {
	if cfg.Component.SecretFile == "" {
		keys = append(keys, "component.secret")
	}
	if cfg.HTTP.AuthorizationHeader != "" {
		keys = append(keys, "http.authorization_header")
	}
	for _, c := range cfg.HTTP.Clients {
		if c.AuthorizationHeader != "" {
			keys = append(keys, "http.client "+c.Name+" authorization_header")
		}
	}
	return keys
}

// notify tells systemd (Type=notify) about the service's state; outside
// systemd, without $NOTIFY_SOCKET, it does nothing.
func notify(log *slog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		log.Warn("sd_notify failed", "state", state, "err", err)
	}
}

// plainCredentialsExposed reports whether credentials would cross a network
// in clear text: plain HTTP on an address other than loopback. Every kind
// does: a Basic or Bearer header replays as well as it reads, a signed
// credential too until it expires, and muc-kick always has one (it refuses
// to start without).
func plainCredentialsExposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}

// certReloader serves a certificate that SIGHUP reads again from its files.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	return r, r.load()
}

func (r *certReloader) load() error {
	if err := config.CheckPrivate("http.tls_key", r.keyFile); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert.Store(&cert)
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.cert.Load(), nil }

// reloadOnSIGHUP, at every SIGHUP until the returned function is called,
// reloads the certificate (unless certs is nil: no TLS) and reads the
// configuration file again for what api can change while it runs: the named
// clients, http.revoked, the credential rate and the credential keys (keys,
// those in use). It logs what changed. A failed reload, such as a key file
// that is missing or too short, keeps everything in use and says why.
func reloadOnSIGHUP(log *slog.Logger, certs *certReloader, cfgPath string, api *httpapi.Handler, keys [][]byte) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				keys = reload(log, certs, cfgPath, api, keys)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// reload is one SIGHUP; it returns the credential keys in use after it.
func reload(log *slog.Logger, certs *certReloader, cfgPath string, api *httpapi.Handler, keys [][]byte) [][]byte {
	if certs != nil {
		if err := certs.load(); err != nil {
			log.Error("SIGHUP: cannot reload the TLS certificate; keeping the one in use", "err", err)
		} else {
			log.Info("SIGHUP: TLS certificate reloaded", "cert", certs.certFile)
		}
	}
	if cfgPath == "" || api == nil {
		return keys
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		log.Error("SIGHUP: cannot read the configuration; keeping the clients, revocations and credential keys in use", "err", err)
		return keys
	}
	changes := api.Update(app.Auth(cfg))
	changes = append(changes, app.KeyChanges(keys, cfg.HTTP.CredentialKeys)...)
	if len(changes) == 0 {
		changes = []string{"nothing"}
	}
	log.Info("SIGHUP: clients, revocations and credential keys reloaded; other settings need a restart", "changed", strings.Join(changes, "; "))
	return cfg.HTTP.CredentialKeys
}

// checkCmd is `muc-kick check`: it proves the setup against the live
// server (see internal/check) and exits 1 if any check fails.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muc-kick check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	cfg := loadConfig(*configPath, stderr)
	if cfg == nil {
		return exitConfig
	}
	fmt.Fprintf(stdout, "ok    %-12s %s is valid\n", "config", *configPath)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !check.Run(ctx, cfg, stdout) {
		return exitFailure
	}
	return exitOK
}

// credentialCmd is "muc-kick credential": it prints a signed credential;
// "muc-kick credential hash" prints an argon2id hash instead.
func credentialCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hash" {
		return hashCmd(args[1:], stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("muc-kick credential", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`, with http.credential_key_file")
	name := fs.String("name", "", "the client's `name`, for logs and revocation (required)")
	var rooms roomList
	fs.Var(&rooms, "room", "a room `pattern` the client may act on, such as \"team-*@conference.example.org\" (repeatable; required: '*' alone means every room)")
	ttl := fs.Duration("ttl", 720*time.Hour, fmt.Sprintf("how long the credential is valid (at most %v, 366 days)", credential.MaxTTL))
	rate := fs.Float64("rate", 0, "requests a `second` this credential may make on average (0: http.credential_rate)")
	burst := fs.Int("burst", 0, "requests it may make at once (0: as many as -rate)")
	actions := fs.String("actions", "", "the `actions` it may take, comma-separated, from "+credential.Everything.String()+" (default: "+credential.ActionsOf(credential.DefaultActions...).String()+")")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	cfg := loadConfig(*configPath, stderr)
	if cfg == nil {
		return exitConfig
	}
	if len(cfg.HTTP.CredentialKeys) == 0 {
		fmt.Fprintln(stderr, "muc-kick: set http.credential_key_file in", *configPath)
		return exitConfig
	}
	err := checkName(*name)
	var patterns []string
	if err == nil {
		patterns, err = roomPatterns(rooms, cfg.MUC.Domains)
	}
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return exitConfig
	}
	var acts []string
	if *actions != "" {
		acts = strings.Split(*actions, ",")
	}
	grant := credential.Grant{Name: *name, Rooms: patterns, Actions: acts, Rate: *rate, Burst: *burst}
	token, claims, err := credential.IssueGrant(cfg.HTTP.CredentialKeys[0], cfg.Component.Domain, grant, *ttl, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return exitConfig
	}
	fmt.Fprintln(stdout, token)
	describeCredential(stderr, cfg, claims)
	return exitOK
}

// roomPatterns checks and normalizes the -room flags: at least one, and
// "*" alone for every room (nil: what the token then says).
func roomPatterns(rooms []string, domains []string) ([]string, error) {
	switch {
	case len(rooms) == 0:
		return nil, errors.New("-room is required: give the rooms the client may act on, or -room '*' for every room")
	case slices.Contains(rooms, "*") && len(rooms) > 1:
		return nil, errors.New("-room '*' means every room: give it alone")
	case rooms[0] == "*":
		return nil, nil
	}
	patterns := make([]string, len(rooms))
	for i, p := range rooms {
		norm, err := config.NormalizeRoomPattern(p, domains)
		if err != nil {
			return nil, fmt.Errorf("-room %q %v", p, err)
		}
		patterns[i] = norm
	}
	return patterns, nil
}

// checkName checks -name.
func checkName(name string) error {
	if name == "" {
		return errors.New("-name is required")
	}
	if !config.ValidName(name) {
		return fmt.Errorf("-name %q may hold only letters, digits and \"-_.\" (http.revoked takes it)", name)
	}
	return nil
}

// describeCredential tells the operator, on w, what the credential just
// issued allows and how to use and revoke it.
func describeCredential(w io.Writer, cfg *config.Config, claims credential.Claims) {
	scope := "every room of " + strings.Join(cfg.MUC.Domains, ", ")
	if len(claims.Rooms) > 0 {
		scope = strings.Join(claims.Rooms, ", ")
	}
	limit := fmt.Sprintf("http.credential_rate (%g/s, burst %d)", cfg.HTTP.CredentialRate, cfg.HTTP.CredentialBurst)
	if claims.Rate > 0 {
		limit = fmt.Sprintf("%g/s, burst %d", claims.Rate, max(claims.Burst, int(claims.Rate), 1))
	}
	granted, _ := claims.Granted() // issued: valid
	fmt.Fprintf(w, "credential for %q (id %s) on %s, for %s, actions %s, rate %s, valid until %s\nclients send it as: Authorization: Bearer <token>\nrevoke it with http.revoked = [%q] (or the name), then systemctl reload muc-kick\n",
		claims.Name, claims.ID, claims.Issuer, scope, granted, limit, time.Unix(claims.Expiry, 0).UTC().Format(time.RFC3339), claims.ID)
}

// hashCmd is "muc-kick credential hash": it reads a header value from
// stdin (one line; its final newline is not part of it) and prints its
// argon2id hash, for [[http.client]]'s authorization_argon2id.
func hashCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muc-kick credential hash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: printf %%s 'Basic …' | muc-kick credential hash\n"+
			"prints the argon2id hash of the Authorization value read from stdin, for authorization_argon2id\n")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fs.Usage()
		return exitConfig
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	value := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if err != nil || value == "" || strings.ContainsAny(value, "\r\n") {
		fmt.Fprintln(stderr, "muc-kick: give the Authorization value, such as 'Basic …', on stdin: one line")
		return exitConfig
	}
	h, err := credential.HashArgon2id([]byte(value))
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}

type roomList []string

func (r *roomList) String() string     { return strings.Join(*r, ",") }
func (r *roomList) Set(v string) error { *r = append(*r, v); return nil }

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "muc-kick %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "%s, module %s %s\n", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
				fmt.Fprintf(w, "%s=%s\n", s.Key, s.Value)
			}
		}
	}
}

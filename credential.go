package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/credential"
)

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

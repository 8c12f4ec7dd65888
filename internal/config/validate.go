package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/internal/jidprep"
)

// Limits.
const (
	maxTimeout  = 5 * time.Minute // for the component's timeouts: more is a typo
	minBodySize = 1024            // a kick request is some 100 bytes of JSON
)

// validate checks c table by table, [component], [muc], [http] (its
// listener and limits, then its credentials), [metrics] and [log], and
// returns the first error. It lower-cases the domains and fills in the
// defaults that depend on other keys.
func (c *Config) validate() error {
	for _, check := range []func() error{c.validateComponent, c.validateMUC, c.validateHTTP, c.validateCredentials, c.validateLogAndMetrics} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateComponent checks [component] and lower-cases its domain.
func (c *Config) validateComponent() error {
	comp := &c.Component
	if !validHostPort(comp.Server, 1) {
		return fmt.Errorf("config: component.server must be host:port with a port from 1 to 65535, got %q", comp.Server)
	}
	if comp.Domain == "" {
		return errors.New("config: component.domain is required")
	}
	if err := jid.CheckDomain(comp.Domain); err != nil {
		return fmt.Errorf("config: component.domain %q is not a domain name: %v", comp.Domain, err)
	}
	comp.Domain = strings.ToLower(comp.Domain)
	if (comp.Secret == "") == (comp.SecretFile == "") {
		return errors.New("config: set exactly one of component.secret and component.secret_file")
	}
	if err := checkTimeout("component.iq_timeout", comp.IQTimeout); err != nil {
		return err
	}
	if err := checkTimeout("component.connect_timeout", comp.ConnectTimeout); err != nil {
		return err
	}
	if comp.KeepaliveInterval.Duration < 0 {
		return fmt.Errorf("config: component.keepalive_interval must not be negative, got %v", comp.KeepaliveInterval)
	}
	return checkTimeout("component.keepalive_timeout", comp.KeepaliveTimeout)
}

// validateMUC checks [muc] and lower-cases its domains.
func (c *Config) validateMUC() error {
	m := &c.MUC
	if len(m.Domains) == 0 {
		return errors.New("config: muc.domains must not be empty")
	}
	for i, d := range m.Domains {
		if err := jid.CheckDomain(d); err != nil {
			return fmt.Errorf("config: muc.domains[%d] %q is not a domain name: %v", i, d, err)
		}
		d = strings.ToLower(d)
		if d == c.Component.Domain {
			return fmt.Errorf("config: muc.domains[%d] %q is component.domain; list the MUC service, such as \"conference.example.org\"", i, m.Domains[i])
		}
		for j := range i {
			if m.Domains[j] == d {
				return fmt.Errorf("config: muc.domains[%d] %q is listed twice", i, m.Domains[i])
			}
		}
		m.Domains[i] = d
	}
	if err := jidprep.CheckResource(m.Nick); err != nil {
		return fmt.Errorf("config: muc.nick is not a valid nickname: %v", err)
	}
	if m.RoomPolicy != "adaptive" && m.RoomPolicy != "linger" {
		return fmt.Errorf("config: muc.room_policy must be adaptive or linger, got %q", m.RoomPolicy)
	}
	if m.Linger.Duration < 0 {
		return fmt.Errorf("config: muc.linger must not be negative, got %v", m.Linger)
	}
	if m.MaxIdle.Duration <= 0 {
		return fmt.Errorf("config: muc.max_idle must be positive, got %v", m.MaxIdle)
	}
	if m.MaxRooms < 1 {
		return fmt.Errorf("config: muc.max_rooms must be at least 1, got %d", m.MaxRooms)
	}
	return nil
}

// validateHTTP checks [http] but for its credentials.
func (c *Config) validateHTTP() error {
	h := &c.HTTP
	if h.ShutdownGrace.Duration < 0 {
		return fmt.Errorf("config: http.shutdown_grace must not be negative, got %v", h.ShutdownGrace)
	}
	if !validHostPort(h.Listen, 0) {
		return fmt.Errorf("config: http.listen must be host:port with a port from 0 to 65535, got %q", h.Listen)
	}
	if err := checkPath(h.Path); err != nil {
		return fmt.Errorf("config: http.path %v", err)
	}
	if h.MaxInFlight < 1 {
		return fmt.Errorf("config: http.max_in_flight must be at least 1, got %d", h.MaxInFlight)
	}
	if h.MaxConnections < 1 {
		return fmt.Errorf("config: http.max_connections must be at least 1, got %d", h.MaxConnections)
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		return errors.New("config: set both http.tls_cert and http.tls_key, or neither")
	}
	for i, p := range h.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			return fmt.Errorf("config: http.trusted_proxies[%d] must be an IP address or a CIDR prefix such as \"10.0.0.0/8\", got %q", i, p)
		}
	}
	if h.MaxBodyBytes < minBodySize {
		return fmt.Errorf("config: http.max_body_bytes must be at least %d, got %d", minBodySize, h.MaxBodyBytes)
	}
	return nil
}

// validateCredentials checks the credentials of [http] and fills in
// defaults.
func (c *Config) validateCredentials() error {
	h := &c.HTTP
	if h.AuthorizationHeader == "" && len(h.Clients) == 0 && h.CredentialKeyFile == "" {
		return errors.New("config: http.authorization_header is required (like mod_http_muc_kick, muc-kick refuses to run without a credential), unless [[http.client]] entries or http.credential_key_file give one")
	}
	if h.AuthorizationHeader != "" {
		if err := checkHeader("http.authorization_header", h.AuthorizationHeader); err != nil {
			return err
		}
	}
	if err := c.checkClients(); err != nil {
		return err
	}
	for i, r := range h.Revoked {
		if err := checkRevoked(r); err != nil {
			return fmt.Errorf("config: http.revoked[%d] %q %v", i, r, err)
		}
		if isHex(r) && len(r) == tokenIDLen {
			h.Revoked[i] = strings.ToLower(r)
		}
	}
	if h.CredentialRate < 0 || h.CredentialBurst < 0 {
		return errors.New("config: http.credential_rate and http.credential_burst must not be negative")
	}
	if h.CredentialRate > 0 && h.CredentialBurst == 0 {
		h.CredentialBurst = max(1, int64(h.CredentialRate))
	}
	if len(h.CredentialKeyFiles) > 0 && h.CredentialKeyFile == "" {
		return errors.New("config: http.credential_key_files lists older keys; set http.credential_key_file to the current one")
	}
	return nil
}

// validateLogAndMetrics checks [metrics] and [log].
func (c *Config) validateLogAndMetrics() error {
	if c.Metrics.Listen != "" && !validHostPort(c.Metrics.Listen, 0) {
		return fmt.Errorf("config: metrics.listen must be host:port with a port from 0 to 65535, got %q", c.Metrics.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log.level must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("config: log.format must be text or json, got %q", c.Log.Format)
	}
	return nil
}

// checkHeader checks an Authorization value; the value itself stays out of
// the messages: it is a secret.
func checkHeader(key, v string) error {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("config: %s must not contain control characters", key)
	}
	if strings.TrimSpace(v) != v {
		// net/http trims the value a request carries, which then never matches.
		return fmt.Errorf("config: %s must not begin or end with white space", key)
	}
	return nil
}

// NormalizeRoomPattern checks a room pattern (a room name in which "*"
// stands for any text, "@", and one of the MUC domains) and returns it in
// the form rooms are matched in: each piece between stars prepared as
// jid.ParseRoom prepares a room name (case folded, normalized as servers
// route it; see package jidprep), the domain lower case.
func NormalizeRoomPattern(p string, domains []string) (string, error) {
	node, domain, ok := strings.Cut(strings.ToLower(p), "@")
	if !ok || node == "" {
		return "", errors.New(`must be room@service, such as "*@conference.example.org"`)
	}
	pieces := strings.Split(node, "*")
	for i, piece := range pieces {
		if piece == "" {
			continue
		}
		n, err := jidprep.Node(piece)
		if err != nil {
			return "", fmt.Errorf("has a piece of room name, %q, that servers would refuse or could read differently: %v", piece, err)
		}
		pieces[i] = n
	}
	node = strings.Join(pieces, "*")
	if strings.ContainsAny(node, "\"&'/:<>@ ") || strings.ContainsFunc(node, unicode.IsControl) {
		return "", errors.New("has a character a room name cannot hold")
	}
	if !slices.Contains(domains, domain) {
		return "", errors.New("is not on one of muc.domains")
	}
	return node + "@" + domain, nil
}

// validHostPort reports whether s is host:port with a numeric port from
// minPort to 65535, and with a host unless minPort is 0: a listening address
// may leave the host out, to listen on every interface.
func validHostPort(s string, minPort uint64) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" && minPort > 0 {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n >= minPort
}

// checkTimeout checks that d is positive and at most maxTimeout.
func checkTimeout(key string, d Duration) error {
	if d.Duration <= 0 {
		return fmt.Errorf("config: %s must be positive, got %v", key, d)
	}
	if d.Duration > maxTimeout {
		return fmt.Errorf("config: %s must be at most %v, got %v", key, maxTimeout, d)
	}
	return nil
}

// checkPath checks that p can be the route of the kick endpoint. Its errors
// read as predicates of the key.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("must start with \"/\", got %q", p)
	}
	for _, r := range p {
		// Nothing that a router could read as a pattern (":room", "*rest",
		// "{room}") or that a URL would have to escape.
		if !(r == '/' || r == '-' || r == '.' || r == '_' || r == '~' ||
			'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return fmt.Errorf("may hold only ASCII letters, digits and \"/-._~\", got %q", p)
		}
	}
	if clean := path.Clean(p); clean != p {
		return fmt.Errorf("must be a clean path such as %q, got %q", clean, p)
	}
	if p == "/healthz" || p == "/readyz" {
		return fmt.Errorf("must not be %q, which muc-kick serves itself", p)
	}
	if base := path.Base(p); base == "muc_ban" || base == "muc_unban" {
		return fmt.Errorf("must not end in %q: the ban and unban endpoints go beside the kick path, as muc_ban and muc_unban, got %q", base, p)
	}
	return nil
}

// ParsePrefix reads an entry of http.trusted_proxies: an address, which
// stands for itself alone, or a CIDR prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	return p.Masked(), nil
}

// ValidName reports whether s can name a client: letters, digits and
// "-_.", not empty.
func ValidName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
}

// tokenIDLen is the length of a signed credential's id: 16 random bytes in hex.
const tokenIDLen = 32

// checkRevoked checks an entry of http.revoked: a client name, or a whole
// token id. Its errors read as predicates of the entry.
func checkRevoked(r string) error {
	switch {
	case isHex(r) && len(r) == tokenIDLen:
		return nil
	case isHex(r) && len(r) >= 8:
		return fmt.Errorf("looks like a shortened token id, which revokes nothing: give all %d hex digits, as muc-kick credential and the audit log (credential_id) print them", tokenIDLen)
	case !ValidName(r):
		return errors.New(`is neither a client name (letters, digits and "-_.") nor a token id`)
	}
	return nil
}

func isHex(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	})
}

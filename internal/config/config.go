// Package config reads muc-kick's configuration file.
//
// The file is TOML; its keys are a contract with users, and
// config.toml.example at the root of the repository documents every one of
// them with its default. Decoding is strict: a key this package does not know
// is an error, and so is a known key spelled in another case.
//
// Every error is a single line that starts with "config: " and names the key
// it is about, so that "muc-kick -check-config" tells the operator what to
// fix, for example
//
//	config: component.domain is required
//	config: unknown key "component.secrt"
//	config: component.iq_timeout: time: invalid duration "ten"
//
// The XMPP component secret and the HTTP authorization header are secrets:
// neither appears in an error message, and formatting a Config, a Component
// or an HTTP value with fmt or logging it with log/slog shows "[redacted]" in
// their place.
package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/muc-kick/muc-kick/internal/credential"
)

// Config is muc-kick's configuration. Parse and Load fill in the defaults
// given below for keys the file leaves out, and validate the result.
type Config struct {
	// Component is how muc-kick connects to the XMPP server.
	Component Component `toml:"component"`
	// MUC is about the multi-user chat services muc-kick kicks from.
	MUC MUC `toml:"muc"`
	// HTTP is the API that mod_http_muc_kick's clients talk to.
	HTTP HTTP `toml:"http"`
	// Log is muc-kick's own logging.
	Log Log `toml:"log"`
	// Metrics configures the Prometheus metrics.
	Metrics Metrics `toml:"metrics"`

	// dir is the directory of the configuration file, if Load read it; a
	// relative secret_file is resolved against it.
	dir string
	// path is the file Load read.
	path string
}

// Path returns the file Load read the configuration from; "" after Parse.
func (c *Config) Path() string { return c.path }

// Component configures the XEP-0114 connection to the XMPP server.
type Component struct {
	// Server is the host:port of the XMPP server's component listener.
	// Default "127.0.0.1:5347".
	Server string `toml:"server"`
	// Domain is the component's JID, as registered on the server (for
	// Prosody, a Component "kick.example.org" line). Required. It is
	// lower-cased on load.
	Domain string `toml:"domain"`
	// Secret is the shared secret of the component handshake. Exactly one
	// of Secret and SecretFile must be set; after Load or ResolveSecret,
	// Secret holds the secret whichever way it was given.
	Secret string `toml:"secret"`
	// SecretFile names a file holding the secret, so that the configuration
	// file itself need not be kept secret. Trailing white space, such as the
	// final newline, is not part of the secret. See Config.ResolveSecret for
	// how a relative name is resolved.
	SecretFile string `toml:"secret_file"`
	// IQTimeout is how long muc-kick waits for the answer to an IQ, such as
	// a kick, before it reports a timeout. Default 10s; at most 5m.
	IQTimeout Duration `toml:"iq_timeout"`
	// ConnectTimeout bounds dialling the server and completing the
	// handshake. Default 10s; at most 5m.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// KeepaliveInterval is how often muc-kick pings the server (XEP-0199)
	// to notice a stream that died silently; "0s" turns the pings off.
	// Default 60s.
	KeepaliveInterval Duration `toml:"keepalive_interval"`
	// KeepaliveTimeout is how long a ping may go unanswered before the
	// stream is dropped and dialled again. Default 10s; at most 5m.
	KeepaliveTimeout Duration `toml:"keepalive_timeout"`
}

// MUC configures the multi-user chat services muc-kick acts on.
type MUC struct {
	// Domains are the MUC services (such as "conference.example.org") whose
	// rooms muc-kick may kick from; a request for a room elsewhere is
	// refused. Required, at least one. They are lower-cased on load.
	Domains []string `toml:"domains"`
	// Nick is the nickname muc-kick uses when it must enter a room to kick
	// from it. Default "kickbot".
	Nick string `toml:"nick"`
	// RoomPolicy says when muc-kick leaves a room it entered, once no kick
	// uses it: "adaptive" stays while staying costs the server less than
	// entering again would (until the room has sent it, since its last
	// kick, 3 stanzas per occupant, and at least Linger), at most MaxIdle;
	// "linger" leaves Linger after the last kick. Default "adaptive".
	RoomPolicy string `toml:"room_policy"`
	// Linger is, with room_policy "linger", how long muc-kick stays in a
	// room after its last kick there (0 leaves right after the kick); with
	// "adaptive", the least it stays. Default 30s.
	Linger Duration `toml:"linger"`
	// MaxIdle is, with room_policy "adaptive", the longest muc-kick stays
	// in a room without a kick; positive; a MaxIdle shorter than Linger
	// counts as Linger. Default 1h.
	MaxIdle Duration `toml:"max_idle"`
	// MaxRooms caps the rooms muc-kick stays in, with either policy: past
	// it, the idle room whose last kick is oldest is left. At least 1.
	// Default 1000.
	MaxRooms int64 `toml:"max_rooms"`
}

// HTTP configures the HTTP API.
type HTTP struct {
	// Listen is the host:port to serve the API on. An empty host means
	// every interface. Default "127.0.0.1:5280".
	Listen string `toml:"listen"`
	// Path is where kicks are posted. Default "/muc_kick", as with
	// mod_http_muc_kick; "/healthz" and "/readyz" are taken by muc-kick's
	// own probes.
	Path string `toml:"path"`
	// AuthorizationHeader is the exact value of the Authorization header
	// every request must carry, such as "Basic dXNlcm5hbWU6cGFzc3dvcmQ=".
	// Required unless Clients or CredentialKeyFile give a credential: like
	// mod_http_muc_kick, muc-kick refuses to run without one.
	AuthorizationHeader string `toml:"authorization_header"`
	// MaxBodyBytes is the largest request body accepted. Default 65536
	// (64 KiB); at least 1024.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// ShutdownGrace is how long kicks in flight may take to finish after
	// SIGTERM before muc-kick leaves its rooms and exits. Default 30s.
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// Clients are named callers, each with its own credential and,
	// optionally, the rooms it may act on and a request rate.
	Clients []Client `toml:"client"`
	// CredentialKeyFile names the file holding the key of signed
	// credentials ("muc-kick credential" issues them; clients send them as
	// "Authorization: Bearer <token>"). Its contents are the key, at least
	// 32 bytes. Resolved as secret_file is.
	CredentialKeyFile string `toml:"credential_key_file"`
	// CredentialKeyFiles are older keys whose credentials are still
	// accepted while clients move to the new key.
	CredentialKeyFiles []string `toml:"credential_key_files"`
	// Revoked lists names and token ids of signed credentials refused
	// although their signature is good. An id is all 32 hex digits of the
	// token's "jti" (as muc-kick credential and the audit log print it);
	// a shortened one is an error, upper case is lower-cased. SIGHUP reads
	// the list again.
	Revoked []string `toml:"revoked"`
	// CredentialRate is the requests per second allowed, on average, to each
	// signed credential that carries no rate of its own (muc-kick
	// credential -rate); 0: no limit. Default 10.
	CredentialRate float64 `toml:"credential_rate"`
	// CredentialBurst is how many requests such a credential may make at
	// once; default CredentialRate, at least 1.
	CredentialBurst int64 `toml:"credential_burst"`
	// MaxInFlight caps the kicks carried out at once; beyond it, requests
	// get 503 with Retry-After. Default 1024.
	MaxInFlight int64 `toml:"max_in_flight"`
	// MaxConnections caps the connections open at once on http.listen;
	// past it, new ones wait for one to close. Default 1024.
	MaxConnections int64 `toml:"max_connections"`
	// TLSCert and TLSKey, both or neither, serve HTTPS (TLS 1.2 or later).
	// The files are read again on SIGHUP. Load resolves relative names as
	// secret_file's.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TrustedProxies are reverse proxies (addresses or CIDR prefixes, such
	// as "127.0.0.1" or "10.0.0.0/8") whose X-Forwarded-For header names the
	// client. The limit of failed authentication counts per client address:
	// without this, every client behind a proxy shares the proxy's.
	// Default none.
	TrustedProxies []string `toml:"trusted_proxies"`

	// CredentialKeys are the keys read from CredentialKeyFile, then
	// CredentialKeyFiles, by Load.
	CredentialKeys [][]byte `toml:"-"`
}

// Client is a named caller of the HTTP API.
type Client struct {
	// Name identifies the client in logs. Required, unique.
	Name string `toml:"name"`
	// AuthorizationHeader is the exact Authorization value of this client.
	AuthorizationHeader string `toml:"authorization_header"`
	// AuthorizationSHA256 is instead the hex SHA-256 of that value, so the
	// configuration holds no secret: printf %s 'Basic …' | sha256sum. It
	// is an unsalted fast hash: a low-entropy value can be found from it
	// offline, so Warnings asks to move to AuthorizationArgon2id.
	AuthorizationSHA256 string `toml:"authorization_sha256"`
	// AuthorizationArgon2id is instead an argon2id hash of that value, in
	// the PHC format ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") that
	// "muc-kick credential hash" prints. Exactly one of the three is set.
	AuthorizationArgon2id string `toml:"authorization_argon2id"`
	// Rooms are the rooms the client may act on, as patterns where "*"
	// stands for any part of the room name: "*@conference.example.org",
	// "team-*@conference.example.org". Empty: every room of muc.domains.
	Rooms []string `toml:"rooms"`
	// Rate is the requests per second allowed, on average; 0: no limit.
	Rate float64 `toml:"rate"`
	// Burst is how many requests may come at once; default Rate, at least 1.
	Burst int64 `toml:"burst"`
	// Actions are the actions the client may take: "kick", "ban",
	// "unban", "mute", "unmute", "occupants", "retract". Default: kick,
	// ban and unban, what every client could do before actions existed.
	Actions []string `toml:"actions"`

	// Granted is Actions as a set, filled in by Parse.
	Granted credential.Actions `toml:"-"`
}

// Metrics configures where GET /metrics is served.
type Metrics struct {
	// Listen is a host:port of its own for /metrics, so that the metrics
	// need not share the API's port. Default "": served on http.listen,
	// to peers on the loopback interface only (and not through a proxy
	// that sets X-Forwarded-For, Forwarded or X-Real-IP).
	Listen string `toml:"listen"`
}

// Log configures muc-kick's logging.
type Log struct {
	// Level is the least severe level logged: "debug", "info", "warn" or
	// "error". Default "info".
	Level string `toml:"level"`
	// Format is "text" (log/slog's key=value lines) or "json". Default
	// "text".
	Format string `toml:"format"`
}

// Duration is a time.Duration written in the file as a string that
// time.ParseDuration accepts, such as "10s" or "1m30s".
type Duration struct {
	time.Duration
}

// UnmarshalText parses a duration such as "10s" with time.ParseDuration.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as time.Duration.String does, such as
// "1m30s".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// UnmarshalTOML takes a TOML string and parses it as UnmarshalText does. It
// refuses any other TOML type, such as the integer in "linger = 30", which
// the TOML decoder would otherwise hand to UnmarshalText as "30".
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf(`expected a duration such as "10s", got %s`, tomlType(v))
	}
	return d.UnmarshalText([]byte(s))
}

// defaults returns the configuration of an empty file, which is not valid:
// it lacks the required keys.
func defaults() *Config {
	return &Config{
		Component: Component{
			Server:            "127.0.0.1:5347",
			IQTimeout:         Duration{10 * time.Second},
			ConnectTimeout:    Duration{10 * time.Second},
			KeepaliveInterval: Duration{60 * time.Second},
			KeepaliveTimeout:  Duration{10 * time.Second},
		},
		MUC: MUC{
			Nick:       "kickbot",
			RoomPolicy: "adaptive",
			Linger:     Duration{30 * time.Second},
			MaxIdle:    Duration{time.Hour},
			MaxRooms:   1000,
		},
		HTTP: HTTP{
			Listen:         "127.0.0.1:5280",
			Path:           "/muc_kick",
			MaxBodyBytes:   64 << 10,
			ShutdownGrace:  Duration{30 * time.Second},
			MaxInFlight:    1024,
			MaxConnections: 1024,
			CredentialRate: 10,
		},
		Log: Log{
			Level:  "info",
			Format: "text",
		},
	}
}

// SlogLevel returns the slog.Level that Level names. It is meant for a
// validated Log, and returns slog.LevelInfo for any value it does not know.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

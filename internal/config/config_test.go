package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/muc-kick/muc-kick/internal/credential"
)

// badConfigs maps each testdata/bad-*.toml to the error Parse returns for it.
var badConfigs = map[string]string{
	"bad-syntax.toml":                     `config: line 2: component.domain: expected value but found the end of the line instead (is a string missing its quotes?)`,
	"bad-syntax-unquoted-secret.toml":     `config: line 3: component.secret: expected value but found (text not shown) instead (is a string missing its quotes?)`,
	"bad-syntax-escape.toml":              `config: line 10: http.client.authorization_header: invalid escape in string (text not shown)`,
	"bad-duplicate-key.toml":              `config: line 4: component.domain: Key 'component.domain' has already been defined.`,
	"bad-unknown-key.toml":                `config: unknown key "component.secrt"`,
	"bad-unknown-table.toml":              `config: unknown key "xmpp"`,
	"bad-miscased-key.toml":               `config: unknown key "component.Domain" (keys are case-sensitive: did you mean "component.domain"?)`,
	"bad-unknown-before-type.toml":        `config: unknown key "component.zzz"`,
	"bad-type-string.toml":                `config: component.server: expected string, got integer`,
	"bad-type-integer.toml":               `config: http.max_body_bytes: expected integer, got string`,
	"bad-type-array.toml":                 `config: muc.domains: expected array of strings, got string`,
	"bad-type-array-element.toml":         `config: muc.domains[1]: expected string, got integer`,
	"bad-type-table.toml":                 `config: component: expected table, got string`,
	"bad-type-first-in-file.toml":         `config: component.iq_timeout: expected a duration such as "10s", got integer`,
	"bad-array-of-tables.toml":            `config: muc: expected table, got array of tables`,
	"bad-duration.toml":                   `config: component.iq_timeout: time: invalid duration "ten"`,
	"bad-duration-integer.toml":           `config: muc.linger: expected a duration such as "10s", got integer`,
	"bad-server.toml":                     `config: component.server must be host:port with a port from 1 to 65535, got "localhost"`,
	"bad-no-domain.toml":                  `config: component.domain is required`,
	"bad-domain.toml":                     `config: component.domain "kick@example.org" is not a domain name: it contains '@'`,
	"bad-no-secret.toml":                  `config: set exactly one of component.secret and component.secret_file`,
	"bad-both-secrets.toml":               `config: set exactly one of component.secret and component.secret_file`,
	"bad-iq-timeout-zero.toml":            `config: component.iq_timeout must be positive, got 0s`,
	"bad-iq-timeout-long.toml":            `config: component.iq_timeout must be at most 5m0s, got 1h0m0s`,
	"bad-connect-timeout.toml":            `config: component.connect_timeout must be positive, got -1s`,
	"bad-no-muc-domains.toml":             `config: muc.domains must not be empty`,
	"bad-muc-domains-empty.toml":          `config: muc.domains must not be empty`,
	"bad-muc-domain.toml":                 `config: muc.domains[0] "conference.example.org/room" is not a domain name: it contains '/'`,
	"bad-muc-domain-duplicate.toml":       `config: muc.domains[1] "Conference.Example.org" is listed twice`,
	"bad-muc-domain-component.toml":       `config: muc.domains[0] "Kick.example.org" is component.domain; list the MUC service, such as "conference.example.org"`,
	"bad-nick.toml":                       `config: muc.nick is not a valid nickname: it contains the control character U+0009`,
	"bad-linger.toml":                     `config: muc.linger must not be negative, got -30s`,
	"bad-room-policy.toml":                `config: muc.room_policy must be adaptive or linger, got "sticky"`,
	"bad-max-idle-zero.toml":              `config: muc.max_idle must be positive, got 0s`,
	"bad-max-rooms-zero.toml":             `config: muc.max_rooms must be at least 1, got 0`,
	"bad-listen.toml":                     `config: http.listen must be host:port with a port from 0 to 65535, got "127.0.0.1"`,
	"bad-path.toml":                       `config: http.path must start with "/", got "muc_kick"`,
	"bad-path-healthz.toml":               `config: http.path must not be "/healthz", which muc-kick serves itself`,
	"bad-path-ban.toml":                   `config: http.path must not end in "muc_ban": the ban and unban endpoints go beside the kick path, as muc_ban and muc_unban, got "/api/muc_ban"`,
	"bad-no-authorization-header.toml":    `config: http.authorization_header is required (like mod_http_muc_kick, muc-kick refuses to run without a credential), unless [[http.client]] entries or http.credential_key_file give one`,
	"bad-authorization-header-space.toml": `config: http.authorization_header must not begin or end with white space`,
	"bad-max-body-bytes.toml":             `config: http.max_body_bytes must be at least 1024, got 100`,
	"bad-log-level.toml":                  `config: log.level must be debug, info, warn or error, got "verbose"`,
	"bad-log-format.toml":                 `config: log.format must be text or json, got "xml"`,
}

func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad-*.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := badConfigs[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected error in badConfigs", f)
		}
	}
	for file, want := range badConfigs {
		t.Run(file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", file))
			if err == nil {
				t.Fatalf("Load succeeded with %+v; want error %q", c, want)
			}
			if err.Error() != want {
				t.Errorf("Load error\n got %q\nwant %q", err, want)
			}
		})
	}
}

// doc returns a valid configuration file, with the keys in set (by dotted
// name, with a TOML value) added or replaced; an empty value removes a key.
func doc(set map[string]string) string {
	keys := map[string]string{
		"component.domain":          `"kick.example.org"`,
		"component.secret":          `"s3cret"`,
		"muc.domains":               `["conference.example.org"]`,
		"http.authorization_header": `"Basic dGVzdDp0ZXN0LXNlY3JldA=="`,
	}
	for k, v := range set {
		keys[k] = v
	}
	var b strings.Builder
	for _, table := range []string{"component", "muc", "http", "log"} {
		fmt.Fprintf(&b, "[%s]\n", table)
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if name, ok := strings.CutPrefix(k, table+"."); ok && keys[k] != "" {
				fmt.Fprintf(&b, "%s = %s\n", name, keys[k])
			}
		}
	}
	return b.String()
}

// TestValues covers variants of the checks in testdata, good and bad.
func TestValues(t *testing.T) {
	tests := []struct {
		key, value string
		err        string // "" if the value is good
	}{
		{"component.server", `"[::1]:5347"`, ""},
		{"component.server", `"xmpp.example.org:5347"`, ""},
		{"component.server", `":5347"`, `config: component.server must be host:port with a port from 1 to 65535, got ":5347"`},
		{"component.server", `"localhost:0"`, `config: component.server must be host:port with a port from 1 to 65535, got "localhost:0"`},
		{"component.server", `"localhost:65536"`, `config: component.server must be host:port with a port from 1 to 65535, got "localhost:65536"`},
		{"component.server", `"localhost:xmpp"`, `config: component.server must be host:port with a port from 1 to 65535, got "localhost:xmpp"`},
		{"component.server", `""`, `config: component.server must be host:port with a port from 1 to 65535, got ""`},
		{"component.domain", `""`, `config: component.domain is required`},
		{"component.domain", `"localhost"`, ""},
		{"component.domain", `"kick_bot.example.org"`, ""},
		{"component.domain", `"kick.bücher.example"`, ""},
		{"component.domain", `"kick.example.org."`, `config: component.domain "kick.example.org." is not a domain name: it ends with "."`},
		{"component.domain", `"kick..example.org"`, `config: component.domain "kick..example.org" is not a domain name: it has an empty label`},
		{"component.domain", `"kick example.org"`, `config: component.domain "kick example.org" is not a domain name: it contains ' '`},
		{"component.domain", `"kick.example.org/res"`, `config: component.domain "kick.example.org/res" is not a domain name: it contains '/'`},
		{"component.domain", `"` + strings.Repeat("a", 64) + `.org"`, `config: component.domain "` + strings.Repeat("a", 64) + `.org" is not a domain name: its label "` + strings.Repeat("a", 64) + `" is longer than 63 bytes`},
		{"component.domain", `"` + strings.Repeat("a.", 512) + `org"`, `config: component.domain "` + strings.Repeat("a.", 512) + `org" is not a domain name: it is longer than 1023 bytes`},
		{"component.secret", `""`, `config: set exactly one of component.secret and component.secret_file`},
		{"component.iq_timeout", `"5m"`, ""},
		{"component.iq_timeout", `"5m1s"`, `config: component.iq_timeout must be at most 5m0s, got 5m1s`},
		{"component.iq_timeout", `"10"`, `config: component.iq_timeout: time: missing unit in duration "10"`},
		{"component.iq_timeout", `1.5`, `config: component.iq_timeout: expected a duration such as "10s", got float`},
		{"component.iq_timeout", `2024-01-01`, `config: component.iq_timeout: expected a duration such as "10s", got datetime`},
		{"component.connect_timeout", `"6m"`, `config: component.connect_timeout must be at most 5m0s, got 6m0s`},
		{"component.connect_timeout", `true`, `config: component.connect_timeout: expected a duration such as "10s", got boolean`},
		{"component.connect_timeout", `{}`, `config: component.connect_timeout: expected a duration such as "10s", got table`},
		{"muc.domains", `[""]`, `config: muc.domains[0] "" is not a domain name: it is empty`},
		{"muc.domains", `["a.example", "conference@example.org"]`, `config: muc.domains[1] "conference@example.org" is not a domain name: it contains '@'`},
		{"muc.domains", `[["conference.example.org"]]`, `config: muc.domains[0]: expected string, got array`},
		{"muc.nick", `""`, `config: muc.nick is not a valid nickname: it is empty`},
		{"muc.nick", `"  "`, `config: muc.nick is not a valid nickname: it is only white space`},
		{"muc.nick", `"kick\u0000bot"`, `config: muc.nick is not a valid nickname: it contains the control character U+0000`},
		{"muc.nick", `"kick\uFFFEbot"`, `config: muc.nick is not a valid nickname: it contains U+FFFE, which XML cannot carry`},
		{"muc.nick", `"` + strings.Repeat("é", 511) + `a"`, ""},
		{"muc.nick", `"` + strings.Repeat("é", 512) + `"`, `config: muc.nick is not a valid nickname: longer than 1023 bytes`},
		{"muc.nick", `"Kick Bot / 🤖"`, ""},
		{"muc.linger", `"0s"`, ""},
		{"muc.linger", `"24h"`, ""},
		{"http.listen", `":5280"`, ""},
		{"http.listen", `"localhost:0"`, ""},
		{"http.listen", `"[::1]:5280"`, ""},
		{"http.listen", `"localhost:http"`, `config: http.listen must be host:port with a port from 0 to 65535, got "localhost:http"`},
		{"http.path", `"/"`, ""},
		{"http.path", `"/api/v1/muc-kick.json"`, ""},
		{"http.path", `""`, `config: http.path must start with "/", got ""`},
		{"http.path", `"/muc_kick/"`, `config: http.path must be a clean path such as "/muc_kick", got "/muc_kick/"`},
		{"http.path", `"/a//b"`, `config: http.path must be a clean path such as "/a/b", got "/a//b"`},
		{"http.path", `"/a/../b"`, `config: http.path must be a clean path such as "/b", got "/a/../b"`},
		{"http.path", `"/kick/:room"`, `config: http.path may hold only ASCII letters, digits and "/-._~", got "/kick/:room"`},
		{"http.path", `"/kick/{room}"`, `config: http.path may hold only ASCII letters, digits and "/-._~", got "/kick/{room}"`},
		{"http.path", `"/muc kick"`, `config: http.path may hold only ASCII letters, digits and "/-._~", got "/muc kick"`},
		{"http.path", `"/readyz"`, `config: http.path must not be "/readyz", which muc-kick serves itself`},
		{"http.authorization_header", `""`, `config: http.authorization_header is required (like mod_http_muc_kick, muc-kick refuses to run without a credential), unless [[http.client]] entries or http.credential_key_file give one`},
		{"http.authorization_header", `"Basic a\r\nX-Evil: 1"`, `config: http.authorization_header must not contain control characters`},
		{"http.authorization_header", `" Basic a"`, `config: http.authorization_header must not begin or end with white space`},
		{"http.authorization_header", `"anything at all"`, ""},
		{"http.max_body_bytes", `1024`, ""},
		{"http.max_body_bytes", `1023`, `config: http.max_body_bytes must be at least 1024, got 1023`},
		{"http.max_body_bytes", `-1`, `config: http.max_body_bytes must be at least 1024, got -1`},
		{"http.max_body_bytes", `65536.0`, `config: http.max_body_bytes: expected integer, got float`},
		{"log.level", `"INFO"`, `config: log.level must be debug, info, warn or error, got "INFO"`},
		{"log.level", `"warning"`, `config: log.level must be debug, info, warn or error, got "warning"`},
		{"log.format", `""`, `config: log.format must be text or json, got ""`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := Parse([]byte(doc(map[string]string{tt.key: tt.value})))
			var got string
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("Parse error\n got %q\nwant %q", got, tt.err)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, data, err string
	}{
		{"sorted first", doc(map[string]string{"log.zz": "1", "component.yy": "1", "http.xx": "1"}),
			`config: unknown key "component.yy"`},
		{"under a leaf", doc(map[string]string{"component.server": `{ host = "localhost" }`}),
			`config: unknown key "component.server.host"`},
		{"quoted", doc(map[string]string{`component."iq timeout"`: `"10s"`}),
			`config: unknown key "component.\"iq timeout\""`},
		{"dotted", doc(nil) + "\n[muc.rooms]\nx = 1\n",
			`config: unknown key "muc.rooms"`},
		{"miscased table", strings.Replace(doc(nil), "[muc]", "[MUC]", 1),
			`config: unknown key "MUC" (keys are case-sensitive: did you mean "muc"?)`},
		{"unexported field", doc(map[string]string{"component.dir": `"/etc"`}),
			`config: unknown key "component.dir"`},
		{"top level", "dir = \"/etc\"\n" + doc(nil),
			`config: unknown key "dir"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse error\n got %v\nwant %s", err, tt.err)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		data, err string
	}{
		{"[component]\ndomain = \"kick\\\n\"\n", `config: line 3: component.domain: invalid escape in string (text not shown)`},
		{"[component]\ndomain = 'kick\u0001'\n", `config: line 2: component.domain: TOML files cannot contain control characters: '0x01'`},
		{"[component\n", `config: line 2: expected '.' or ']' to end table name, but got the end of the line instead`},
		{"[component]\nsecret = correct horse\n", `config: line 2: component.secret: expected value but found (text not shown) instead (is a string missing its quotes?)`},
		{"[component]\nsecret = \"correct\" horse\n", `config: line 2: component: expected a top-level item to end with a newline, comment, or EOF, but got (text not shown) instead`},
		{"[http]\nrevoked = [\"a\", correcthorse]\n", `config: line 2: http.revoked: expected value but found (text not shown) instead (is a string missing its quotes?)`},
		{"[http]\nx = {a = 1, b = correcthorse}\n", `config: line 2: http.x.b: expected value but found (text not shown) instead (is a string missing its quotes?)`},
		{"[http]\nauthorization_header = \"\"\"Basic correcthorse\n", `config: line 2: http.authorization_header: unexpected EOF; expected '"""'`},
		{"[http]\nauthorization_header = \"Basic \\uZZZZcorrecthorse\"\n", `config: line 2: http.authorization_header: expected four hexadecimal digits after '\u', but got (text not shown) instead`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.data))
		if err == nil || err.Error() != tt.err {
			t.Errorf("Parse(%q) error\n got %v\nwant %s", tt.data, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "horse") {
			t.Errorf("Parse(%q): the error shows the value: %v", tt.data, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Component: Component{
			Server:            "127.0.0.1:5347",
			Domain:            "kick.example.org",
			Secret:            "s3cret",
			IQTimeout:         Duration{10 * time.Second},
			ConnectTimeout:    Duration{10 * time.Second},
			KeepaliveInterval: Duration{time.Minute},
			KeepaliveTimeout:  Duration{10 * time.Second},
		},
		MUC: MUC{
			Domains:    []string{"conference.example.org"},
			Nick:       "kickbot",
			RoomPolicy: "adaptive",
			Linger:     Duration{30 * time.Second},
			MaxIdle:    Duration{time.Hour},
			MaxRooms:   1000,
		},
		HTTP: HTTP{
			Listen:              "127.0.0.1:5280",
			Path:                "/muc_kick",
			AuthorizationHeader: "Basic dGVzdDp0ZXN0LXNlY3JldA==",
			MaxBodyBytes:        65536,
			ShutdownGrace:       Duration{30 * time.Second},
			MaxInFlight:         1024,
			MaxConnections:      1024,
			CredentialRate:      10,
			CredentialBurst:     10,
		},
		Log: Log{Level: "info", Format: "text"},
	}
	want.dir, want.path = "testdata", "testdata/minimal.toml"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(minimal.toml)\n got %#v\nwant %#v", *c, *want)
	}
}

// goodConfig is testdata/good.toml, which sets every key.
var goodConfig = Config{
	Component: Component{
		Server:            "xmpp.example.org:5348",
		Domain:            "kick.example.org",
		Secret:            "s3cret",
		IQTimeout:         Duration{15 * time.Second},
		ConnectTimeout:    Duration{time.Minute},
		KeepaliveInterval: Duration{0},
		KeepaliveTimeout:  Duration{3 * time.Second},
	},
	MUC: MUC{
		Domains:    []string{"conference.example.org", "chat.example.net"},
		Nick:       "Kick Bot",
		RoomPolicy: "linger",
		Linger:     Duration{0},
		MaxIdle:    Duration{2 * time.Hour},
		MaxRooms:   50,
	},
	HTTP: HTTP{
		Listen:              ":8080",
		Path:                "/api/muc_kick",
		AuthorizationHeader: "Bearer 0123456789abcdef",
		MaxBodyBytes:        4096,
		ShutdownGrace:       Duration{5 * time.Second},
		Clients: []Client{
			{Name: "backend-a", AuthorizationHeader: "Basic YTph", Rooms: []string{"team-*@conference.example.org"}, Rate: 2.5, Burst: 5,
				Actions: []string{"kick", "mute"}, Granted: credential.ActionsOf(credential.Kick, credential.Mute)},
			{Name: "backend-b", AuthorizationSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Rate: 10, Burst: 10,
				Granted: credential.ActionsOf(credential.DefaultActions...)},
		},
		CredentialKeyFile:  "credential.key",
		CredentialKeyFiles: []string{"old.key"},
		Revoked:            []string{"backend-c", "0123456789abcdef0123456789abcdef"},
		CredentialRate:     2.5,
		CredentialBurst:    4,
		MaxInFlight:        64,
		MaxConnections:     256,
		TLSCert:            "/etc/muc-kick/cert.pem",
		TLSKey:             "/etc/muc-kick/key.pem",
		TrustedProxies:     []string{"127.0.0.1", "10.0.0.0/8"},
	},
	Log:     Log{Level: "debug", Format: "json"},
	Metrics: Metrics{Listen: "127.0.0.1:9465"},
}

func TestGoodConfigRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/good.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*c, goodConfig) {
		t.Fatalf("Parse(good.toml)\n got %#v\nwant %#v", *c, goodConfig)
	}

	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("Parse of the encoded config: %v\n%s", err, buf.Bytes())
	}
	if !reflect.DeepEqual(again, c) {
		t.Errorf("encoded and parsed again\n got %#v\nwant %#v\n%s", *again, *c, buf.Bytes())
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Duration != 90*time.Second {
		t.Fatalf("UnmarshalText(1m30s) = %v, %v", d, err)
	}
	text, err := d.MarshalText()
	if err != nil || string(text) != "1m30s" {
		t.Errorf("MarshalText() = %q, %v; want 1m30s", text, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Errorf("UnmarshalText(soon) succeeded")
	}
	if got := fmt.Sprint(Duration{time.Second}); got != "1s" {
		t.Errorf("Sprint(Duration{time.Second}) = %q", got)
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug,
		"info":  slog.LevelInfo,
		"warn":  slog.LevelWarn,
		"error": slog.LevelError,
	} {
		if got := (Log{Level: level}).SlogLevel(); got != want {
			t.Errorf("Log{Level: %q}.SlogLevel() = %v, want %v", level, got, want)
		}
	}
}

// writeFile writes data to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSecretFile(t *testing.T) {
	secretFile := func(name string) string {
		return doc(map[string]string{"component.secret": "", "component.secret_file": fmt.Sprintf("%q", name)})
	}

	t.Run("relative to the config file", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		dir := t.TempDir()
		writeFile(t, dir, "secret", "from config dir\n")
		c, err := Load(writeFile(t, dir, "config.toml", secretFile("secret")))
		if err != nil {
			t.Fatal(err)
		}
		if c.Component.Secret != "from config dir" {
			t.Errorf("Secret = %q", c.Component.Secret)
		}
		if c.Component.SecretFile != "secret" {
			t.Errorf("SecretFile = %q, want it as written", c.Component.SecretFile)
		}
	})

	t.Run("relative to CREDENTIALS_DIRECTORY", func(t *testing.T) {
		creds := t.TempDir()
		t.Setenv("CREDENTIALS_DIRECTORY", creds)
		writeFile(t, creds, "secret", "from credentials\r\n\t \n")
		dir := t.TempDir()
		writeFile(t, dir, "secret", "from config dir\n")
		c, err := Load(writeFile(t, dir, "config.toml", secretFile("secret")))
		if err != nil {
			t.Fatal(err)
		}
		if c.Component.Secret != "from credentials" {
			t.Errorf("Secret = %q", c.Component.Secret)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir())
		path := writeFile(t, t.TempDir(), "secret", "  leading space stays")
		c, err := Load(writeFile(t, t.TempDir(), "config.toml", secretFile(path)))
		if err != nil {
			t.Fatal(err)
		}
		if c.Component.Secret != "  leading space stays" {
			t.Errorf("Secret = %q", c.Component.Secret)
		}
	})

	t.Run("relative to the working directory without Load", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		dir := t.TempDir()
		writeFile(t, dir, "secret", "from working dir")
		t.Chdir(dir)
		c, err := Parse([]byte(secretFile("secret")))
		if err != nil {
			t.Fatal(err)
		}
		if c.Component.Secret != "" {
			t.Errorf("Parse read the secret file")
		}
		if err := c.ResolveSecret(); err != nil {
			t.Fatal(err)
		}
		if c.Component.Secret != "from working dir" {
			t.Errorf("Secret = %q", c.Component.Secret)
		}
	})

	t.Run("missing", func(t *testing.T) {
		creds := t.TempDir()
		t.Setenv("CREDENTIALS_DIRECTORY", creds)
		_, err := Load(writeFile(t, t.TempDir(), "config.toml", secretFile("secret")))
		want := fmt.Sprintf("config: component.secret_file: open %s: no such file or directory", filepath.Join(creds, "secret"))
		if err == nil || err.Error() != want {
			t.Errorf("Load error\n got %v\nwant %s", err, want)
		}
	})

	t.Run("empty", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		dir := t.TempDir()
		path := writeFile(t, dir, "secret", " \n\n")
		_, err := Load(writeFile(t, dir, "config.toml", secretFile("secret")))
		want := fmt.Sprintf("config: component.secret_file %q is empty", path)
		if err == nil || err.Error() != want {
			t.Errorf("Load error\n got %v\nwant %s", err, want)
		}
	})

	t.Run("inline secret", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		c, err := Parse([]byte(doc(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ResolveSecret(); err != nil || c.Component.Secret != "s3cret" {
			t.Errorf("ResolveSecret() = %v; Secret = %q", err, c.Component.Secret)
		}
	})
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	_, err := Load(path)
	want := fmt.Sprintf("config: open %s: no such file or directory", path)
	if err == nil || err.Error() != want {
		t.Errorf("Load error\n got %v\nwant %s", err, want)
	}
}

func TestSecretsAreNotPrinted(t *testing.T) {
	const (
		secret = "component-secret-value"
		header = "Basic aGVhZGVyLXNlY3JldA=="
	)
	const clientHeader = "Basic Y2xpZW50LXNlY3JldA=="
	c := goodConfig
	c.Component.Secret = secret
	c.HTTP.AuthorizationHeader = header
	c.HTTP.Clients = slices.Clone(c.HTTP.Clients)
	c.HTTP.Clients[0].AuthorizationHeader = clientHeader
	c.HTTP.CredentialKeys = [][]byte{[]byte("credential-key-value-0123456789abcdef")}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
		for _, v := range []any{c, &c, c.Component, &c.Component, c.HTTP, &c.HTTP, []Config{c}, map[string]HTTP{"h": c.HTTP}} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("config", "config", c, "ptr", &c, "component", c.Component, "http", c.HTTP)
	}
	outputs = append(outputs, buf.String())

	for _, out := range outputs {
		for _, s := range []string{secret, header, "aGVhZGVyLXNlY3JldA", "Y2xpZW50LXNlY3JldA", "credential-key-value", hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(header)))} {
			if strings.Contains(out, s) {
				t.Errorf("output holds a secret (%q):\n%s", s, out)
			}
		}
	}

	// What is printed is still useful.
	if got := fmt.Sprintf("%+v", c); !strings.Contains(got, "Domain:kick.example.org") || !strings.Contains(got, "Secret:[redacted]") ||
		!strings.Contains(got, "AuthorizationHeader:[redacted]") || !strings.Contains(got, "IQTimeout:15s") {
		t.Errorf("%%+v of a Config = %s", got)
	}
	if got := buf.String(); !strings.Contains(got, `"domain":"kick.example.org"`) || !strings.Contains(got, `"secret":"[redacted]"`) ||
		!strings.Contains(got, `"authorization_header":"[redacted]"`) || !strings.Contains(got, `"domains":["conference.example.org","chat.example.net"]`) {
		t.Errorf("slog output:\n%s", got)
	}
	// An unset secret shows as unset.
	c.Component.Secret = ""
	if got := fmt.Sprintf("%+v", c.Component); !strings.Contains(got, "Secret: ") {
		t.Errorf("%%+v of a Component without a secret = %s", got)
	}
}

// TestExample checks config.toml.example: it parses, the values of the keys
// it comments out ("#key = value") are the defaults, and it shows every key.
func TestExample(t *testing.T) {
	example, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	// The example's credentials are refused (TestExampleValuesRefused):
	// an operator replaces them, as this does.
	data := withRealSecrets(t, example)
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("config.toml.example: %v", err)
	}
	if c.Component.Secret == "" || c.HTTP.AuthorizationHeader == "" {
		t.Errorf("config.toml.example sets no example credentials")
	}

	defaults := regexp.MustCompile(`(?m)^#([a-z_]+ = )`)
	if n := len(defaults.FindAll(data, -1)); n < 10 {
		t.Fatalf("config.toml.example comments out %d defaults as #key = value; the pattern is stale", n)
	}
	withDefaults, err := Parse(defaults.ReplaceAll(data, []byte("$1")))
	if err != nil {
		t.Fatalf("config.toml.example with the defaults uncommented: %v", err)
	}
	if !reflect.DeepEqual(withDefaults, c) {
		t.Errorf("a commented-out value in config.toml.example is not the default:\n got %+v\nwant %+v", withDefaults, c)
	}

	// Every key is shown, as a default, a value or an alternative
	// ("#   secret_file = ...").
	every := regexp.MustCompile(`(?m)^#\s*([a-z0-9_]+ = |\[\[[a-z.]+\]\])`).ReplaceAll(data, []byte("$1"))
	md, err := toml.Decode(string(every), new(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	shown := make(map[string]bool)
	for _, k := range md.Keys() {
		shown[k.String()] = true
	}
	for key := range schema(reflect.TypeFor[Config]()) {
		if !shown[key] {
			t.Errorf("config.toml.example does not show %s", key)
		}
	}
}

// withRealSecrets replaces the example credentials of config.toml.example
// with others, as an operator does.
func withRealSecrets(t *testing.T, example []byte) []byte {
	t.Helper()
	r := strings.NewReplacer(
		`secret = "change-me"`, `secret = "a real secret"`,
		`authorization_header = "Basic dXNlcm5hbWU6cGFzc3dvcmQ="`, `authorization_header = "Basic dGVzdDp0ZXN0LXNlY3JldA=="`)
	data := []byte(r.Replace(string(example)))
	if bytes.Equal(data, example) {
		t.Fatal("config.toml.example no longer holds the example credentials this test replaces")
	}
	return data
}

// TestExampleValuesRefused checks that the credentials config.toml.example
// and the Debian conffile ship (commented out there, with the same sed as
// the Makefile's) are refused wherever they are uncommented or copied.
func TestExampleValuesRefused(t *testing.T) {
	example, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	conffile := regexp.MustCompile(`(?m)^(domain|secret|domains|authorization_header) = `).ReplaceAll(example, []byte("#$0"))
	uncommented := regexp.MustCompile(`(?m)^#((domain|secret|domains|authorization_header) = )`).ReplaceAll(conffile, []byte("$1"))
	for name, data := range map[string][]byte{"config.toml.example": example, "the Debian conffile, uncommented": uncommented} {
		_, err := Parse(data)
		const want = "config: component.secret is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", name, err, want)
		}
	}
	sum := sha256.Sum256([]byte("Basic dXNlcm5hbWU6cGFzc3dvcmQ="))
	for set, want := range map[string]string{
		`"Basic dXNlcm5hbWU6cGFzc3dvcmQ="`: "config: http.authorization_header is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)",
	} {
		if _, err := Parse([]byte(doc(map[string]string{"http.authorization_header": set}))); err == nil || err.Error() != want {
			t.Errorf("authorization_header = %s: got %v, want %s", set, err, want)
		}
	}
	for client, want := range map[string]string{
		`authorization_header = "Basic …"`:                                             `config: http.client "a" authorization_header is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)`,
		`authorization_sha256 = "` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`: `config: http.client "a" authorization_sha256 is the sum of the example header from config.toml.example, which anyone can read; choose a real credential`,
	} {
		data := doc(nil) + "[[http.client]]\nname = \"a\"\n" + client + "\n"
		if _, err := Parse([]byte(data)); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", client, err, want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret"), []byte("change-me\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.toml"), []byte(doc(map[string]string{"component.secret": "", "component.secret_file": `"secret"`})), 0o600)
	const want = "config: component.secret_file is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)"
	if _, err := Load(filepath.Join(dir, "c.toml")); err == nil || err.Error() != want {
		t.Errorf("a secret_file holding change-me: got %v, want %s", err, want)
	}
}

// FuzzParse checks that Parse does not panic, that its errors are single
// lines naming what is wrong rather than BurntSushi/toml's decoding errors,
// and that what it accepts survives encoding and parsing again.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, "../../config.toml.example")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "config: ") || strings.HasPrefix(msg, "config: toml:") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(c); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of the encoded config: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("encoded and parsed again\n got %#v\nwant %#v", *again, *c)
		}
	})
}

// TestClients covers [[http.client]] entries and the other credentials.
func TestClients(t *testing.T) {
	const base = "[component]\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n"
	sum := strings.Repeat("ab", 32)
	const argon = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, tc := range []struct {
		name, http, err string
	}{
		{"client instead of the header", "[[http.client]]\nname = \"a\"\nauthorization_sha256 = \"" + sum + "\"\n", ""},
		{"key file instead of the header", "[http]\ncredential_key_file = \"k\"\n", ""},
		{"no name", "[[http.client]]\nauthorization_header = \"Basic x\"\n", `config: http.client[0].name is required`},
		{"bad name", "[[http.client]]\nname = \"a b\"\nauthorization_header = \"Basic x\"\n", `config: http.client[0].name "a b" may hold only letters, digits and "-_."`},
		{"same name", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic y\"\n", `config: http.client[1].name "a" is used twice`},
		{"no credential", "[[http.client]]\nname = \"a\"\n", `config: http.client "a": set exactly one of authorization_header, authorization_sha256 and authorization_argon2id`},
		{"both credentials", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nauthorization_sha256 = \"" + sum + "\"\n", `config: http.client "a": set exactly one of authorization_header, authorization_sha256 and authorization_argon2id`},
		{"argon2id", "[[http.client]]\nname = \"a\"\nauthorization_argon2id = \"" + argon + "\"\n", ""},
		{"argon2id and header", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nauthorization_argon2id = \"" + argon + "\"\n", `config: http.client "a": set exactly one of authorization_header, authorization_sha256 and authorization_argon2id`},
		{"argon2id and sum", "[[http.client]]\nname = \"a\"\nauthorization_sha256 = \"" + sum + "\"\nauthorization_argon2id = \"" + argon + "\"\n", `config: http.client "a": set exactly one of authorization_header, authorization_sha256 and authorization_argon2id`},
		{"argon2id malformed", "[[http.client]]\nname = \"a\"\nauthorization_argon2id = \"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n", `config: http.client "a": authorization_argon2id must be an argon2id hash such as "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (muc-kick credential hash makes one)`},
		{"argon2id weak", "[[http.client]]\nname = \"a\"\nauthorization_argon2id = \"$argon2id$v=19$m=16,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n", `config: http.client "a": authorization_argon2id argon2id memory m=16 KiB is outside 8192 to 262144`},
		{"actions", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nactions = [\"kick\", \"occupants\"]\n", ""},
		{"unknown action", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nactions = [\"kick\", \"fly\"]\n", `config: http.client "a": actions: unknown action "fly"; the actions are kick,ban,unban,mute,unmute,occupants,retract`},
		{"action twice", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nactions = [\"kick\", \"kick\"]\n", `config: http.client "a": actions: action "kick" is listed twice`},
		{"short hash", "[[http.client]]\nname = \"a\"\nauthorization_sha256 = \"abcd\"\n", `config: http.client "a": authorization_sha256 must be 64 hex digits (printf %s 'Basic …' | sha256sum)`},
		{"shared credential", "[http]\nauthorization_header = \"Basic x\"\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\n", `config: http.client "a" has the same credential as http.authorization_header`},
		{"room elsewhere", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrooms = [\"*@elsewhere.org\"]\n", `config: http.client "a": rooms[0] "*@elsewhere.org" is not on one of muc.domains`},
		{"room without node", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrooms = [\"conference.example.org\"]\n", `config: http.client "a": rooms[0] "conference.example.org" must be room@service, such as "*@conference.example.org"`},
		{"negative rate", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrate = -1\n", `config: http.client "a": rate and burst must not be negative`},
		{"unknown client key", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nroom = [\"a@conference.example.org\"]\n", `config: unknown key "http.client.room"`},
		{"client as a table", "[http.client]\nname = \"a\"\n", `config: http.client: expected an array of tables ([[http.client]]), got table`},
		{"rate not a number", "[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrate = \"fast\"\n", `config: http.client[0].rate: expected number, got string`},
		{"old keys without a current one", "[http]\nauthorization_header = \"Basic x\"\ncredential_key_files = [\"old\"]\n", `config: http.credential_key_files lists older keys; set http.credential_key_file to the current one`},
		{"half TLS", "[http]\nauthorization_header = \"Basic x\"\ntls_cert = \"c.pem\"\n", `config: set both http.tls_cert and http.tls_key, or neither`},
		{"revoked names and ids", "[http]\nauthorization_header = \"Basic x\"\nrevoked = [\"old-backend\", \"5f0c3e5a9d1b47c2a8e6f04b7d9c1e23\", \"cafe\"]\n", ""},
		{"revoked id shortened", "[http]\nauthorization_header = \"Basic x\"\nrevoked = [\"old-backend\", \"5f0c3e5a\"]\n", `config: http.revoked[1] "5f0c3e5a" looks like a shortened token id, which revokes nothing: give all 32 hex digits, as muc-kick credential and the audit log (credential_id) print them`},
		{"revoked neither", "[http]\nauthorization_header = \"Basic x\"\nrevoked = [\"shop backend#5f0c3e5a\"]\n", `config: http.revoked[0] "shop backend#5f0c3e5a" is neither a client name (letters, digits and "-_.") nor a token id`},
		{"credential rate negative", "[http]\nauthorization_header = \"Basic x\"\ncredential_rate = -1.0\n", `config: http.credential_rate and http.credential_burst must not be negative`},
		{"room pattern normalized", "[http]\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrooms = [\"ＴＥＡＭ*@conference.example.org\", \"*cafe\u0301*@conference.example.org\"]\n", ""},
		{"room pattern ambiguous", "[http]\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrooms = [\"\ufb01*@conference.example.org\"]\n", `config: http.client "a": rooms[0] "ﬁ*@conference.example.org" has a piece of room name, "ﬁ", that servers would refuse or could read differently: it is not a valid XMPP localpart (precis: disallowed rune encountered); letters, digits and ASCII punctuation are`},
		{"room pattern fullwidth at", "[http]\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrooms = [\"a\uff20b*@conference.example.org\"]\n", `config: http.client "a": rooms[0] "a＠b*@conference.example.org" has a character a room name cannot hold`},
		{"trusted proxies", "[http]\nauthorization_header = \"Basic x\"\ntrusted_proxies = [\"127.0.0.1\", \"::1\", \"10.0.0.0/8\"]\n", ""},
		{"trusted proxy not an address", "[http]\nauthorization_header = \"Basic x\"\ntrusted_proxies = [\"::1\", \"localhost\"]\n", `config: http.trusted_proxies[1] must be an IP address or a CIDR prefix such as "10.0.0.0/8", got "localhost"`},
		{"max_in_flight", "[http]\nauthorization_header = \"Basic x\"\nmax_in_flight = 0\n", `config: http.max_in_flight must be at least 1, got 0`},
		{"max_connections", "[http]\nauthorization_header = \"Basic x\"\nmax_connections = 0\n", `config: http.max_connections must be at least 1, got 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base + tc.http))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.err {
				t.Fatalf("got %v\nwant %s (%+v)", err, tc.err, c)
			}
		})
	}
}

func TestClientDefaultsAndKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("k", 32)
	os.WriteFile(filepath.Join(dir, "current.key"), []byte(key+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "old.key"), []byte(strings.Repeat("o", 40)), 0o600)
	os.WriteFile(filepath.Join(dir, "short.key"), []byte("short"), 0o600)
	write := func(http string) string {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte("[component]\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n"+http), 0o600)
		return p
	}
	c, err := Load(write("[http]\ncredential_key_file = \"current.key\"\ncredential_key_files = [\"old.key\"]\n[[http.client]]\nname = \"a\"\nauthorization_header = \"Basic x\"\nrate = 2.5\nrooms = [\"Team-*@Conference.Example.org\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.CredentialKeys) != 2 || string(c.HTTP.CredentialKeys[0]) != key {
		t.Errorf("keys %q", c.HTTP.CredentialKeys)
	}
	if cl := c.HTTP.Clients[0]; cl.Burst != 2 || cl.Rooms[0] != "team-*@conference.example.org" {
		t.Errorf("client %+v: burst defaults to the rate, rooms are lower-cased", cl)
	}
	if _, err := Load(write("[http]\ncredential_key_file = \"current.key\"\ncredential_key_files = [\"short.key\"]\n")); err == nil ||
		!strings.HasPrefix(err.Error(), "config: http.credential_key_files[0]: the key in ") || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short old key: %v", err)
	}
}

// TestRevokedIDIsLowerCased: an upper-case id revoked nothing, since token
// ids are lower-case hex.
func TestRevokedIDIsLowerCased(t *testing.T) {
	c, err := Parse([]byte("[component]\ndomain = \"kick.example.org\"\nsecret = \"s\"\n[muc]\ndomains = [\"conference.example.org\"]\n[http]\nauthorization_header = \"Basic x\"\nrevoked = [\"Shop-Backend\", \"5F0C3E5A9D1B47C2A8E6F04B7D9C1E23\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Shop-Backend", "5f0c3e5a9d1b47c2a8e6f04b7d9c1e23"}; !slices.Equal(c.HTTP.Revoked, want) {
		t.Errorf("revoked %q, want %q (names as they are, ids lower case)", c.HTTP.Revoked, want)
	}
}

// TestSecretValuesNotShown checks that no error shows the value of a key
// that holds a secret, whatever its TOML type: the decoder quotes some
// values bare ("314159265358979323846264 is out of range for int64").
func TestSecretValuesNotShown(t *testing.T) {
	values := []string{"314159265358979323846264", "0xdeadbeefdeadbeefdeadbeef", "0o777777777777777777777777",
		"0b1010101010101010101010101010101010101010101010101010101010101010101", "1e99999", "2024-13-45",
		"123_456__789", "correcthorse", "{correcthorse = 1}", "{a = correcthorse}", "[correcthorse]"}
	keys := map[string]string{
		"component.secret":                    "[component]\nsecret = ",
		"http.authorization_header":           "[http]\nauthorization_header = ",
		"http.client.authorization_header":    "[[http.client]]\nname = \"a\"\nauthorization_header = ",
		"http.client.authorization_sha256":    "[[http.client]]\nname = \"a\"\nauthorization_sha256 = ",
		"http.client[0].authorization_header": "[[http.client]]\nname = \"a\"\n[http.client.authorization_header]\ncorrecthorse = 1\n#",
	}
	secret := regexp.MustCompile(`correcthorse|31415926|deadbeef|7777777|10101010|99999|2024-13|123_456`)
	for key, prefix := range keys {
		for _, v := range values {
			_, err := Parse([]byte(prefix + v + "\n"))
			if err == nil {
				t.Errorf("%s = %s: no error", key, v)
				continue
			}
			if s := secret.FindString(err.Error()); s != "" {
				t.Errorf("%s = %s: the error shows %q: %v", key, v, s, err)
			}
			name := strings.Replace(key, "[0]", "", 1)
			if !strings.Contains(strings.Replace(err.Error(), "[0]", "", 1), name) {
				t.Errorf("%s = %s: the error does not name the key: %v", key, v, err)
			}
		}
	}
}

func TestWarnings(t *testing.T) {
	c, err := Parse([]byte(doc(nil) + "[[http.client]]\nname = \"old\"\nauthorization_sha256 = \"" + strings.Repeat("ab", 32) + "\"\n[[http.client]]\nname = \"new\"\nauthorization_argon2id = \"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`http.client "old": authorization_sha256 is an unsalted fast hash in a file others may read: a weak password can be found from it offline; use authorization_argon2id (muc-kick credential hash makes it)`}
	if got := c.Warnings(); !slices.Equal(got, want) {
		t.Errorf("Warnings() = %q, want %q", got, want)
	}
}

func TestComponentServerWarning(t *testing.T) {
	for server, warns := range map[string]bool{
		"127.0.0.1:5347": false, "[::1]:5347": false, "localhost:5347": false, "127.0.0.53:5347": false,
		"192.0.2.1:5347": true, "xmpp.example.org:5347": true, "[2001:db8::1]:5347": true,
	} {
		c, err := Parse([]byte(doc(map[string]string{"component.server": strconv.Quote(server)})))
		if err != nil {
			t.Fatal(err)
		}
		want := []string(nil)
		if warns {
			want = []string{"component.server " + strconv.Quote(server) + " is not on loopback: XEP-0114 is plain TCP with a SHA-1 handshake, so anyone on the path can read the stream and try the secret offline; run muc-kick on the server's host, or keep the link on a private network or in a TLS tunnel"}
		}
		if got := c.Warnings(); !slices.Equal(got, want) {
			t.Errorf("%s: Warnings() = %q, want %q", server, got, want)
		}
	}
}

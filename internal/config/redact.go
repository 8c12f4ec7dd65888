package config

import (
	"fmt"
	"log/slog"
)

// redacted replaces a secret that is set; an unset one stays empty, so that
// the output still shows whether it was given.
func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue implements slog.LogValuer: it logs c as a group of groups, with
// the secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Attr{Key: "component", Value: c.Component.LogValue()},
		slog.Group("muc",
			slog.Any("domains", c.MUC.Domains),
			slog.String("nick", c.MUC.Nick),
			slog.String("room_policy", c.MUC.RoomPolicy),
			slog.Duration("linger", c.MUC.Linger.Duration),
			slog.Duration("max_idle", c.MUC.MaxIdle.Duration),
			slog.Int64("max_rooms", c.MUC.MaxRooms)),
		slog.Attr{Key: "http", Value: c.HTTP.LogValue()},
		slog.Group("log",
			slog.String("level", c.Log.Level),
			slog.String("format", c.Log.Format)),
	)
}

// LogValue implements slog.LogValuer: it logs c as a group, with the secret
// redacted.
func (c Component) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("server", c.Server),
		slog.String("domain", c.Domain),
		slog.String("secret", redacted(c.Secret)),
		slog.String("secret_file", c.SecretFile),
		slog.Duration("iq_timeout", c.IQTimeout.Duration),
		slog.Duration("connect_timeout", c.ConnectTimeout.Duration),
	)
}

// LogValue implements slog.LogValuer: it logs h as a group, with the
// authorization header redacted.
func (h HTTP) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", h.Listen),
		slog.String("path", h.Path),
		slog.String("authorization_header", redacted(h.AuthorizationHeader)),
		slog.Int64("max_body_bytes", h.MaxBodyBytes),
		slog.Any("clients", clientNames(h.Clients)),
		slog.Int("credential_keys", len(h.CredentialKeys)),
	)
}

// Format implements fmt.Formatter: c prints as a struct does, for any verb,
// with the secrets redacted.
func (c Config) Format(f fmt.State, verb rune) {
	type redactedConfig Config // without methods; Component and HTTP redact themselves
	fmt.Fprintf(f, fmt.FormatString(f, verb), redactedConfig(c))
}

// Format implements fmt.Formatter: c prints as a struct does, for any verb,
// with the secret redacted.
func (c Component) Format(f fmt.State, verb rune) {
	type redactedComponent Component // without methods
	c.Secret = redacted(c.Secret)
	fmt.Fprintf(f, fmt.FormatString(f, verb), redactedComponent(c))
}

// Format implements fmt.Formatter: h prints as a struct does, for any verb,
// with the authorization header redacted.
func (h HTTP) Format(f fmt.State, verb rune) {
	type redactedHTTP HTTP // without methods
	h.AuthorizationHeader = redacted(h.AuthorizationHeader)
	if h.CredentialKeys != nil {
		h.CredentialKeys = [][]byte{[]byte("[redacted]")}
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), redactedHTTP(h))
}

func clientNames(cs []Client) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

// Format implements fmt.Formatter: cl prints as a struct does, for any verb,
// with its authorization header redacted.
func (cl Client) Format(f fmt.State, verb rune) {
	type redactedClient Client // without methods
	cl.AuthorizationHeader = redacted(cl.AuthorizationHeader)
	fmt.Fprintf(f, fmt.FormatString(f, verb), redactedClient(cl))
}

// LogValue implements slog.LogValuer: the client's name and scope, no secret.
func (cl Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", cl.Name), slog.Any("rooms", cl.Rooms), slog.Float64("rate", cl.Rate),
		slog.String("actions", cl.Granted.String()))
}

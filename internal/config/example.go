package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// exampleSecrets are the placeholder credentials that config.toml.example
// (and the Debian conffile made from it) and the documentation ship: a
// daemon that accepted them would accept what anyone can read.
var exampleSecrets = map[string]bool{
	"change-me":                      true, // component.secret, and Prosody's component_secret in the comments
	"change-me-muc-kick-secret":      true, // docs/operations.md's Prosody example
	"Basic dXNlcm5hbWU6cGFzc3dvcmQ=": true, // "username:password"
	"Basic …":                        true, // [[http.client]]'s authorization_header
}

// exampleSHA256 are the hex SHA-256 sums of the example headers, which the
// example tells how to compute for authorization_sha256.
var exampleSHA256 = func() map[string]bool {
	sums := make(map[string]bool)
	for v := range exampleSecrets {
		s := sha256.Sum256([]byte(v))
		sums[hex.EncodeToString(s[:])] = true
	}
	return sums
}()

// checkNotExample refuses v, the value of the secret key, if it is one of
// the example values; the message does not repeat it.
func checkNotExample(key, v string) error {
	if exampleSecrets[v] {
		return fmt.Errorf("config: %s is the example value from config.toml.example, which anyone can read; choose a real one (openssl rand -base64 24 makes one)", key)
	}
	return nil
}

// checkExamples refuses every secret of c that is an example value.
func (c *Config) checkExamples() error {
	if err := checkNotExample("component.secret", c.Component.Secret); err != nil {
		return err
	}
	if err := checkNotExample("http.authorization_header", c.HTTP.AuthorizationHeader); err != nil {
		return err
	}
	for _, cl := range c.HTTP.Clients {
		key := fmt.Sprintf("http.client %q", cl.Name)
		if err := checkNotExample(key+" authorization_header", cl.AuthorizationHeader); err != nil {
			return err
		}
		if exampleSHA256[cl.AuthorizationSHA256] {
			return fmt.Errorf("config: %s authorization_sha256 is the sum of the example header from config.toml.example, which anyone can read; choose a real credential", key)
		}
	}
	return nil
}

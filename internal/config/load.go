package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/muc-kick/muc-kick/internal/credential"
)

// Load reads the configuration file at path, parses it as Parse does, and
// reads the secret from component.secret_file, if that is set, as
// ResolveSecret does. A relative secret_file is resolved against
// $CREDENTIALS_DIRECTORY if that is set, else against the directory that
// holds the configuration file. Every secret file (component.secret_file,
// http.credential_key_file(s), http.tls_key) must pass CheckPrivate.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	c.dir, c.path = filepath.Dir(path), path
	if err := c.ResolveSecret(); err != nil {
		return nil, err
	}
	if err := c.readCredentialKeys(); err != nil {
		return nil, err
	}
	if c.HTTP.TLSCert != "" {
		c.HTTP.TLSCert, c.HTTP.TLSKey = c.resolve(c.HTTP.TLSCert), c.resolve(c.HTTP.TLSKey)
		if err := CheckPrivate("http.tls_key", c.HTTP.TLSKey); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Parse decodes a configuration file's contents, fills in defaults and
// validates the result. It does not read component.secret_file; see
// ResolveSecret.
func Parse(data []byte) (*Config, error) {
	c := defaults()
	if err := decode(string(data), c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.checkExamples(); err != nil {
		return nil, err
	}
	return c, nil
}

// ResolveSecret reads the component secret from component.secret_file, if
// that is set, into Component.Secret. It strips trailing white space, such as
// the final newline, and refuses a file that holds nothing else.
//
// An absolute secret_file is read as it is. A relative one is resolved
// against $CREDENTIALS_DIRECTORY when that is set, which is where systemd puts
// the credentials of a unit's LoadCredential= lines, so that "secret_file =
// "secret"" goes with "LoadCredential=secret:/etc/muc-kick/secret". Otherwise
// it is resolved against the directory of the configuration file, if Load
// read it, or else against the working directory.
func (c *Config) ResolveSecret() error {
	name := c.Component.SecretFile
	if name == "" {
		return nil
	}
	name = c.resolve(name)
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("config: component.secret_file: %w", err)
	}
	if err := CheckPrivate("component.secret_file", name); err != nil {
		return err
	}
	secret := strings.TrimRightFunc(string(data), unicode.IsSpace)
	if secret == "" {
		return fmt.Errorf("config: component.secret_file %q is empty", name)
	}
	if err := checkNotExample("component.secret_file", secret); err != nil {
		return err
	}
	c.Component.Secret = secret
	return nil
}

// resolve finds a relative file name as ResolveSecret describes.
func (c *Config) resolve(name string) string {
	if !filepath.IsAbs(name) {
		if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
			return filepath.Join(dir, name)
		} else if c.dir != "" {
			return filepath.Join(c.dir, name)
		}
	}
	return name
}

// readCredentialKeys reads http.credential_key_file and
// http.credential_key_files into HTTP.CredentialKeys.
func (c *Config) readCredentialKeys() error {
	c.HTTP.CredentialKeys = nil
	for i, name := range append([]string{c.HTTP.CredentialKeyFile}, c.HTTP.CredentialKeyFiles...) {
		if name == "" {
			continue
		}
		k := "http.credential_key_file"
		if i > 0 {
			k = fmt.Sprintf("http.credential_key_files[%d]", i-1)
		}
		key, err := credential.ReadKey(c.resolve(name))
		if err != nil {
			return fmt.Errorf("config: %s: %s", k, strings.TrimPrefix(err.Error(), "credential: "))
		}
		if err := CheckPrivate(k, c.resolve(name)); err != nil {
			return err
		}
		c.HTTP.CredentialKeys = append(c.HTTP.CredentialKeys, key)
	}
	return nil
}

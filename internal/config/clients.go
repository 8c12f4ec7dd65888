package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/muc-kick/muc-kick/internal/credential"
)

// checkClients checks the [[http.client]] entries and fills in defaults.
func (c *Config) checkClients() error {
	names := map[string]bool{}
	hashes := map[string]string{}
	if c.HTTP.AuthorizationHeader != "" {
		sum := sha256.Sum256([]byte(c.HTTP.AuthorizationHeader))
		hashes[hex.EncodeToString(sum[:])] = "http.authorization_header"
	}
	for i := range c.HTTP.Clients {
		cl := &c.HTTP.Clients[i]
		key := fmt.Sprintf("http.client[%d]", i)
		if cl.Name == "" {
			return fmt.Errorf("config: %s.name is required", key)
		}
		if !ValidName(cl.Name) {
			return fmt.Errorf("config: %s.name %q may hold only letters, digits and \"-_.\"", key, cl.Name)
		}
		if names[cl.Name] {
			return fmt.Errorf("config: %s.name %q is used twice", key, cl.Name)
		}
		names[cl.Name] = true
		key = fmt.Sprintf("http.client %q", cl.Name)
		sum, err := checkClientCredential(key, cl)
		if err != nil {
			return err
		}
		if other, ok := hashes[sum]; ok {
			return fmt.Errorf("config: %s has the same credential as %s", key, other)
		}
		hashes[sum] = key
		if err := c.checkClientLimits(key, cl); err != nil {
			return err
		}
	}
	return nil
}

// checkClientCredential checks the credential of the client cl, named key
// in errors, lower-cases its authorization_sha256, and returns a value that
// two clients with the same credential share.
func checkClientCredential(key string, cl *Client) (sum string, err error) {
	switch {
	case countSet(cl.AuthorizationHeader, cl.AuthorizationSHA256, cl.AuthorizationArgon2id) != 1:
		return "", fmt.Errorf("config: %s: set exactly one of authorization_header, authorization_sha256 and authorization_argon2id", key)
	case cl.AuthorizationArgon2id != "":
		if _, err := credential.ParseArgon2id(cl.AuthorizationArgon2id); err != nil {
			return "", fmt.Errorf("config: %s: authorization_argon2id %v", key, err)
		}
		sum = cl.AuthorizationArgon2id // salted: equal credentials do not show
	case cl.AuthorizationHeader != "":
		if err := checkHeader(key+" authorization_header", cl.AuthorizationHeader); err != nil {
			return "", err
		}
		h := sha256.Sum256([]byte(cl.AuthorizationHeader))
		sum = hex.EncodeToString(h[:])
	default:
		sum = strings.ToLower(cl.AuthorizationSHA256)
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return "", fmt.Errorf("config: %s: authorization_sha256 must be 64 hex digits (printf %%s 'Basic …' | sha256sum)", key)
		}
		cl.AuthorizationSHA256 = sum
	}
	return sum, nil
}

// checkClientLimits checks the rooms, actions and rate of the client cl,
// named key in errors, and fills in their defaults.
func (c *Config) checkClientLimits(key string, cl *Client) error {
	for j, p := range cl.Rooms {
		norm, err := NormalizeRoomPattern(p, c.MUC.Domains)
		if err != nil {
			return fmt.Errorf("config: %s: rooms[%d] %q %v", key, j, p, err)
		}
		cl.Rooms[j] = norm
	}
	granted, err := credential.ParseActions(cl.Actions)
	if err != nil {
		return fmt.Errorf("config: %s: actions: %v", key, err)
	}
	cl.Granted = granted
	if cl.Rate < 0 || cl.Burst < 0 {
		return fmt.Errorf("config: %s: rate and burst must not be negative", key)
	}
	if cl.Rate > 0 && cl.Burst == 0 {
		cl.Burst = max(1, int64(cl.Rate))
	}
	return nil
}

// countSet counts the values that are not empty.
func countSet(values ...string) (n int) {
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

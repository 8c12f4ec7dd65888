// Package credential issues and checks muc-kick's stateless signed
// credentials, after the design of Prosody's mod_http_oauth2 for dynamic
// client registration:
//
//	per_host_key := HMAC-SHA256(key, "muc-kick credential\x00" + host)
//	token        := JWT (HS256) { iss: host, sub: name, rooms, act, iat, exp, jti } signed with per_host_key
//
// The daemon holds only the key. A token carries everything needed to check
// it, so issuing a credential needs no restart and no storage; a token made
// for another host (another component domain) or with another key does not
// verify. Revocation is by name or token id (jti) in configuration, or by
// rotating the key.
package credential

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 32

// MaxTTL is the longest lifetime a credential may be issued with: a year
// and a day. A credential is a bearer secret; one that never expires
// outlives whoever remembers to revoke it.
const MaxTTL = 366 * 24 * time.Hour

// Errors of Verify.
var (
	ErrMalformed = errors.New("credential: not a muc-kick token")
	ErrSignature = errors.New("credential: bad signature (wrong key, wrong host, or tampered)")
	ErrExpired   = errors.New("credential: expired")
	ErrNotYet    = errors.New("credential: not valid yet")
)

// Claims are what a token says.
type Claims struct {
	Issuer   string   `json:"iss"`   // the host (component domain) it is for
	Name     string   `json:"sub"`   // the client's name, for logs and revocation
	Rooms    []string `json:"rooms"` // room patterns it may act on; empty: all
	IssuedAt int64    `json:"iat"`   // Unix seconds
	Expiry   int64    `json:"exp"`   // Unix seconds
	ID       string   `json:"jti"`   // random nonce: the token id
	// Rate and Burst, if Rate is set, limit the requests of this
	// credential (a second, and at once) in place of the daemon's
	// http.credential_rate and http.credential_burst.
	Rate  float64 `json:"rate,omitempty"`
	Burst int     `json:"burst,omitempty"`
	// Actions are the actions it may take; none: DefaultActions, the
	// rights every credential had before actions existed.
	Actions []string `json:"act,omitempty"`
}

// Granted returns the actions c may take.
func (c Claims) Granted() (Actions, error) { return ParseActions(c.Actions) }

// Grant is what a credential is issued for.
type Grant struct {
	Name    string   // the client's name, for logs and revocation
	Rooms   []string // room patterns; none: every room of the MUC domains
	Actions []string // action names; none: DefaultActions
	// Rate and Burst, if Rate is set: requests a second on average, and at
	// once (0: as many as Rate).
	Rate  float64
	Burst int
}

// header is the fixed JWT header; tokens with any other are refused.
var header = b64([]byte(`{"alg":"HS256","typ":"JWT"}`))

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ReadKey reads a key file: its contents, less surrounding white space, are
// the key, at least MinKeyBytes long (`openssl rand -hex 32` makes one).
func ReadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	key := bytes.TrimSpace(data)
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("credential: the key in %s is %d bytes; at least %d are needed (openssl rand -hex 32)", path, len(key), MinKeyBytes)
	}
	return key, nil
}

// hostKey derives the per-host key from key.
func hostKey(key []byte, host string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("muc-kick credential\x00" + strings.ToLower(host)))
	return m.Sum(nil)
}

func sign(hk []byte, signingInput string) []byte {
	m := hmac.New(sha256.New, hk)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

// IssueGrant makes a token on host for what g says, valid for ttl (at
// most MaxTTL) from now.
func IssueGrant(key []byte, host string, g Grant, ttl time.Duration, now time.Time) (string, Claims, error) {
	name, rate, burst := g.Name, g.Rate, g.Burst
	if name == "" {
		return "", Claims{}, errors.New("credential: a name is required")
	}
	if rate < 0 || burst < 0 || rate == 0 && burst > 0 {
		return "", Claims{}, errors.New("credential: the rate and burst must not be negative, and a burst needs a rate")
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", Claims{}, fmt.Errorf("credential: the lifetime must be positive and at most %v (366 days)", MaxTTL)
	}
	if _, err := ParseActions(g.Actions); err != nil {
		return "", Claims{}, fmt.Errorf("credential: %w", err)
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", Claims{}, err
	}
	c := Claims{
		Issuer: strings.ToLower(host), Name: name, Rooms: g.Rooms, Actions: g.Actions,
		IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(), ID: hex.EncodeToString(nonce[:]),
		Rate: rate, Burst: burst,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, err
	}
	input := header + "." + b64(payload)
	return input + "." + b64(sign(hostKey(key, host), input)), c, nil
}

// Verify checks token against each of keys (the current one first, then
// older ones still accepted during a rotation) for host, and its validity at
// now. It returns the claims of a valid token.
func Verify(keys [][]byte, host, token string, now time.Time) (Claims, error) {
	var c Claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != header {
		return c, ErrMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != sha256.Size {
		return c, ErrMalformed
	}
	input := parts[0] + "." + parts[1]
	ok := false
	for _, k := range keys {
		if hmac.Equal(sig, sign(hostKey(k, host), input)) {
			ok = true
			break
		}
	}
	if !ok {
		return c, ErrSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, ErrMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Name == "" || c.ID == "" || c.Rate < 0 || c.Burst < 0 {
		return Claims{}, ErrMalformed
	}
	if _, err := c.Granted(); err != nil {
		return Claims{}, ErrMalformed
	}
	if !strings.EqualFold(c.Issuer, host) {
		return Claims{}, ErrSignature
	}
	switch t := now.Unix(); {
	case t >= c.Expiry:
		return c, fmt.Errorf("%w at %s", ErrExpired, time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	case t+60 < c.IssuedAt: // a minute of clock skew
		return c, ErrNotYet
	}
	return c, nil
}

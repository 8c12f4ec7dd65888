package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/credential"
)

// principal is who a request comes from, once authenticated.
type principal struct {
	name    string
	rooms   []string // patterns; none: every room
	limiter *bucket  // nil: no rate limit
}

// staticClient is a configured credential, kept as the SHA-256 of the full
// header value: comparing hashes in constant time leaks neither the value
// nor its length.
type staticClient struct {
	sum [sha256.Size]byte
	p   *principal
}

func (a *api) setUpAuth() {
	add := func(name, header, sum string, rooms []string, rate float64, burst int) {
		c := staticClient{p: &principal{name: name, rooms: rooms}}
		if header != "" {
			c.sum = sha256.Sum256([]byte(header))
			scheme, _, _ := strings.Cut(header, " ")
			if !slices.Contains(a.schemes, scheme) {
				a.schemes = append(a.schemes, scheme)
			}
		} else {
			b, _ := hex.DecodeString(sum) // validated by the configuration
			copy(c.sum[:], b)
		}
		if rate > 0 {
			c.p.limiter = newBucket(rate, burst, a.opts.Now())
		}
		a.clients = append(a.clients, c)
	}
	if a.opts.AuthorizationHeader != "" {
		add("default", a.opts.AuthorizationHeader, "", nil, 0, 0)
	}
	for _, c := range a.opts.Clients {
		add(c.Name, c.Header, c.SHA256, c.Rooms, c.Rate, c.Burst)
	}
	if len(a.opts.CredentialKeys) > 0 && !slices.Contains(a.schemes, "Bearer") {
		a.schemes = append(a.schemes, "Bearer")
	}
	if len(a.schemes) == 0 {
		a.schemes = []string{"Basic"}
	}
	a.revoked = make(map[string]bool)
	for _, r := range a.opts.Revoked {
		a.revoked[r] = true
	}
}

// authenticate finds the client an Authorization value belongs to.
func (a *api) authenticate(header string) (*principal, error) {
	if header == "" {
		return nil, fmt.Errorf("%w: it is missing", errUnauthorized)
	}
	sum := sha256.Sum256([]byte(header))
	var found *principal
	for _, c := range a.clients { // no early exit: every request costs the same
		if subtle.ConstantTimeCompare(sum[:], c.sum[:]) == 1 {
			found = c.p
		}
	}
	if found != nil {
		return found, nil
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || len(a.opts.CredentialKeys) == 0 {
		return nil, errUnauthorized
	}
	claims, err := credential.Verify(a.opts.CredentialKeys, a.opts.CredentialHost, token, a.opts.Now())
	switch {
	case errors.Is(err, credential.ErrExpired):
		return nil, fmt.Errorf("%w: the credential of %q expired", errUnauthorized, claims.Name)
	case err != nil:
		return nil, fmt.Errorf("%w: not a valid credential", errUnauthorized)
	case a.revoked[claims.Name] || a.revoked[claims.ID]:
		return nil, fmt.Errorf("%w: the credential of %q (id %s) is revoked", errUnauthorized, claims.Name, claims.ID)
	}
	return &principal{name: claims.Name + "#" + claims.ID[:min(8, len(claims.ID))], rooms: claims.Rooms}, nil
}

// allow applies the client's rate limit.
func (p *principal) allow(now time.Time) error {
	if p.limiter == nil {
		return nil
	}
	if wait := p.limiter.take(now); wait > 0 {
		return &rateLimitError{base: errRateLimited, client: p.name, wait: wait}
	}
	return nil
}

// rateLimitError is a 429: base is errRateLimited (a client's rate) or
// errThrottled (an address's failed authentication), client who waits.
type rateLimitError struct {
	base   error
	client string
	wait   time.Duration
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("%v: %q may try again in %s", e.base, e.client, e.wait.Round(time.Millisecond))
}

func (e *rateLimitError) Unwrap() error { return e.base }

// mayActOn reports whether the client's rooms cover room.
func (p *principal) mayActOn(room string) bool {
	if len(p.rooms) == 0 {
		return true
	}
	for _, pat := range p.rooms {
		if MatchRoom(pat, room) {
			return true
		}
	}
	return false
}

// MatchRoom reports whether room (a canonical bare JID) matches pattern, in
// which "*" stands for any text, including none. Both are in canonical form
// (see muc.ParseRoom).
//
// It takes time linear in len(room) + len(pattern), whatever the number of
// stars: the text before the first star must begin the room, the text after
// the last must end it, and each piece between stars is taken at its
// leftmost place after the previous one. Taking the leftmost place is never
// wrong, since a star can stretch over whatever a later place would have
// skipped, so nothing is ever tried twice (no backtracking).
func MatchRoom(pattern, room string) bool {
	first, rest, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == room
	}
	if !strings.HasPrefix(room, first) {
		return false
	}
	room = room[len(first):]
	middle, last := "", rest
	if i := strings.LastIndexByte(rest, '*'); i >= 0 {
		middle, last = rest[:i], rest[i+1:]
	}
	if !strings.HasSuffix(room, last) {
		return false
	}
	room = room[:len(room)-len(last)]
	for piece := range strings.SplitSeq(middle, "*") {
		i := strings.Index(room, piece)
		if i < 0 {
			return false
		}
		room = room[i+len(piece):]
	}
	return true
}

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	b := float64(max(burst, 1))
	return &bucket{rate: rate, burst: b, tokens: b, last: now}
}

// take takes one token, or says how long until one is there.
func (b *bucket) take(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

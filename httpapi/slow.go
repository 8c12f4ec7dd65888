package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Verifying a value against argon2id hashes costs tens of milliseconds and
// 19 MiB (with credential.HashArgon2id's parameters) for each hash, so it is bounded:
//
//   - a value verified once is remembered (slowAuth.verified), so a client
//     pays argon2id once, not on each kick;
//   - an address whose authentications fail is throttled before its value
//     is looked at (guard), so one address gets about one verification a
//     second after its first DefaultFailureBurst;
//   - all addresses together start at most argonRate verifications a second
//     (argonBurst at once); beyond, a value not verified before is answered
//     503 with Retry-After, while those verified before still pass;
//   - verifications run one at a time, so their memory is one hash's.
const (
	argonRate   = 10
	argonBurst  = 20
	maxVerified = 1024 // values remembered; beyond, an arbitrary one is forgotten
)

// errVerifyBusy: too many values to verify against argon2id hashes.
var errVerifyBusy = errors.New("too many new credentials to verify at once; try again shortly")

// slowAuth holds the clients known by an argon2id hash, and the values
// verified against them. A value is remembered by its HMAC-SHA256 under a
// random key: neither the value nor a fast unkeyed hash of it is kept.
type slowAuth struct {
	clients []staticClient
	key     [32]byte

	mu       sync.Mutex
	verified map[[sha256.Size]byte]*principal
}

func newSlowAuth() *slowAuth {
	s := &slowAuth{verified: make(map[[sha256.Size]byte]*principal)}
	_, _ = rand.Read(s.key[:]) // never fails (crypto/rand)
	return s
}

func (s *slowAuth) id(value string) (id [sha256.Size]byte) {
	mac := hmac.New(sha256.New, s.key[:])
	mac.Write([]byte(value))
	mac.Sum(id[:0])
	return id
}

// cached returns the client value was verified for before; nil if none.
func (s *slowAuth) cached(value string) *principal {
	if s == nil {
		return nil
	}
	id := s.id(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified[id]
}

func (s *slowAuth) remember(value string, p *principal) {
	id := s.id(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.verified) >= maxVerified {
		for k := range s.verified {
			delete(s.verified, k)
			break
		}
	}
	s.verified[id] = p
}

// argonGate bounds the argon2id verifications of the whole handler; it
// outlives the authStates that Update replaces.
type argonGate struct {
	limit *rate.Limiter
	mu    sync.Mutex // one verification at a time
	runs  int        // verifications of a value against the hashes, for tests
}

func newArgonGate() *argonGate {
	return &argonGate{limit: rate.NewLimiter(argonRate, argonBurst)}
}

// verify checks value against s's hashes and remembers a match; nil, nil
// if none matches; errVerifyBusy if too many verifications were asked for.
func (g *argonGate) verify(s *slowAuth, value string, now time.Time) (*principal, error) {
	// Each hash a value is checked against is one verification: with many
	// argon2id clients, a value costs more (at most a burst's worth).
	if !g.limit.AllowN(now, min(max(len(s.clients), 1), argonBurst)) {
		return nil, errVerifyBusy
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if p := s.cached(value); p != nil { // verified while this one waited
		return p, nil
	}
	g.runs++
	for _, c := range s.clients {
		if c.argon.Verify([]byte(value)) {
			s.remember(value, c.p)
			return c.p, nil
		}
	}
	return nil, nil
}

package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/internal/credential"
	"golang.org/x/time/rate"
)

// principal is who a request comes from, once authenticated.
type principal struct {
	name    string
	id      string   // a signed credential's token id; "" for a configured client
	rooms   []string // patterns; none: every room
	actions credential.Actions
	limiter *rate.Limiter // nil: no rate limit
}

// staticClient is a configured credential, kept as the SHA-256 of the full
// header value (comparing hashes in constant time leaks neither the value
// nor its length), or as its argon2id hash.
type staticClient struct {
	sum   [sha256.Size]byte
	argon *credential.Argon2id // instead of sum
	phc   string               // the argon2id hash as configured
	p     *principal
	rate  float64
	burst int
}

// authState is what Update replaces: the configured clients, the revoked
// names and ids, the schemes for WWW-Authenticate, and the clients known by
// an argon2id hash with the values verified against them.
type authState struct {
	clients []staticClient
	keys    [][]byte // verify signed credentials
	revoked map[string]bool
	schemes []string
	slow    *slowAuth // nil: no argon2id client
}

// Auth is the part of Options that SIGHUP can change without a restart.
type Auth struct {
	// AuthorizationHeader is the exact Authorization value of
	// mod_http_muc_kick's single credential; its client is named "default".
	AuthorizationHeader string
	Clients             []Client // named clients
	// Revoked lists refused names and token ids of signed credentials.
	Revoked []string
	// CredentialRate and CredentialBurst limit each signed credential that
	// carries no rate of its own: requests a second, and at once; rate 0:
	// no limit.
	CredentialRate  float64
	CredentialBurst int
	// CredentialKeys verify signed credentials: the first signs, the others
	// are kept while their tokens are still in use.
	CredentialKeys [][]byte
}

// buildAuth makes the state for auth; old, if not nil, is the state it
// replaces, whose clients keep their rate limiter when their name, rate and
// burst are unchanged.
func (a *api) buildAuth(auth Auth, old *authState) *authState {
	st := &authState{revoked: make(map[string]bool), keys: auth.CredentialKeys}
	if auth.AuthorizationHeader != "" {
		// mod_http_muc_kick's single credential: the whole trust of a
		// one-backend setup.
		st.add(Client{Name: "default", Header: auth.AuthorizationHeader, Actions: credential.Everything}, old)
	}
	for _, c := range auth.Clients {
		if err := st.add(c, old); err != nil {
			a.log.Error("httpapi: client refused", "client", c.Name, "err", err)
		}
	}
	if len(st.keys) > 0 && !slices.Contains(st.schemes, "Bearer") {
		st.schemes = append(st.schemes, "Bearer")
	}
	if len(st.schemes) == 0 {
		st.schemes = []string{"Basic"}
	}
	for _, r := range auth.Revoked {
		st.revoked[r] = true
	}
	return st
}

// add adds a configured client, which keeps the rate limiter of the one of
// its name in old, if any, when its rate and burst are unchanged.
func (st *authState) add(cl Client, old *authState) error {
	acts := cl.Actions
	if acts == 0 {
		acts = credential.ActionsOf(credential.DefaultActions...)
	}
	c := staticClient{p: &principal{name: cl.Name, rooms: cl.Rooms, actions: acts}, rate: cl.Rate, burst: cl.Burst}
	switch {
	case cl.Header != "":
		c.sum = sha256.Sum256([]byte(cl.Header))
		scheme, _, _ := strings.Cut(cl.Header, " ")
		if !slices.Contains(st.schemes, scheme) {
			st.schemes = append(st.schemes, scheme)
		}
	case cl.Argon2id != "":
		h, err := credential.ParseArgon2id(cl.Argon2id) // validated by the configuration
		if err != nil {
			return err
		}
		c.argon, c.phc = &h, cl.Argon2id
		if st.slow == nil {
			st.slow = newSlowAuth()
		}
	default:
		b, _ := hex.DecodeString(cl.SHA256) // validated by the configuration
		copy(c.sum[:], b)
	}
	if cl.Rate > 0 {
		c.p.limiter = rate.NewLimiter(rate.Limit(cl.Rate), max(cl.Burst, 1))
		if old != nil {
			for _, o := range old.clients {
				if o.p.name == cl.Name && o.rate == cl.Rate && o.burst == cl.Burst {
					c.p.limiter = o.p.limiter
				}
			}
		}
	}
	st.clients = append(st.clients, c)
	if c.argon != nil {
		st.slow.clients = append(st.slow.clients, c)
	}
	return nil
}

// Update replaces the configured clients, the revoked credentials and the
// default rate of signed credentials, as SIGHUP does, and says what
// changed, for the log: names of clients added, removed and changed (a new
// credential, rooms or rate), and revocation entries added and removed.
func (h *Handler) Update(auth Auth) (changes []string) {
	a := h.api
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.auth.Load()
	st := a.buildAuth(auth, old)
	before := map[string]staticClient{}
	for _, c := range old.clients {
		before[c.p.name] = c
	}
	for _, c := range st.clients {
		o, ok := before[c.p.name]
		switch {
		case !ok:
			changes = append(changes, "client "+c.p.name+" added")
		case o.sum != c.sum || o.phc != c.phc || !slices.Equal(o.p.rooms, c.p.rooms) || o.p.actions != c.p.actions || o.rate != c.rate || o.burst != c.burst:
			changes = append(changes, "client "+c.p.name+" changed")
		}
		delete(before, c.p.name)
	}
	for _, name := range slices.Sorted(maps.Keys(before)) {
		changes = append(changes, "client "+name+" removed")
	}
	for _, r := range slices.Sorted(maps.Keys(st.revoked)) {
		if !old.revoked[r] {
			changes = append(changes, "revoked "+r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(old.revoked)) {
		if !st.revoked[r] {
			changes = append(changes, "no longer revoked "+r)
		}
	}
	if auth.CredentialRate != a.credRate.rate || auth.CredentialBurst != a.credRate.burst {
		changes = append(changes, fmt.Sprintf("signed credentials' default rate %g/s, burst %d", auth.CredentialRate, auth.CredentialBurst))
		a.credRate = rateSpec{auth.CredentialRate, auth.CredentialBurst}
	}
	a.auth.Store(st)
	return changes
}

// rateSpec is a rate limit: requests a second, and at once.
type rateSpec struct {
	rate  float64
	burst int
}

// errInvalidCredential is a Bearer value that is no signed credential.
var errInvalidCredential = fmt.Errorf("%w: not a valid credential", errUnauthorized)

// authenticate finds the client an Authorization value belongs to: a
// configured one by its header or SHA-256, then one verified by its argon2id
// hash before (cached), then a signed credential, then, paying argon2id, a
// configured one by its hash.
func (a *api) authenticate(header string) (*principal, error) {
	if header == "" {
		return nil, fmt.Errorf("%w: it is missing", errUnauthorized)
	}
	st := a.auth.Load()
	sum := sha256.Sum256([]byte(header))
	var found *principal
	for _, c := range st.clients { // no early exit: every request costs the same
		if c.argon == nil && subtle.ConstantTimeCompare(sum[:], c.sum[:]) == 1 {
			found = c.p
		}
	}
	if found != nil {
		return found, nil
	}
	if p := st.slow.cached(header); p != nil {
		return p, nil
	}
	err := errUnauthorized
	if token, ok := strings.CutPrefix(header, "Bearer "); ok && len(st.keys) > 0 {
		var p *principal
		if p, err = a.signed(st, token); !errors.Is(err, errInvalidCredential) {
			return p, err
		}
	}
	if st.slow != nil {
		if p, serr := a.argon.verify(st.slow, header, a.opts.Now()); p != nil || serr != nil {
			return p, serr
		}
	}
	return nil, err
}

// signed verifies a signed credential.
func (a *api) signed(st *authState, token string) (*principal, error) {
	claims, err := credential.Verify(st.keys, a.opts.CredentialHost, token, a.opts.Now())
	switch {
	case errors.Is(err, credential.ErrExpired):
		return nil, fmt.Errorf("%w: the credential of %q expired (id %s)", errUnauthorized, claims.Name, claims.ID)
	case err != nil:
		return nil, errInvalidCredential
	case st.revoked[claims.Name] || st.revoked[claims.ID]:
		return nil, fmt.Errorf("%w: the credential of %q (id %s) is revoked", errUnauthorized, claims.Name, claims.ID)
	}
	acts, err := claimedActions(claims)
	if err != nil {
		return nil, fmt.Errorf("%w: the credential of %q (id %s) lists an %v", errUnauthorized, claims.Name, claims.ID, err)
	}
	return &principal{name: claims.Name, id: claims.ID, rooms: claims.Rooms, actions: acts, limiter: a.credentialLimiter(claims)}, nil
}

// claimedActions are the actions a signed credential grants: those of its
// "act" claim, or credential.DefaultActions when it has none.
func claimedActions(c credential.Claims) (credential.Actions, error) {
	return c.Granted()
}

// maxCredentialLimiters bounds the rate limiters of signed credentials.
// Only a valid token gets one, so there are as many as the credentials
// issued and in use; beyond this, those idle long enough to be full again
// are dropped.
const maxCredentialLimiters = 10000

// credentialLimiter returns the rate limiter of a signed credential: its
// own rate, if it carries one, else the configured default; nil for none.
func (a *api) credentialLimiter(c credential.Claims) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	spec := a.credRate
	if c.Rate > 0 {
		spec = rateSpec{c.Rate, c.Burst}
	}
	if spec.rate <= 0 {
		return nil
	}
	if spec.burst <= 0 {
		spec.burst = max(1, int(spec.rate))
	}
	if l := a.credLimits[c.ID]; l != nil && l.Limit() == rate.Limit(spec.rate) && l.Burst() == spec.burst {
		return l
	}
	now := a.opts.Now()
	if len(a.credLimits) >= maxCredentialLimiters {
		for id, l := range a.credLimits {
			if full(l, now) {
				delete(a.credLimits, id)
			}
		}
	}
	for id := range a.credLimits { // still full: one makes room, at random
		if len(a.credLimits) < maxCredentialLimiters {
			break
		}
		delete(a.credLimits, id)
	}
	l := rate.NewLimiter(rate.Limit(spec.rate), spec.burst)
	a.credLimits[c.ID] = l // kept, so that this credential's next request is limited
	return l
}

// allow applies the client's rate limit.
func (p *principal) allow(now time.Time) error {
	if p.limiter == nil {
		return nil
	}
	if wait := take(p.limiter, now); wait > 0 {
		return &rateLimitError{base: errRateLimited, client: p.name, wait: wait}
	}
	return nil
}

// take takes one token of l at now, or says how long until one is there.
func take(l *rate.Limiter, now time.Time) time.Duration {
	if l.AllowN(now, 1) {
		return 0
	}
	return time.Duration((1 - l.TokensAt(now)) / float64(l.Limit()) * float64(time.Second))
}

// full reports whether l has refilled to its burst by now.
func full(l *rate.Limiter, now time.Time) bool {
	return l.TokensAt(now) >= float64(l.Burst())
}

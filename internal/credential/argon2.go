package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The parameters HashArgon2id uses: OWASP's first recommendation for
// argon2id (19 MiB, 2 passes, 1 lane), a 16-byte salt, a 32-byte hash.
const (
	Argon2Memory  = 19 * 1024 // KiB
	Argon2Time    = 2
	Argon2Threads = 1
	argon2Salt    = 16
	argon2KeyLen  = 32
)

// Bounds ParseArgon2id accepts: weaker parameters make brute force cheap,
// stronger ones let a configuration file make each check cost the daemon
// more memory or time than it should.
const (
	minArgon2Memory = 8 * 1024   // KiB
	maxArgon2Memory = 256 * 1024 // KiB
	maxArgon2Time   = 10
	maxArgon2Lanes  = 16
)

// Argon2id is a parsed argon2id hash in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Hash    []byte
}

// ErrArgon2id says what a PHC string must look like.
var ErrArgon2id = errors.New(`must be an argon2id hash such as "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (muc-kick credential hash makes one)`)

// HashArgon2id hashes secret with a random salt and the parameters above,
// and returns it as a PHC string.
func HashArgon2id(secret []byte) (string, error) {
	salt := make([]byte, argon2Salt)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := Argon2id{Memory: Argon2Memory, Time: Argon2Time, Threads: Argon2Threads, Salt: salt}
	h.Hash = argon2.IDKey(secret, salt, h.Time, h.Memory, h.Threads, argon2KeyLen)
	return h.String(), nil
}

// String returns h in the PHC string format.
func (h Argon2id) String() string {
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads, b.EncodeToString(h.Salt), b.EncodeToString(h.Hash))
}

// ParseArgon2id reads a PHC string and checks its form and that its
// parameters are sane: version 19, memory 8 MiB to 256 MiB, 1 to 10
// passes, 1 to 16 lanes, a salt of 8 to 64 bytes, a hash of 16 to 64. Its
// errors do not repeat s.
func ParseArgon2id(s string) (Argon2id, error) {
	var h Argon2id
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, ErrArgon2id
	}
	var m, t, p uint64
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); n != 3 || err != nil || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) {
		return h, ErrArgon2id
	}
	var err1, err2 error
	h.Salt, err1 = base64.RawStdEncoding.Strict().DecodeString(parts[4])
	h.Hash, err2 = base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return h, ErrArgon2id
	}
	switch {
	case m < minArgon2Memory || m > maxArgon2Memory:
		return h, fmt.Errorf("argon2id memory m=%d KiB is outside %d to %d", m, minArgon2Memory, maxArgon2Memory)
	case t < 1 || t > maxArgon2Time:
		return h, fmt.Errorf("argon2id passes t=%d is outside 1 to %d", t, maxArgon2Time)
	case p < 1 || p > maxArgon2Lanes:
		return h, fmt.Errorf("argon2id lanes p=%d is outside 1 to %d", p, maxArgon2Lanes)
	case len(h.Salt) < 8 || len(h.Salt) > 64:
		return h, fmt.Errorf("argon2id salt is %d bytes; 8 to 64 are needed", len(h.Salt))
	case len(h.Hash) < 16 || len(h.Hash) > 64:
		return h, fmt.Errorf("argon2id hash is %d bytes; 16 to 64 are needed", len(h.Hash))
	}
	h.Memory, h.Time, h.Threads = uint32(m), uint32(t), uint8(p)
	return h, nil
}

// Verify reports whether secret hashes to h. It costs what h's parameters
// say (some 20 ms with HashArgon2id's): a caller checking each request
// should cache the results it verified.
func (h Argon2id) Verify(secret []byte) bool {
	got := argon2.IDKey(secret, h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Hash)))
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}

package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The parameters HashArgon2id uses: OWASP's recommendation for argon2id
// (19 MiB, 2 passes, 1 lane), a 16-byte salt and a 32-byte hash.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters of a configured hash, so that a typo cannot make
// every verification take gigabytes or minutes.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

var b64 = base64.RawStdEncoding

// HashArgon2id returns the argon2id hash of an Authorization value, with a
// random salt, in the PHC string format that Client.Argon2id (the
// configuration's authorization_argon2id) takes:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashArgon2id(value string) (string, error) {
	if value == "" {
		return "", errors.New("httpapi: nothing to hash")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("httpapi: salt: %w", err)
	}
	key := argon2.IDKey([]byte(value), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckArgon2id reports whether s is an argon2id hash in the PHC string
// format that Client.Argon2id takes, with parameters within bounds (memory
// at most 256 MiB, at most 16 passes and 16 lanes, a salt of at least 8
// bytes, a hash of 16 to 64). Its message never holds s.
func CheckArgon2id(s string) error {
	_, err := parseArgon2id(s)
	return err
}

// argonHash is a parsed PHC argon2id string.
type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(s string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errors.New("not an argon2id hash in PHC format: $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, fmt.Errorf("argon2id version %q; only v=%d is supported", parts[2], argon2.Version)
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", h.memory, h.time, threads) != parts[3] {
		return h, errors.New("argon2id parameters must read m=<KiB>,t=<passes>,p=<lanes>")
	}
	switch {
	case h.time < 1 || h.time > maxArgonTime:
		return h, fmt.Errorf("argon2id t=%d: passes must be 1 to %d", h.time, maxArgonTime)
	case threads < 1 || threads > maxArgonThreads:
		return h, fmt.Errorf("argon2id p=%d: lanes must be 1 to %d", threads, maxArgonThreads)
	case h.memory < 8*threads || h.memory > maxArgonMemory:
		return h, fmt.Errorf("argon2id m=%d: memory must be 8×p to %d KiB", h.memory, maxArgonMemory)
	}
	h.threads = uint8(threads)
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errors.New("argon2id salt must be unpadded base64 of at least 8 bytes")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, errors.New("argon2id hash must be unpadded base64 of 16 to 64 bytes")
	}
	return h, nil
}

// verify reports whether value hashes to h, comparing in constant time.
func (h argonHash) verify(value string) bool {
	key := argon2.IDKey([]byte(value), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

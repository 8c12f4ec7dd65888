package credential

import (
	"strings"
	"testing"
)

func TestArgon2id(t *testing.T) {
	s, err := HashArgon2id([]byte("Basic c2hvcDpzM2NyM3Q="))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashArgon2id = %s", s)
	}
	h, err := ParseArgon2id(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != s {
		t.Errorf("round trip: %s, want %s", h, s)
	}
	if !h.Verify([]byte("Basic c2hvcDpzM2NyM3Q=")) || h.Verify([]byte("Basic c2hvcDpzM2NyM3Q")) {
		t.Error("Verify does not tell the secret from another")
	}
	if again, _ := HashArgon2id([]byte("Basic c2hvcDpzM2NyM3Q=")); again == s {
		t.Error("two hashes of one secret are equal: no salt")
	}
	// RFC 9106's parameters, from another implementation (the reference
	// argon2 CLI): echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -e
	ref, err := ParseArgon2id("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	if err != nil {
		t.Fatal(err)
	}
	if !ref.Verify([]byte("password")) {
		t.Error("the reference hash of \"password\" does not verify")
	}
}

func TestParseArgon2idRefuses(t *testing.T) {
	salt, hash := "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, tt := range []struct{ s, err string }{
		{"", ErrArgon2id.Error()},
		{"$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=19$m=65536,t=2$" + salt + "$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=19$m=65536,t=2,p=1,x=1$" + salt + "$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "=$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash + "$", ErrArgon2id.Error()},
		{"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + hash, "argon2id memory m=1024 KiB is outside 8192 to 262144"},
		{"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + hash, "argon2id memory m=4194304 KiB is outside 8192 to 262144"},
		{"$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + hash, ErrArgon2id.Error()},
		{"$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + hash, "argon2id passes t=0 is outside 1 to 10"},
		{"$argon2id$v=19$m=65536,t=11,p=1$" + salt + "$" + hash, "argon2id passes t=11 is outside 1 to 10"},
		{"$argon2id$v=19$m=65536,t=2,p=17$" + salt + "$" + hash, "argon2id lanes p=17 is outside 1 to 16"},
		{"$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + hash, "argon2id lanes p=0 is outside 1 to 16"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c29t$" + hash, "argon2id salt is 3 bytes; 8 to 64 are needed"},
		{"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$CTFhFdXP", "argon2id hash is 6 bytes; 16 to 64 are needed"},
	} {
		if _, err := ParseArgon2id(tt.s); err == nil || err.Error() != tt.err {
			t.Errorf("ParseArgon2id(%q) = %v, want %s", tt.s, err, tt.err)
		}
	}
}

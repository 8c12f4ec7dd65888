package credential

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	key    = []byte("0123456789abcdef0123456789abcdef")
	other  = []byte("fedcba9876543210fedcba9876543210")
	host   = "kick.example.org"
	issued = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
)

func TestIssueAndVerify(t *testing.T) {
	tok, c, err := IssueGrant(key, host, Grant{Name: "backend-a", Rooms: []string{"team-*@conference.example.org"}}, time.Hour, issued)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify([][]byte{key}, "Kick.Example.org", tok, issued.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "backend-a" || got.ID != c.ID || len(got.ID) != 32 || got.Rooms[0] != "team-*@conference.example.org" {
		t.Errorf("claims %+v", got)
	}
	tok2, c2, _ := IssueGrant(key, host, Grant{Name: "backend-a", Rooms: nil}, time.Hour, issued)
	if tok2 == tok || c2.ID == c.ID {
		t.Error("two credentials with the same claims must differ by their nonce")
	}
}

func TestVerifyRefuses(t *testing.T) {
	tok, _, _ := IssueGrant(key, host, Grant{Name: "backend-a", Rooms: []string{"a@conference.example.org"}}, time.Hour, issued)
	parts := strings.Split(tok, ".")
	forged := func(payload string) string {
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + parts[2]
	}
	for _, tc := range []struct {
		name  string
		keys  [][]byte
		host  string
		token string
		at    time.Time
		want  error
	}{
		{"wrong key", [][]byte{other}, host, tok, issued, ErrSignature},
		{"wrong host", [][]byte{key}, "kick.example.net", tok, issued, ErrSignature},
		{"expired", [][]byte{key}, host, tok, issued.Add(time.Hour), ErrExpired},
		{"issued in the future", [][]byte{key}, host, tok, issued.Add(-2 * time.Minute), ErrNotYet},
		{"rooms widened", [][]byte{key}, host, forged(`{"iss":"kick.example.org","sub":"backend-a","rooms":[],"iat":1,"exp":9999999999,"jti":"x"}`), issued, ErrSignature},
		{"signature flipped", [][]byte{key}, host, parts[0] + "." + parts[1] + "." + flip(parts[2]), issued, ErrSignature},
		{"alg none", [][]byte{key}, host, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", issued, ErrMalformed},
		{"two parts", [][]byte{key}, host, parts[0] + "." + parts[1], issued, ErrMalformed},
		{"empty", [][]byte{key}, host, "", issued, ErrMalformed},
		{"garbage signature", [][]byte{key}, host, parts[0] + "." + parts[1] + ".!!!", issued, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(tc.keys, tc.host, tc.token, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestRotation(t *testing.T) {
	old, _, _ := IssueGrant(key, host, Grant{Name: "a", Rooms: nil}, time.Hour, issued)
	if _, err := Verify([][]byte{other, key}, host, old, issued); err != nil {
		t.Fatalf("a token of the old key must verify while the old key is listed: %v", err)
	}
	if _, err := Verify([][]byte{other}, host, old, issued); !errors.Is(err, ErrSignature) {
		t.Fatalf("after the old key is dropped: %v", err)
	}
}

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("  "+string(key)+"\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("too short\n"), 0o600)
	if k, err := ReadKey(good); err != nil || string(k) != string(key) {
		t.Errorf("ReadKey(good) = %q, %v", k, err)
	}
	if _, err := ReadKey(short); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("ReadKey(short) = %v", err)
	}
	if _, err := ReadKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("ReadKey(missing) succeeded")
	}
}

func TestIssueWithRate(t *testing.T) {
	tok, _, err := IssueGrant(key, host, Grant{Name: "a", Rate: 2.5, Burst: 5}, time.Hour, issued)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify([][]byte{key}, host, tok, issued)
	if err != nil || c.Rate != 2.5 || c.Burst != 5 {
		t.Errorf("claims %+v, %v", c, err)
	}
	for _, bad := range [][2]float64{{-1, 0}, {1, -1}, {0, 3}} {
		if _, _, err := IssueGrant(key, host, Grant{Name: "a", Rate: bad[0], Burst: int(bad[1])}, time.Hour, issued); err == nil {
			t.Errorf("rate %v burst %v accepted", bad[0], bad[1])
		}
	}
}

func TestIssueRefusesLongLifetimes(t *testing.T) {
	if _, c, err := IssueGrant(key, host, Grant{Name: "a", Rate: 0, Burst: 0}, MaxTTL, issued); err != nil || c.Expiry != issued.Add(366*24*time.Hour).Unix() {
		t.Errorf("MaxTTL: %v %+v", err, c)
	}
	for _, ttl := range []time.Duration{MaxTTL + time.Second, 2562047 * time.Hour, 0, -time.Hour} {
		if _, _, err := IssueGrant(key, host, Grant{Name: "a", Rate: 0, Burst: 0}, ttl, issued); err == nil || err.Error() != "credential: the lifetime must be positive and at most 8784h0m0s (366 days)" {
			t.Errorf("ttl %v: %v", ttl, err)
		}
	}
}

func TestActionsClaim(t *testing.T) {
	tok, _, err := IssueGrant(key, host, Grant{Name: "mod", Actions: []string{"kick", "mute"}}, time.Hour, issued)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify([][]byte{key}, host, tok, issued)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Granted(); err != nil || got != ActionsOf(Kick, Mute) {
		t.Errorf("granted %v %v, want kick,mute", got, err)
	}
	// A token without "act", as every one issued before actions existed:
	// exactly the rights it had.
	old, _, _ := IssueGrant(key, host, Grant{Name: "old", Rate: 0, Burst: 0}, time.Hour, issued)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(old, ".")[1])
	if strings.Contains(string(payload), `"act"`) {
		t.Errorf("a token without actions carries %s", payload)
	}
	c, err = Verify([][]byte{key}, host, old, issued)
	if got, _ := c.Granted(); err != nil || got != ActionsOf(DefaultActions...) {
		t.Errorf("no actions: granted %v %v, want %v", got, err, ActionsOf(DefaultActions...))
	}
	if _, _, err := IssueGrant(key, host, Grant{Name: "x", Actions: []string{"kick", "fly"}}, time.Hour, issued); err == nil || !strings.Contains(err.Error(), `unknown action "fly"`) {
		t.Errorf("an unknown action: %v", err)
	}
	// A signed token with an unknown action is refused, not read as none.
	bad := signedPayload(t, `{"iss":"kick.example.org","sub":"x","rooms":null,"iat":1,"exp":99999999999,"jti":"ab","act":["fly"]}`)
	if _, err := Verify([][]byte{key}, host, bad, issued); !errors.Is(err, ErrMalformed) {
		t.Errorf("an unknown action in a signed token: %v", err)
	}
}

// signedPayload signs payload as Issue would.
func signedPayload(t *testing.T, payload string) string {
	t.Helper()
	input := header + "." + b64([]byte(payload))
	return input + "." + b64(sign(hostKey(key, host), input))
}

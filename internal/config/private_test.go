package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretFilePermissions checks that every secret file that group or
// others could read is refused at startup, with one line that names the
// file and the fix, and that what systemd's LoadCredential= makes passes.
func TestSecretFilePermissions(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	base := "[component]\ndomain = \"kick.example.org\"\n%s\n[muc]\ndomains = [\"conference.example.org\"]\n[http]\nauthorization_header = \"Basic x\"\n%s\n"
	key := strings.Repeat("k", 32)
	for _, tc := range []struct {
		key, component, http, file, content string
	}{
		{"component.secret_file", `secret_file = "f"`, "", "f", "s3cret\n"},
		{"http.credential_key_file", `secret = "s"`, `credential_key_file = "f"`, "f", key},
		{"http.credential_key_files[0]", `secret = "s"`, "credential_key_file = \"ok\"\ncredential_key_files = [\"f\"]", "f", key},
		{"http.tls_key", `secret = "s"`, "tls_cert = \"cert.pem\"\ntls_key = \"f\"", "f", "key"},
	} {
		for mode, want := range map[os.FileMode]string{
			0o600: "",
			0o400: "",
			0o640: "", // the group is the test's own
			0o440: "",
			0o644: "config: %s: %s is open to other users (mode 0644); chmod 600 %[2]s (muc-kick refuses a secret that others can read)",
			0o604: "config: %s: %s is open to other users (mode 0604); chmod 600 %[2]s (muc-kick refuses a secret that others can read)",
			0o660: "config: %s: %s is writable by its group (mode 0660); chmod 600 %[2]s",
		} {
			t.Run(fmt.Sprintf("%s %04o", tc.key, mode), func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, dir, "ok", key)
				f := writeFile(t, dir, tc.file, tc.content)
				if err := os.Chmod(f, mode); err != nil {
					t.Fatal(err)
				}
				_, err := Load(writeFile(t, dir, "c.toml", fmt.Sprintf(base, tc.component, tc.http)))
				switch {
				case want == "" && err != nil:
					t.Errorf("refused: %v", err)
				case want != "" && (err == nil || err.Error() != fmt.Sprintf(want, tc.key, f)):
					t.Errorf("error\n got %v\nwant %s", err, fmt.Sprintf(want, tc.key, f))
				}
			})
		}
	}
}

// TestSecretFileOfAnotherGroup needs root, to give a file away.
func TestSecretFileOfAnotherGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a file to another user or group")
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	dir := t.TempDir()
	f := writeFile(t, dir, "secret", "s3cret")
	os.Chmod(f, 0o640)
	os.Chown(f, 0, 54321)
	c := &Config{Component: Component{SecretFile: f}}
	want := fmt.Sprintf("config: component.secret_file: %s is readable by group 54321, which muc-kick is not in (mode 0640); chmod 600 %[1]s, or chgrp it to muc-kick's group", f)
	if err := c.ResolveSecret(); err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
	os.Chmod(f, 0o600)
	os.Chown(f, 54321, 0)
	want = fmt.Sprintf("config: component.secret_file: %s belongs to user 54321, who could change it; chown root %[1]s (or pass it with systemd's LoadCredential=)", f)
	if err := c.ResolveSecret(); err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
}

// TestLoadCredentialCopy checks a file as systemd's LoadCredential= leaves
// it: mode 0400 in a 0500 directory named by $CREDENTIALS_DIRECTORY.
func TestLoadCredentialCopy(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	os.Mkdir(creds, 0o700)
	f := writeFile(t, creds, "secret", "s3cret\n")
	os.Chmod(f, 0o400)
	os.Chmod(creds, 0o500)
	t.Cleanup(func() { os.Chmod(creds, 0o700) })
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	c := &Config{Component: Component{SecretFile: "secret"}}
	if err := c.ResolveSecret(); err != nil || c.Component.Secret != "s3cret" {
		t.Errorf("ResolveSecret() = %v, secret %q", err, c.Component.Secret)
	}
}

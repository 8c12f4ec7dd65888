package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// imageMaxBytes is the most the image may weigh (issue 25).
const imageMaxBytes = 20_000_000

// TestContainerImage builds the image with `make image` and runs a real
// kick through it: the container, with contrib/container/config.toml
// mounted read-only and the component secret as a mounted file, connects to
// a throw-away Prosody on the host; a kick posted to the container's port
// reaches the occupant as a status-307 presence; the image's health check
// answers; and SIGTERM (podman stop) ends it with exit code 0 within
// http.shutdown_grace. It runs in the sandbox contrib/container/compose.yaml
// sets: a read-only root, no capabilities, no privilege gain.
//
// Podman runs with contrib/container/containers.conf and a storage of its
// own in a temporary directory (vfs), so that the test leaves nothing in
// the machine's images, and with the host's network (the container reaches
// Prosody on loopback, and the test the container). It needs podman, runc
// and make: missing, they skip the test, or fail it under CI.
func TestContainerImage(t *testing.T) {
	xmpptest.SkipIfShort(t)
	pm := newPodman(t)
	version := "test-" + randomID()
	image := "localhost/muc-kick-test:" + version

	start := time.Now()
	build := exec.Command("make", "image", "CONTAINER_ENGINE="+strings.Join(pm.command(), " "),
		"IMAGE="+image, "VERSION="+version, "IMAGE_DIR="+filepath.Join(t.TempDir(), "image"))
	build.Env = pm.env()
	t.Cleanup(func() { pm.run(t, "rmi", "--force", image) })
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image took %s", time.Since(start).Round(time.Millisecond))
	checkImage(t, pm, image, version)

	srv := xmpptest.StartProsody(t)
	dir := t.TempDir()
	port := testkit.FreePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	config, secret := writeContainerConfig(t, dir, srv, port)
	name := "muc-kick-test-" + randomID()
	t.Cleanup(func() { pm.run(t, "rm", "--force", "--volumes", name) })
	if _, err := pm.run(t, "run", "--detach", "--name", name, "--network=host",
		// compose.yaml's sandbox
		"--read-only", "--cap-drop=all", "--security-opt=no-new-privileges",
		"--volume", config+":/etc/muc-kick/config.toml:ro",
		"--volume", secret+":/run/secrets/component-secret:ro",
		"--health-cmd", `["/muc-kick", "healthcheck", "-url", "`+url+`/healthz"]`,
		"--health-interval=disable", image); err != nil {
		t.Fatalf("podman run: %v", err)
	}
	logs := func() string { return pm.logs(t, name) }
	defer func() {
		if t.Failed() {
			t.Logf("container log:\n%s", logs())
			t.Logf("%s log:\n%s", srv.Kind, srv.Log())
		}
	}()

	(&daemon{url: url}).waitReady(t, true, 30*time.Second)
	if out, err := pm.run(t, "healthcheck", "run", name); err != nil {
		t.Errorf("podman healthcheck run: %v: %s", err, out)
	}
	kickWorks(t, newKickClient(), url, srv, "container@"+srv.MUCDomain, "kicked from a container")

	// The stop timeout is http.shutdown_grace (30 s: config.toml leaves
	// the default): had muc-kick not exited by then, podman would kill it,
	// and the exit code would be 137.
	stopped := time.Now()
	if out, err := pm.run(t, "stop", "--time", "30", name); err != nil {
		t.Fatalf("podman stop: %v: %s", err, out)
	}
	t.Logf("podman stop took %s", time.Since(stopped).Round(time.Millisecond))
	out, err := pm.run(t, "inspect", "--format", "{{.State.ExitCode}}", name)
	if err != nil {
		t.Fatalf("podman inspect: %v", err)
	}
	if code := strings.TrimSpace(out); code != "0" {
		t.Errorf("exit code %s after SIGTERM, want 0", code)
	}
	log := logs()
	for _, want := range []string{`msg="shutting down: finishing kicks in flight, leaving rooms"`, "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the container's log lacks %s", want)
		}
	}
}

// checkImage checks what `make image` promises of image: under 20 MB, a
// non-root numeric user, the version in the labels and the OCI
// annotations, and a binary that says that version.
func checkImage(t *testing.T, pm podman, image, version string) {
	t.Helper()
	out, err := pm.run(t, "image", "inspect", image)
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var inspect []struct {
		Size        int64
		User        string
		Labels      map[string]string
		Annotations map[string]string
	}
	if err := json.Unmarshal([]byte(out), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v: %s", err, out)
	}
	img := inspect[0]
	t.Logf("image %s: %.1f MB", image, float64(img.Size)/1e6)
	if img.Size <= 0 || img.Size >= imageMaxBytes {
		t.Errorf("the image weighs %d bytes, want under %d", img.Size, imageMaxBytes)
	}
	if uid, _, _ := strings.Cut(img.User, ":"); uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("the image's user is %q, want a numeric user other than root", img.User)
	}
	const key = "org.opencontainers.image.version"
	if img.Labels[key] != version || img.Annotations[key] != version {
		t.Errorf("%s: label %q, annotation %q, want %q", key, img.Labels[key], img.Annotations[key], version)
	}
	if out, err := pm.run(t, "run", "--rm", "--network=host", image, "-version"); err != nil || !strings.HasPrefix(out, "muc-kick "+version+"\n") {
		t.Errorf("muc-kick -version in the image: %v: %q, want it to start with %q", err, out, "muc-kick "+version)
	}
	// The health check can fail: nothing listens on a free port.
	down := "http://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) + "/healthz"
	if out, err := pm.run(t, "run", "--rm", "--network=host", image, "healthcheck", "-url", down); err == nil {
		t.Errorf("the health check passed with nothing listening: %s", out)
	}
}

// writeContainerConfig writes, in dir, contrib/container/config.toml (the
// configuration compose.yaml mounts) with srv's domains and listener, and
// port to listen on, and the component secret in a file of its own,
// readable by the image's user alone. The configuration holds no secret
// (the API's credential is given by its hash, that of testAuth), so it can
// be read by all.
func writeContainerConfig(t *testing.T, dir string, srv *xmpptest.Server, port int) (config, secret string) {
	t.Helper()
	raw, err := os.ReadFile("contrib/container/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	hash, err := credential.HashArgon2id([]byte(testAuth))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ old, new string }{
		{`server = "prosody:5347"`, fmt.Sprintf("server = %q", srv.ComponentAddr)},
		{`"kick.example.org"`, strconv.Quote(srv.ComponentDomain)},
		{`"conference.example.org"`, strconv.Quote(srv.MUCDomain)},
		{`listen = "0.0.0.0:5280"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, port)},
		// The admin's step: the credential's hash in place of the
		// placeholder, which muc-kick refuses.
		{`"REPLACE with what muc-kick credential hash prints"`, strconv.Quote(hash)},
		// Kept as it is, but it must be there: the secret is where it is
		// mounted.
		{`secret_file = "/run/secrets/component-secret"`, `secret_file = "/run/secrets/component-secret"`},
	} {
		if strings.Count(text, r.old) != 1 {
			t.Fatalf("contrib/container/config.toml: want %s once, found it %d times", r.old, strings.Count(text, r.old))
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	config, secret = filepath.Join(dir, "config.toml"), filepath.Join(dir, "secret")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(srv.Secret+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	imageUserOwns(t, secret)
	return config, secret
}

// imageUserOwns gives file to the image's user, 65532: as root with chown,
// rootless with podman unshare (the user as the container sees it).
func imageUserOwns(t *testing.T, file string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := os.Chown(file, 65532, 65532); err != nil {
			t.Fatal(err)
		}
		return
	}
	if out, err := exec.Command("podman", "unshare", "chown", "65532:65532", file).CombinedOutput(); err != nil {
		t.Fatalf("podman unshare chown: %v: %s", err, out)
	}
}

// podman runs podman with contrib/container/containers.conf and a storage
// of its own.
type podman struct {
	conf    string   // the containers.conf, absolute
	storage []string // --root and the like
}

// newPodman returns a podman with a storage in a temporary directory,
// removed when the test ends. It skips the test when podman, runc or make
// is missing, or fails it under CI.
func newPodman(t *testing.T) podman {
	t.Helper()
	for _, tool := range []string{"podman", "runc", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; CI must run the image test (.ci/run installs podman and runc)", tool)
			}
			t.Skipf("%s is not installed (apt-get install podman runc)", tool)
		}
	}
	conf, err := filepath.Abs("contrib/container/containers.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pm := podman{conf: conf, storage: []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs",
	}}
	if os.Geteuid() != 0 {
		// Rootless, the storage's files belong to the user's subordinate
		// ids: only podman unshare can remove them.
		t.Cleanup(func() { exec.Command("podman", "unshare", "rm", "-rf", dir).Run() })
	}
	return pm
}

// command is podman and its storage flags.
func (p podman) command() []string { return append([]string{"podman"}, p.storage...) }

// env is the environment with CONTAINERS_CONF set.
func (p podman) env() []string { return append(os.Environ(), "CONTAINERS_CONF="+p.conf) }

// run runs podman with args and returns its stdout; its error carries
// stderr. A command that takes more than two minutes is killed.
func (p podman) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append(p.storage, args...)...)
	cmd.Env = p.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// logs returns what the container name wrote, stdout and stderr (where
// muc-kick logs) interleaved.
func (p podman) logs(t *testing.T, name string) string {
	t.Helper()
	cmd := exec.Command("podman", append(p.storage, "logs", name)...)
	cmd.Env = p.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("podman logs: %v: %s", err, out)
	}
	return string(out)
}

// randomID returns 12 random hex digits, for unique names.
func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestHealthcheckCmd runs `muc-kick healthcheck` against a server that
// answers 200, one that answers 503 and an address where nothing listens.
func TestHealthcheckCmd(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name   string
		status int
		args   []string
		code   int
		output string // in stdout on success, else in stderr
	}{
		{"healthy", 200, []string{"-url", srv.URL + "/healthz"}, exitOK, "answered 200 OK"},
		{"unhealthy", 503, []string{"-url", srv.URL + "/healthz"}, exitFailure, "answered 503 Service Unavailable"},
		{"wrong path", 200, []string{"-url", srv.URL + "/nothing"}, exitFailure, "answered 404 Not Found"},
		{"nothing listens", 200, []string{"-url", closed.URL + "/healthz"}, exitFailure, "connection refused"},
		{"bad flag", 200, []string{"-nope"}, exitConfig, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int32(tc.status))
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"healthcheck"}, tc.args...), &stdout, &stderr)
			output := stderr.String()
			if tc.code == exitOK {
				output = stdout.String()
			}
			if code != tc.code || !strings.Contains(output, tc.output) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d with %q", code, stdout.String(), stderr.String(), tc.code, tc.output)
			}
		})
	}
}

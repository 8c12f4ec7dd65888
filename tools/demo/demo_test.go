package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// TestDemo runs `make demo`'s program, the README's first command, as a user
// does (from the repository's root, against the newest Prosody installed),
// and checks what that user watches for: Bob's client got the 307 with the
// backend's reason, alice saw him go, muc-kick left the room and exited 0 on
// SIGTERM, and nothing is left running or on disk.
func TestDemo(t *testing.T) {
	demo := buildDemo(t)
	tmp := t.TempDir()
	out, err := runDemo(t, demo, tmp, "")
	if err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"\n   HTTP 200\n",
		"\n   → status 307 (kicked) by \"kickbot\", reason \"Access revoked by the backend\"\n",
		"\n   alice saw the kick too; Bob still in the room for her: false\n",
		"\n   alice saw kickbot leave the room\n",
		"\n   muc-kick exited: exit status 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not print %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	leftNothing(t, tmp)
}

// TestDemoInterrupted: Ctrl-C while Prosody and muc-kick run stops both and
// removes their directories; the demo exits 130, as a shell reports Ctrl-C.
func TestDemoInterrupted(t *testing.T) {
	demo := buildDemo(t)
	tmp := t.TempDir()
	out, err := runDemo(t, demo, tmp, "== 3. ")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != testkit.ExitInterrupted {
		t.Errorf("the interrupted demo ended with %v, want exit status %d:\n%s", err, testkit.ExitInterrupted, out)
	}
	if !strings.Contains(out, "demo: interrupt: stopping Prosody and muc-kick") {
		t.Errorf("the demo did not say what it stops:\n%s", out)
	}
	leftNothing(t, tmp)
}

// buildDemo builds the demo, once Prosody is known to be installed.
func buildDemo(t *testing.T) string {
	t.Helper()
	xmpptest.RequireServer(t, "prosody")
	demo := filepath.Join(t.TempDir(), "demo")
	if err := testkit.Build(demo, "./tools/demo"); err != nil {
		t.Fatal(err)
	}
	return demo
}

// runDemo runs the demo from the module's root with TMPDIR set to tmp, and
// returns what it printed. With interruptAt, it sends SIGINT once a line
// starts with it.
func runDemo(t *testing.T, demo, tmp, interruptAt string) (string, error) {
	t.Helper()
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, demo)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.WaitDelay = 10 * time.Second
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out strings.Builder
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if interruptAt != "" && strings.HasPrefix(lines.Text(), interruptAt) {
			cmd.Process.Signal(syscall.SIGINT)
			interruptAt = ""
		}
	}
	r.Close()
	return out.String(), cmd.Wait()
}

// leftNothing fails the test if a process still runs from tmp (Prosody,
// muc-kick) or tmp holds more than the harness's port locks.
func leftNothing(t *testing.T, tmp string) {
	t.Helper()
	pids := testkit.PidsMentioning(tmp)
	if err := testkit.WaitPidsExit(5*time.Second, pids...); err != nil {
		t.Errorf("left running: %v", err)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if e.Name() != "muc-kick-test-ports" {
			t.Errorf("left behind in TMPDIR: %s", e.Name())
		}
	}
}

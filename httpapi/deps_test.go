package httpapi

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayers keeps the data path one way: httpapi maps muc's errors alone
// and knows nothing of the XMPP connection, and muc knows nothing of HTTP
// nor of the component that carries its stanzas (it gets one as a muc.Conn).
func TestLayers(t *testing.T) {
	const module = "github.com/muc-kick/muc-kick/"
	for pkg, banned := range map[string][]string{
		"httpapi": {"component"},
		"muc":     {"component", "httpapi"},
	} {
		out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, module+pkg) {
			t.Fatalf("go list -deps %s does not list the package itself: %s", pkg, out)
		}
		for _, b := range banned {
			if slices.Contains(deps, module+b) {
				t.Errorf("%s depends on %s", pkg, b)
			}
		}
	}
}

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
// The component knows nothing of MUC, the JID type and the configuration
// sit below all three, and nothing that ships depends on the tools or the
// test harnesses.
func TestLayers(t *testing.T) {
	const module = "github.com/muc-kick/muc-kick/"
	apart := []string{"tools/bench", "tools/soak", "tools/demo", "tools/servers",
		"internal/harness/fakeserver", "internal/harness/xmpptest", "internal/harness/testkit"}
	layers := map[string][]string{
		"httpapi":             {"component"},
		"muc":                 {"component", "httpapi"},
		"component":           {"muc", "httpapi", "internal/config"},
		"internal/jid":        {"component", "httpapi", "muc", "internal/config"},
		"internal/config":     {"component", "httpapi", "muc", "internal/app"},
		"internal/credential": {"component", "httpapi", "muc", "internal/config"},
		"internal/app":        nil,
		"internal/check":      nil, // reuses internal/app, the daemon's wiring
		"":                    nil, // the daemon, main.go
	}
	for pkg, banned := range layers {
		banned = append(banned, apart...)
		out, err := exec.Command("go", "list", "-deps", strings.TrimSuffix(module+pkg, "/")).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, strings.TrimSuffix(module+pkg, "/")) {
			t.Fatalf("go list -deps %s does not list the package itself: %s", pkg, out)
		}
		for _, b := range banned {
			if slices.Contains(deps, module+b) {
				t.Errorf("%s depends on %s", pkg, b)
			}
		}
	}
}

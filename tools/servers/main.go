// Command servers prints the XMPP servers the real-server tests will run
// against (`make test` runs it first), and exits 1 when one that
// $XMPPTEST_REQUIRE names is missing.
package main

import (
	"fmt"
	"os"

	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

func main() {
	fmt.Println(xmpptest.Describe())
	if missing := xmpptest.MissingRequired(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "%s names servers that are not installed: %v (run .ci/install-servers)\n", xmpptest.RequireEnv, missing)
		os.Exit(1)
	}
}

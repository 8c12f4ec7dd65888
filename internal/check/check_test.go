package check

import (
	"context"
	"net"
	"strings"
	"testing"
)

// TestWhyNoStream checks what `muc-kick check` says when no stream comes
// up: a port nothing listens on, or a listener that never answers.
func TestWhyNoStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := whyNoStream(context.Background(), ln.Addr().String()); got != "the server accepts the connection but does not complete the XEP-0114 handshake" {
		t.Errorf("a silent listener: %q", got)
	}
	addr := ln.Addr().String()
	ln.Close()
	if got := whyNoStream(context.Background(), addr); !strings.Contains(got, "connection refused") {
		t.Errorf("nothing listening: %q", got)
	}
}

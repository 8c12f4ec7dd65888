package httpapi

import (
	"bytes"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

// TestAuditLineAsInfo: the audit line, written without slog.Logger.Info's
// per-call costs, is the line Info writes with the same attributes, in the
// same order, through text and JSON handlers and a logger with attributes
// of its own.
func TestAuditLineAsInfo(t *testing.T) {
	since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("", 3600))
	took := 1234567 * time.Nanosecond
	for _, tc := range []struct {
		act    action
		id     string
		req    request
		code   int
		result string
	}{
		{actionKick, "", request{MUC: "r@conference.example.org", Nickname: "Bob \"b\""}, 200, "kicked"},
		{actionBan, "c-1", request{MUC: "r@conference.example.org", JID: "bob@example.org"}, 409, "conflict"},
		{actionRetract, "", request{MUC: "r@conference.example.org", JID: "s@example.org", Last: 20, Since: since}, 200, "retracted"},
		{actionRetract, "c-2", request{MUC: "r@conference.example.org", ID: "5d8a"}, 404, "item-not-found"},
	} {
		for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler {
				return slog.NewJSONHandler(b, nil).WithAttrs([]slog.Attr{slog.String("svc", "x")})
			},
		} {
			var got, want bytes.Buffer
			a := &api{log: slog.New(newHandler(&got))}
			a.auditLine(tc.act, exchange{req: tc.req}, "shop", tc.id, "192.0.2.1:1234", tc.code, tc.result, took)

			// What audit wrote with Info before.
			attrs := []any{"client", "shop", "remote", "192.0.2.1:1234", "room", tc.req.MUC, "nick", tc.req.Nickname, "jid", tc.req.JID}
			if tc.req.ID != "" {
				attrs = append(attrs, "id", tc.req.ID)
			}
			if tc.req.Last != 0 {
				attrs = append(attrs, "last", tc.req.Last)
			}
			if !tc.req.Since.IsZero() {
				attrs = append(attrs, "since", tc.req.Since.Format(time.RFC3339))
			}
			attrs = append(attrs, "status", tc.code, "outcome", tc.result, "duration", took.Round(time.Microsecond))
			if tc.id != "" {
				attrs = append(attrs[:2:2], append([]any{"credential_id", tc.id}, attrs[2:]...)...)
			}
			slog.New(newHandler(&want)).Info(tc.act.String(), attrs...)

			stamp := regexp.MustCompile(`"?time"?[=:]"?[^ ",]+"?`)
			g, w := stamp.ReplaceAllString(got.String(), "time=T"), stamp.ReplaceAllString(want.String(), "time=T")
			if g != w || g == "" {
				t.Errorf("audit line\n got %s\nwant %s", g, w)
			}
		}
	}
	// Below info, nothing.
	var b bytes.Buffer
	a := &api{log: slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	a.auditLine(actionKick, exchange{}, "shop", "", "192.0.2.1:1234", 200, "kicked", took)
	if b.Len() != 0 {
		t.Errorf("audit line at level warn: %s", b.String())
	}
}

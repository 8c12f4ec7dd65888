package httpapi

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode"
)

// Bounds of a retraction's request.
const (
	maxMessageID = 256 // bytes of "id"
	maxLast      = 100 // "last"
)

// decodeSelection reads what a retraction names into req, whose nickname
// and JID are read: "id" alone, or one sender ("nickname" or "jid") with
// "last", "since" or both.
func decodeSelection(fields map[string]json.RawMessage, req *request) error {
	var err error
	if req.ID, err = stringField(fields, "id", false); err != nil {
		return err
	}
	if req.Last, err = lastField(fields); err != nil {
		return err
	}
	if req.Since, err = sinceField(fields); err != nil {
		return err
	}
	given := func(key string) bool { _, ok := fields[key]; return ok }
	named := 0
	for _, key := range []string{"id", "nickname", "jid"} {
		if given(key) {
			named++
		}
	}
	bounded := given("last") || given("since")
	switch {
	case named == 0:
		return fmt.Errorf("%w: give \"id\", or \"nickname\" or \"jid\" with \"last\" and/or \"since\"", errBadRequest)
	case named > 1:
		return fmt.Errorf("%w: give one of \"id\", \"nickname\" and \"jid\"", errBadRequest)
	case given("id") && bounded:
		return fmt.Errorf("%w: \"last\" and \"since\" select a sender's messages: give them with \"nickname\" or \"jid\", not with \"id\"", errBadRequest)
	case given("id"):
		return checkMessageID(req.ID)
	case !bounded:
		return fmt.Errorf("%w: with \"nickname\" or \"jid\", give \"last\" (1-%d), \"since\" (RFC 3339) or both", errBadRequest, maxLast)
	case given("nickname") && req.Nickname == "":
		return fmt.Errorf("%w: \"nickname\" is empty", errBadRequest)
	case given("jid") && req.JID == "":
		return fmt.Errorf("%w: \"jid\" is empty", errBadRequest)
	}
	return nil
}

// checkMessageID checks a stanza id as a client may give it.
func checkMessageID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: \"id\" is empty", errBadRequest)
	case len(id) > maxMessageID:
		return fmt.Errorf("%w: \"id\" is longer than %d bytes", errBadRequest, maxMessageID)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: \"id\" holds the control character %U", errBadRequest, r)
		}
	}
	return nil
}

// lastField reads "last", an integer from 1 to maxLast; null or absent: 0.
func lastField(fields map[string]json.RawMessage) (int, error) {
	raw, ok := fields["last"]
	if !ok || string(raw) == "null" {
		delete(fields, "last")
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > maxLast {
		return 0, fmt.Errorf("%w: \"last\" must be an integer from 1 to %d, got %s", errBadRequest, maxLast, clip(raw))
	}
	return n, nil
}

// sinceField reads "since", an RFC 3339 time; null or absent: zero.
func sinceField(fields map[string]json.RawMessage) (time.Time, error) {
	raw, ok := fields["since"]
	if !ok || string(raw) == "null" {
		delete(fields, "since")
		return time.Time{}, nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	var t time.Time
	if err == nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: \"since\" must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", got %s", errBadRequest, clip(raw))
	}
	return t, nil
}

// clip is raw JSON shortened for a message.
func clip(raw json.RawMessage) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}

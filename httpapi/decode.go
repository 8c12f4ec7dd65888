package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// decode reads and checks a request body for act.
func decode(act action, body io.Reader) (request, error) {
	var req request
	fields, err := readObject(body)
	if err != nil {
		return req, err
	}
	if req.Nickname, err = stringField(fields, "nickname", false); err != nil {
		return req, err
	}
	if req.JID, err = stringField(fields, "jid", false); err != nil {
		return req, err
	}
	if req.MUC, err = stringField(fields, "muc", true); err != nil {
		return req, err
	}
	if req.Reason, err = stringField(fields, "reason", false); err != nil {
		return req, err
	}
	if act.target == aSender {
		err = decodeSelection(fields, &req)
	} else {
		err = checkTarget(act, fields, req)
	}
	if err != nil {
		return req, err
	}
	return validate(act, req)
}

// checkTarget checks that req names whom act needs: for a kick, mute or
// unmute a "nickname" or a "jid"; for a ban or unban a "jid".
func checkTarget(act action, fields map[string]json.RawMessage, req request) error {
	_, hasNick := fields["nickname"]
	_, hasJID := fields["jid"]
	switch {
	case act.target == anOccupant && hasNick && hasJID:
		return fmt.Errorf("%w: give \"nickname\" or \"jid\", not both", errBadRequest)
	case act.target == anOccupant && !hasJID:
		if req.Nickname == "" {
			return fmt.Errorf("%w: %q is %s (or give \"jid\")", errBadRequest, "nickname", missingOrEmpty(hasNick))
		}
	case act.target != anOccupant && hasNick:
		return fmt.Errorf("%w: a %s takes a \"jid\", not a \"nickname\"", errBadRequest, act)
	case req.JID == "":
		return fmt.Errorf("%w: %q is %s", errBadRequest, "jid", missingOrEmpty(hasJID))
	}
	return nil
}

// decodeQuery reads and checks the query of a GET for act: "muc" once, and
// nothing else, as strictly as a body.
func decodeQuery(act action, rawQuery string) (request, error) {
	var req request
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return req, fmt.Errorf("%w: the query is not URL-encoded: %v", errBadRequest, err)
	}
	for _, key := range slices.Sorted(maps.Keys(q)) {
		if key != "muc" {
			return req, fmt.Errorf("%w: unknown query parameter %q; the only one is \"muc\"", errBadRequest, key)
		}
	}
	switch v := q["muc"]; {
	case len(v) == 0:
		return req, fmt.Errorf("%w: the query parameter \"muc\" is missing", errBadRequest)
	case len(v) > 1:
		return req, fmt.Errorf("%w: the query parameter \"muc\" appears %d times", errBadRequest, len(v))
	case v[0] == "":
		return req, fmt.Errorf("%w: the query parameter \"muc\" is empty", errBadRequest)
	case !utf8.ValidString(v[0]):
		return req, fmt.Errorf("%w: the query parameter \"muc\" must be UTF-8", errBadRequest)
	}
	req.MUC = q.Get("muc")
	return validate(act, req)
}

// readObject reads a body that must be one unambiguous JSON object.
func readObject(body io.Reader) (map[string]json.RawMessage, error) {
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, tooLarge.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
	}
	fields, end, late, err := scanObject(data)
	if err != nil {
		return nil, err
	}
	if err := unambiguous(data, end, late); err != nil {
		return nil, err
	}
	return fields, nil
}

// validate checks and normalizes the room, JID, nickname and reason of req,
// through muc's rules.
func validate(act action, req request) (request, error) {
	var err error
	if req.room, err = jid.ParseRoom(req.MUC); err != nil {
		return req, fmt.Errorf("%w: muc: %w", errBadRequest, err)
	}
	req.MUC = req.room.String()
	if req.JID != "" {
		if req.user, err = jid.Parse(req.JID); err != nil {
			return req, fmt.Errorf("%w: jid: %w", errBadRequest, err)
		}
		req.JID = req.user.String()
		if act.target != anOccupant && !req.user.IsBare() {
			return req, fmt.Errorf("%w: jid: a %s applies to an account: give a bare JID, without /resource", errBadRequest, act)
		}
	} else if req.Nickname != "" || act.target == anOccupant {
		if err := muc.CheckNick(req.Nickname); err != nil {
			return req, fmt.Errorf("%w: nickname: %w", errBadRequest, err)
		}
	}
	if err := muc.CheckReason(req.Reason); err != nil {
		return req, fmt.Errorf("%w: reason: %w", errBadRequest, err)
	}
	return req, nil
}

func missingOrEmpty(present bool) string {
	if present {
		return "empty"
	}
	return "missing"
}

// stringField returns the string value of key; null counts as absent.
func stringField(fields map[string]json.RawMessage, key string, required bool) (string, error) {
	raw, ok := fields[key]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("%w: %q is missing", errBadRequest, key)
		}
		delete(fields, key)
		return "", nil
	}
	s, plain := plainString(raw)
	if !plain && json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: %q must be a string", errBadRequest, key)
	}
	if required && s == "" {
		return "", fmt.Errorf("%w: %q is empty", errBadRequest, key)
	}
	return s, nil
}

// plainString is the value of raw, valid JSON from a checked body, if it is
// a string without escapes: its bytes between the quotes, which
// json.Unmarshal would return (the body was checked to be UTF-8).
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

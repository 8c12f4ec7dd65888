package muc

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/muc-kick/muc-kick/internal/jidprep"
)

// Validation errors; each says what is wrong in words an API user can act on.
var (
	ErrInvalidRoom   = errors.New("muc: invalid room JID")
	ErrInvalidNick   = errors.New("muc: invalid nickname")
	ErrInvalidReason = errors.New("muc: invalid reason")
)

// ParseRoom checks that s is a bare JID with a node (room@service) and
// returns it in canonical form: the room name as servers route it (see
// package jidprep: case folded and normalized, "team\u0301" as "teaḿ",
// fullwidth letters as ASCII), the domain lower case. A room name that
// servers could normalize differently is refused.
func ParseRoom(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: it is empty", ErrInvalidRoom)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: it is not valid UTF-8", ErrInvalidRoom)
	}
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("%w: %q has a resource; give the bare room JID, room@service", ErrInvalidRoom, s)
	}
	node, domain, ok := strings.Cut(s, "@")
	if !ok || node == "" {
		return "", fmt.Errorf("%w: %q has no room name; give room@service", ErrInvalidRoom, s)
	}
	if err := checkNode(node); err != nil {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidRoom, s, err)
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidRoom, s, err)
	}
	node, domain, err := prep(node, domain)
	if err != nil {
		return "", fmt.Errorf("%w: %q: room %s", ErrInvalidRoom, s, err)
	}
	return node + "@" + domain, nil
}

// prep normalizes a checked node and domain as servers do, and checks the
// node again: a fullwidth "＠" or "／" becomes "@" or "/".
func prep(node, domain string) (string, string, error) {
	n, err := jidprep.Node(node)
	if err != nil {
		return "", "", fmt.Errorf("name %q: %w", node, err)
	}
	if err := checkNode(n); err != nil {
		return "", "", fmt.Errorf("name %q, normalized as servers do, is %q: %w", node, n, err)
	}
	d, err := jidprep.Domain(domain)
	if err != nil {
		return "", "", fmt.Errorf("domain %q: %w", domain, err)
	}
	return n, d, nil
}

func checkNode(node string) error {
	if len(node) > jidprep.MaxPart {
		return fmt.Errorf("room name longer than %d bytes", jidprep.MaxPart)
	}
	for _, r := range node {
		// RFC 7622 §3.3.1: these are not allowed in a localpart.
		if strings.ContainsRune("\"&'/:<>@", r) || unicode.IsSpace(r) || unicode.IsControl(r) || !jidprep.XMLChar(r) {
			return fmt.Errorf("room name contains %q, which a JID cannot hold", r)
		}
	}
	return nil
}

// checkDomain checks the domain of a room or user JID (jidprep.CheckDomain;
// a trailing dot is dropped, as servers do).
func checkDomain(d string) error {
	if d == "" {
		return errors.New("no domain after '@'")
	}
	if err := jidprep.CheckDomain(strings.TrimSuffix(d, ".")); err != nil {
		return fmt.Errorf("domain: %w", err)
	}
	return nil
}

// CheckNick checks that s can be a MUC nickname (the resource of an occupant
// JID, RFC 7622 §3.4): not empty, valid UTF-8, no control characters, at most
// 1023 bytes (the rule is jidprep.CheckResource, which the configuration's
// muc.nick obeys too).
func CheckNick(s string) error {
	if err := jidprep.CheckResource(s); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidNick, err)
	}
	return nil
}

// CheckReason checks that a kick reason can be carried in XML verbatim: any
// text but control characters other than tab and newlines.
func CheckReason(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: it is not valid UTF-8", ErrInvalidReason)
	}
	for _, r := range s {
		if !jidprep.XMLChar(r) || (unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r') {
			return fmt.Errorf("%w: it contains the control character %U", ErrInvalidReason, r)
		}
	}
	return nil
}

// ErrInvalidJID is a JID that is not one.
var ErrInvalidJID = errors.New("muc: invalid JID")

// ParseJID checks a user's JID, [node@]domain[/resource], and returns it as
// servers route it (see package jidprep): the node prepared, the domain lower
// case, the resource prepared; a part that servers could prepare differently
// is refused.
func ParseJID(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: it is empty", ErrInvalidJID)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: it is not valid UTF-8", ErrInvalidJID)
	}
	bare, resource, hasResource := strings.Cut(s, "/")
	node, domain, hasNode := strings.Cut(bare, "@")
	if !hasNode {
		node, domain = "", bare
	}
	if hasNode && node == "" {
		return "", fmt.Errorf("%w: %q has an empty name before '@'", ErrInvalidJID, s)
	}
	if node != "" {
		if err := checkNode(node); err != nil {
			return "", fmt.Errorf("%w: %q: %s", ErrInvalidJID, s, strings.Replace(err.Error(), "room name", "name", 1))
		}
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidJID, s, err)
	}
	if hasResource {
		if err := CheckNick(resource); err != nil {
			return "", fmt.Errorf("%w: %q: bad resource", ErrInvalidJID, s)
		}
	}
	// As servers route it (see package jidprep).
	var jid string
	if node != "" {
		n, d, err := prep(node, domain)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %s", ErrInvalidJID, s, err)
		}
		jid = n + "@" + d
	} else if d, err := jidprep.Domain(domain); err != nil {
		return "", fmt.Errorf("%w: %q: domain %q: %s", ErrInvalidJID, s, domain, err)
	} else {
		jid = d
	}
	if hasResource {
		r, err := jidprep.Resource(resource)
		if err == nil {
			err = CheckNick(r)
		}
		if err != nil {
			return "", fmt.Errorf("%w: %q: resource %q: %s", ErrInvalidJID, s, resource, err)
		}
		jid += "/" + r
	}
	return jid, nil
}

// Domain returns the domain part of a canonical room JID.
func Domain(room string) string {
	_, d, _ := strings.Cut(room, "@")
	return d
}

// canonicalJID lower-cases the node and domain of a JID known to be valid,
// such as an occupant's real JID that the server sent, already prepared.
func canonicalJID(j string) string {
	bare, resource, hasResource := strings.Cut(j, "/")
	bare = strings.ToLower(bare)
	if hasResource {
		return bare + "/" + resource
	}
	return bare
}

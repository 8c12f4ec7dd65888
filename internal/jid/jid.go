// Package jid is muc-kick's XMPP address (RFC 7622), as mellium.im/xmpp's
// jid.JID: parsed once where it enters (an HTTP request, the configuration,
// a stanza from the server), then passed around as a value whose methods
// answer its parts, its bare form, its domain and its parent domain, and
// equality.
//
// Parse and ParseRoom prepare a JID as servers route it (see package
// jidprep): the localpart case folded and normalized, the domain lower case,
// the resource normalized; a part that servers could prepare differently is
// refused rather than guessed. The rule for a domainpart is CheckDomain, the
// one rule for every domain muc-kick reads.
package jid

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/muc-kick/muc-kick/internal/jidprep"
)

// Errors of Parse and ParseRoom. Their texts are those the HTTP API has
// always answered with (they were package muc's), so they keep muc's
// prefix.
var (
	// ErrInvalidRoom: not a bare room JID, room@service.
	ErrInvalidRoom = errors.New("muc: invalid room JID")
	// ErrInvalid: not a JID, [node@]domain[/resource].
	ErrInvalid = errors.New("muc: invalid JID")
)

// JID is a prepared XMPP address, [local@]domain[/resource]. The zero value
// is no JID. JIDs are comparable with == (or Equal): two JIDs that servers
// route alike are equal.
type JID struct {
	local, domain, resource string
}

// ParseRoom checks that s is a bare JID with a node (room@service) and
// returns it as servers route it: the room name case folded and normalized
// ("team\u0301" as "teaḿ", fullwidth letters as ASCII), the domain lower
// case. A room name that servers could normalize differently is refused.
// Its errors wrap ErrInvalidRoom.
func ParseRoom(s string) (JID, error) {
	if s == "" {
		return JID{}, fmt.Errorf("%w: it is empty", ErrInvalidRoom)
	}
	if !utf8.ValidString(s) {
		return JID{}, fmt.Errorf("%w: it is not valid UTF-8", ErrInvalidRoom)
	}
	if strings.Contains(s, "/") {
		return JID{}, fmt.Errorf("%w: %q has a resource; give the bare room JID, room@service", ErrInvalidRoom, s)
	}
	node, domain, ok := strings.Cut(s, "@")
	if !ok || node == "" {
		return JID{}, fmt.Errorf("%w: %q has no room name; give room@service", ErrInvalidRoom, s)
	}
	if err := checkNode(node); err != nil {
		return JID{}, fmt.Errorf("%w: %q: %s", ErrInvalidRoom, s, err)
	}
	if err := checkDomainPart(domain); err != nil {
		return JID{}, fmt.Errorf("%w: %q: %s", ErrInvalidRoom, s, err)
	}
	node, domain, err := prep(node, domain)
	if err != nil {
		return JID{}, fmt.Errorf("%w: %q: room %s", ErrInvalidRoom, s, err)
	}
	return JID{local: node, domain: domain}, nil
}

// Parse checks a user's JID, [node@]domain[/resource], and returns it as
// servers route it: the node prepared, the domain lower case, the resource
// prepared (its case kept); a part that servers could prepare differently is
// refused. A resource must also be a valid MUC nickname
// (jidprep.CheckResource). Its errors wrap ErrInvalid.
func Parse(s string) (JID, error) {
	if s == "" {
		return JID{}, fmt.Errorf("%w: it is empty", ErrInvalid)
	}
	if !utf8.ValidString(s) {
		return JID{}, fmt.Errorf("%w: it is not valid UTF-8", ErrInvalid)
	}
	bare, resource, hasResource := strings.Cut(s, "/")
	node, domain, hasNode := strings.Cut(bare, "@")
	if !hasNode {
		node, domain = "", bare
	}
	if hasNode && node == "" {
		return JID{}, fmt.Errorf("%w: %q has an empty name before '@'", ErrInvalid, s)
	}
	if err := checkParts(node, domain, resource, hasResource); err != nil {
		return JID{}, fmt.Errorf("%w: %q: %s", ErrInvalid, s, err)
	}
	var j JID
	if node != "" {
		n, d, err := prep(node, domain)
		if err != nil {
			return JID{}, fmt.Errorf("%w: %q: %s", ErrInvalid, s, err)
		}
		j.local, j.domain = n, d
	} else if d, err := jidprep.Domain(domain); err != nil {
		return JID{}, fmt.Errorf("%w: %q: domain %q: %s", ErrInvalid, s, domain, err)
	} else {
		j.domain = d
	}
	if hasResource {
		r, err := jidprep.Resource(resource)
		if err == nil {
			if cerr := jidprep.CheckResource(r); cerr != nil {
				// In the words of muc.CheckNick, as the API always said it.
				err = fmt.Errorf("muc: invalid nickname: %v", cerr)
			}
		}
		if err != nil {
			return JID{}, fmt.Errorf("%w: %q: resource %q: %s", ErrInvalid, s, resource, err)
		}
		j.resource = r
	}
	return j, nil
}

// checkParts checks the parts of a user's JID before preparation.
func checkParts(node, domain, resource string, hasResource bool) error {
	if node != "" {
		if err := checkNode(node); err != nil {
			return errors.New(strings.Replace(err.Error(), "room name", "name", 1))
		}
	}
	if err := checkDomainPart(domain); err != nil {
		return err
	}
	if hasResource && jidprep.CheckResource(resource) != nil {
		return errors.New("bad resource")
	}
	return nil
}

// ParseDomain checks that s is a domain (CheckDomain) and returns it as a
// JID of that domain alone, lower case as servers route it.
func ParseDomain(s string) (JID, error) {
	if err := CheckDomain(s); err != nil {
		return JID{}, err
	}
	d, err := jidprep.Domain(s)
	if err != nil {
		return JID{}, err
	}
	return JID{domain: d}, nil
}

// CheckDomain is the rule for a domainpart (RFC 7622 §3.2) wherever
// muc-kick reads one (a room's service, a user's server, the configuration's
// domains): not empty, at most jidprep.MaxPart bytes, labels of 1 to 63
// bytes of letters, digits, '-' and '_' or printable non-ASCII characters,
// and no trailing dot (servers strip it; muc-kick takes a domain as it is
// written, so one that servers would change is refused, as jidprep refuses
// fullwidth dots). It does not prepare d. Its errors are reasons ("it ends
// with \".\"") for the caller to prefix with what was checked.
func CheckDomain(d string) error {
	if strings.HasSuffix(d, ".") {
		return errors.New(`it ends with "."`)
	}
	return jidprep.CheckDomain(d)
}

// checkDomainPart is CheckDomain in the words of Parse and ParseRoom.
func checkDomainPart(d string) error {
	if d == "" {
		return errors.New("no domain after '@'")
	}
	if err := CheckDomain(d); err != nil {
		return fmt.Errorf("domain: %w", err)
	}
	return nil
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

// FromServer reads a JID that the XMPP server sent (the from of a stanza, an
// occupant's real JID): the server prepared it already, so it is only split
// and its local and domain parts lower-cased, to compare with JIDs muc-kick
// parsed. It is false when s has no domain, or an empty local part or
// resource after a separator.
func FromServer(s string) (JID, bool) {
	bare, resource, hasResource := strings.Cut(s, "/")
	local, domain, hasLocal := strings.Cut(bare, "@")
	if !hasLocal {
		local, domain = "", bare
	}
	if domain == "" || hasLocal && local == "" || hasResource && resource == "" {
		return JID{}, false
	}
	return JID{local: strings.ToLower(local), domain: strings.ToLower(domain), resource: resource}, true
}

// Local is the localpart (a room name, a user name), or "".
func (j JID) Local() string { return j.local }

// Resource is the resourcepart (an occupant's nickname, a session), or "".
func (j JID) Resource() string { return j.resource }

// Domain is the JID of j's domain alone.
func (j JID) Domain() JID { return JID{domain: j.domain} }

// Parent is the domain j's domain lives under: the MUC service
// conference.example.org lives under the virtual host example.org, the
// component kick.example.org under example.org. It is false for a domain of
// one label.
func (j JID) Parent() (JID, bool) {
	_, parent, ok := strings.Cut(j.domain, ".")
	if !ok || parent == "" {
		return JID{}, false
	}
	return JID{domain: parent}, true
}

// Bare is j without its resource.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// IsBare reports whether j has no resource.
func (j JID) IsBare() bool { return j.resource == "" }

// WithResource is j with the resource r, taken as it is: a nickname checked
// by the caller (muc.CheckNick) or one the server sent.
func (j JID) WithResource(r string) JID { return JID{local: j.local, domain: j.domain, resource: r} }

// Equal reports whether j and k are the same JID.
func (j JID) Equal(k JID) bool { return j == k }

// IsZero reports whether j is the zero JID (no JID).
func (j JID) IsZero() bool { return j == JID{} }

// String is j as it travels in XML: [local@]domain[/resource].
func (j JID) String() string {
	s := j.domain
	if j.local != "" {
		s = j.local + "@" + s
	}
	if j.resource != "" {
		s += "/" + j.resource
	}
	return s
}

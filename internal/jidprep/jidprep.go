// Package jidprep normalizes the parts of a JID as XMPP servers do, and
// refuses the parts where servers could disagree.
//
// Prosody 0.12 and ejabberd 23.01 prepare a JID with the stringprep profiles
// of RFC 3920 (nodeprep: case folding and NFKC; resourceprep: NFKC;
// nameprep for the domain), newer servers and libraries with the PRECIS
// profiles of RFC 7622 (UsernameCaseMapped: width mapping, case mapping and
// NFC; OpaqueString for the resource). Both map a decomposed "team\u0301" to
// "teaḿ", fullwidth "ＴＥＡＭ" to "team", and "Team" to "team". They differ
// on compatibility characters: nodeprep maps "ﬁ" to "fi" and "²" to "2",
// PRECIS refuses them in a localpart. muc-kick must send, store and match a
// JID exactly as the server will route it, and must check a client's room
// scope against that form, so a part is accepted only when both
// preparations, done by golang.org/x/text (precis, norm, cases), give the
// same result; anything else is refused rather than guessed.
//
// It also holds the rules of what a part may contain that package jid (for
// API requests) and the configuration both apply: MaxPart, XMLChar and
// CheckResource. Its errors are reasons ("it is empty") for the caller to
// prefix with what was checked.
package jidprep

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// ErrAmbiguous is a part that servers could prepare differently.
var ErrAmbiguous = errors.New("servers could normalize it differently")

// MaxPart is the most bytes a localpart, domainpart or resourcepart may
// have (RFC 7622 §3).
const MaxPart = 1023

// XMLChar reports whether r may appear in an XML 1.0 document: a JID part
// travels in XML, so every one of its characters must.
func XMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// CheckResource checks that s can be a resourcepart (RFC 7622 §3.4), such as
// a MUC nickname, as muc-kick sends it: not empty, at most MaxPart bytes,
// valid UTF-8, no control characters (nor others XML cannot carry), not only
// white space. It does not prepare s; see Resource.
func CheckResource(s string) error {
	switch {
	case s == "":
		return errors.New("it is empty")
	case len(s) > MaxPart:
		return fmt.Errorf("longer than %d bytes", MaxPart)
	case !utf8.ValidString(s):
		return errors.New("it is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("it contains the control character %U", r)
		}
		if !XMLChar(r) {
			return fmt.Errorf("it contains %U, which XML cannot carry", r)
		}
	}
	if strings.TrimSpace(s) == "" {
		return errors.New("it is only white space")
	}
	return nil
}

// CheckDomain checks that d can be a domainpart (RFC 7622 §3.2) as muc-kick
// sends it: not empty, at most MaxPart bytes, labels of 1 to 63 bytes, of
// ASCII letters, digits, '-' and '_' or printable non-ASCII characters (an
// internationalized domain name). A trailing dot is the caller's to allow or
// not. It does not prepare d; see Domain.
func CheckDomain(d string) error {
	switch {
	case d == "":
		return errors.New("it is empty")
	case len(d) > MaxPart:
		return fmt.Errorf("it is longer than %d bytes", MaxPart)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return errors.New("it has an empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("its label %q is longer than 63 bytes", label)
		}
		for _, r := range label {
			if !domainChar(r) {
				return fmt.Errorf("it contains %q", r)
			}
		}
	}
	return nil
}

// domainChar reports whether r may appear in a label of a domain name:
// ASCII letters, digits, '-' and '_', or a printable non-ASCII character of
// an internationalized domain name.
func domainChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && XMLChar(r)
}

// Node returns the localpart s (a room name or a user name) in the form
// servers route it by. It does not check the characters that RFC 7622
// forbids in a localpart ("&'/:<>@ and space); see jid.ParseRoom.
func Node(s string) (string, error) {
	if s == "" {
		return "", errors.New("it is empty")
	}
	if printableASCII(s) {
		// Both preparations leave such a part as it is but for lower-casing
		// A to Z: PRECIS's IdentifierClass takes U+0021 to U+007E as they
		// are, and width mapping, NFC, NFKC and case folding change no other
		// ASCII character.
		return strings.ToLower(s), nil
	}
	return node(s)
}

// node is Node by golang.org/x/text's preparations themselves.
func node(s string) (string, error) {
	p, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", fmt.Errorf("it is not a valid XMPP localpart (%v); letters, digits and ASCII punctuation are", err)
	}
	// nodeprep: case folding meant for use with NFKC, then NFKC.
	if n := folded(s); n != p {
		return "", fmt.Errorf("%w: nodeprep gives %q, PRECIS %q; write it as the server should see it", ErrAmbiguous, n, p)
	}
	if n := folded(p); n != p {
		return "", fmt.Errorf("%w: nodeprep gives %q for %q; write it as the server should see it", ErrAmbiguous, n, p)
	}
	return p, nil
}

// folded is what nodeprep and nameprep make of s: case folding meant for
// use with NFKC, then NFKC. golang.org/x/text's folding is not idempotent
// for every script (it folds Cherokee U+13CF to U+ABAF, and U+ABAF to
// U+13DF), so a part is taken only where folding its prepared form
// changes nothing either: what Node and Domain return, they accept again
// unchanged.
func folded(s string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

// Resource returns the resourcepart s (a user's resource) in the form
// servers route it by: resourceprep's NFKC, which must equal PRECIS
// OpaqueString's.
func Resource(s string) (string, error) {
	p, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", fmt.Errorf("it is not a valid XMPP resourcepart (%v)", err)
	}
	if n := norm.NFKC.String(s); n != p {
		return "", fmt.Errorf("%w: resourceprep gives %q, PRECIS %q; write it as the server should see it", ErrAmbiguous, n, p)
	}
	return p, nil
}

// Domain returns the domainpart s lower-cased, as nameprep would leave it.
// A domain that nameprep would change otherwise (fullwidth letters, other
// dots than ".", compatibility characters) is refused: muc-kick compares
// domains with its configuration byte for byte.
func Domain(s string) (string, error) {
	if ascii(s) {
		return strings.ToLower(s), nil // NFKC and case folding lower-case A to Z, and change no other ASCII character
	}
	return domain(s)
}

// domain is Domain by golang.org/x/text's preparations themselves.
func domain(s string) (string, error) {
	lower := strings.ToLower(s)
	if strings.ContainsAny(s, "\u3002\uff0e\uff61") {
		return "", fmt.Errorf("%w: write the dots of the domain as \".\"", ErrAmbiguous)
	}
	if n := folded(s); n != lower {
		return "", fmt.Errorf("%w: nameprep gives %q; write the domain that way", ErrAmbiguous, n)
	}
	if n := folded(lower); n != lower {
		return "", fmt.Errorf("%w: nameprep gives %q for %q; write the domain that way", ErrAmbiguous, n, lower)
	}
	return lower, nil
}

// printableASCII reports whether s holds only U+0021 to U+007E.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ascii reports whether s holds only ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

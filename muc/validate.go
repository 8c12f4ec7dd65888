package muc

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/muc-kick/muc-kick/internal/jidprep"
)

// Validation errors; each says what is wrong in words an API user can act on.
var (
	ErrInvalidNick   = errors.New("muc: invalid nickname")
	ErrInvalidReason = errors.New("muc: invalid reason")
)

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

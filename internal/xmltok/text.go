package xmltok

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// entities are the five references XML predefines, the only ones XMPP
// allows besides character references.
var entities = map[string]byte{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// unescape returns text or an attribute value as XML means it: references
// replaced, line ends made "\n", every character checked. The result is
// raw itself when it needs no change, else s.text.
func (s *Scanner) unescape(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw, s.checkChars(raw)
	}
	out := s.text[:0]
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '&':
			n, end, err := s.reference(raw[i:])
			if err != nil {
				return nil, err
			}
			out = utf8.AppendRune(out, n)
			i += end
		case '\r':
			out = append(out, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		default:
			out = append(out, c)
		}
	}
	s.text = out
	return out, s.checkChars(out)
}

// reference reads the reference b starts with ("&name;", "&#n;" or
// "&#xh;") and returns what it stands for and the index of its ';'.
func (s *Scanner) reference(b []byte) (rune, int, error) {
	end := bytes.IndexByte(b, ';')
	if end < 0 {
		return 0, 0, s.syntaxError(fmt.Sprintf("invalid character entity %.20s (no semicolon)", b))
	}
	ref := b[1:end]
	if len(ref) > 0 && ref[0] == '#' {
		digits, base := ref[1:], 10
		if len(digits) > 0 && digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		n, err := strconv.ParseUint(string(digits), base, 64)
		if err != nil || len(digits) == 0 || digits[0] == '+' || digits[0] == '_' || n > utf8.MaxRune {
			return 0, 0, s.syntaxError(fmt.Sprintf("invalid character entity %.20s", b[:end+1]))
		}
		return rune(n), end, nil // a surrogate becomes U+FFFD, as in encoding/xml
	}
	if c, ok := entities[string(ref)]; ok {
		return rune(c), end, nil
	}
	return 0, 0, s.syntaxError(fmt.Sprintf("invalid character entity %.20s: XMPP allows only the five predefined (RFC 6120 §11.1)", b[:end+1]))
}

// checkChars reports whether b is UTF-8 of characters XML allows (the Char
// production, as encoding/xml's isInCharacterRange has it).
func (s *Scanner) checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return s.syntaxError("invalid UTF-8")
		}
		if !isInCharacterRange(r) {
			return s.syntaxError(fmt.Sprintf("illegal character code %U", r))
		}
		i += size
	}
	return nil
}

func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

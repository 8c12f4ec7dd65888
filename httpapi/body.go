package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// unambiguous refuses a body that two JSON parsers could read differently,
// so that a proxy or a log in front of muc-kick sees the request muc-kick
// carries out. data is the body; one JSON value was decoded from its first
// end bytes. It refuses
//
//   - anything but white space after that value (encoding/json's More
//     stops at a "]" or "}", so "{…}]]]garbage" must be checked here);
//   - invalid UTF-8 anywhere: encoding/json turns it into U+FFFD, others
//     refuse it or keep the bytes;
//   - a \u escape of a lone UTF-16 surrogate, which encoding/json also turns
//     into U+FFFD;
//   - a key twice in an object: encoding/json keeps the last, others the
//     first.
func unambiguous(data []byte, end int64) error {
	if len(bytes.TrimLeft(data[end:], " \t\r\n")) > 0 {
		return fmt.Errorf("%w: the body must hold one JSON object and nothing after it", errBadRequest)
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return fmt.Errorf("%w: the body must be UTF-8; byte %d is not", errBadRequest, off)
	}
	if err := checkSurrogates(data); err != nil {
		return err
	}
	return checkDuplicateKeys(data)
}

// checkSurrogates finds \u escapes of surrogates that are not a high one
// followed at once by a low one. data is valid JSON.
func checkSurrogates(data []byte) error {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++
			if data[i] != 'u' {
				continue
			}
			r := hex4(data[i+1:])
			i += 4
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00: // high: a low one must follow
				if i+6 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
					if lo := hex4(data[i+3:]); lo >= 0xDC00 && lo <= 0xDFFF {
						i += 6
						continue
					}
				}
				fallthrough
			case utf16.IsSurrogate(r):
				return fmt.Errorf("%w: the body holds a lone UTF-16 surrogate, \\u%04x; a character beyond U+FFFF is written as a pair, such as \\ud83d\\ude00", errBadRequest, r)
			}
		}
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape that encoding/json accepted.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// checkDuplicateKeys refuses an object, at any depth, that has a key twice,
// also when the two differ only in letter case: Go's encoding/json matches
// struct fields so, and takes the last. data is valid JSON.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct {
		keys map[string]string // by folded key; nil for an array
		key  bool              // in an object, a key or "}" comes next
	}
	var stack []level
	valueEnded := func() {
		if n := len(stack) - 1; n >= 0 && stack[n].keys != nil {
			stack[n].key = true
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: the body must be a JSON object such as {\"nickname\": \"Bob\", \"muc\": \"room@conference.example.org\"}", errBadRequest)
		}
		if top := len(stack) - 1; top >= 0 && stack[top].key {
			if tok == json.Delim('}') {
				stack = stack[:top]
				valueEnded()
				continue
			}
			k := tok.(string)
			folded := strings.ToLower(strings.ToUpper(k))
			if first, ok := stack[top].keys[folded]; ok {
				if first != k {
					return fmt.Errorf("%w: the keys %q and %q are the same but for letter case", errBadRequest, first, k)
				}
				return fmt.Errorf("%w: the key %q appears twice", errBadRequest, k)
			}
			stack[top].keys[folded] = k
			stack[top].key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{keys: map[string]string{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		valueEnded()
	}
}

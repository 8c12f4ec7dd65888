package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// unambiguous refuses a body that two JSON parsers could read differently,
// so that a proxy or a log in front of muc-kick sees the request muc-kick
// carries out. data is the body; scanObject read one JSON object from its
// first end bytes, and found late, the first key twice in an object, if
// any (see scanObject). It refuses
//
//   - anything but white space after that value (encoding/json's More
//     stops at a "]" or "}", so "{…}]]]garbage" must be checked here);
//   - invalid UTF-8 anywhere: encoding/json turns it into U+FFFD, others
//     refuse it or keep the bytes;
//   - a \u escape of a lone UTF-16 surrogate, which encoding/json also turns
//     into U+FFFD;
//   - a key twice in an object: encoding/json keeps the last, others the
//     first (late).
func unambiguous(data []byte, end int64, late error) error {
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
	return late
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

// maxDepth is how deeply encoding/json lets arrays and objects nest.
const maxDepth = 10000

// errNotObject is the answer to a body that is not one JSON object.
var errNotObject = fmt.Errorf("%w: the body must be a JSON object such as {\"nickname\": \"Bob\", \"muc\": \"room@conference.example.org\"}", errBadRequest)

// scanObject reads the JSON object at the start of data in one pass: its
// fields (each one's raw JSON, a slice of data) and the offset where it
// ends. It fails with errNotObject if data does not start with one valid
// JSON object. late is the first of what it found in the object that
// unambiguous reports after its own checks: a key twice in an object, at
// any depth, also when the two differ only in letter case (Go's
// encoding/json matches struct fields so, and takes the last), or a
// number encoding/json cannot hold (errNotObject).
func scanObject(data []byte) (fields map[string]json.RawMessage, end int64, late, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	stack := make([]level, 0, 4)
	fields = make(map[string]json.RawMessage, 4)
	var key string // the top-level key whose value is being read
	var from int64 // where that value starts
	for {
		tok, err := dec.Token()
		var overflow *json.UnmarshalTypeError
		switch {
		case errors.As(err, &overflow): // a number too large, read past
			late = cmp.Or(late, errNotObject)
		case err != nil, len(stack) == 0 && tok != json.Delim('{'):
			return nil, 0, nil, errNotObject
		}
		if top := len(stack) - 1; top >= 0 && stack[top].key {
			if tok != json.Delim('}') {
				late = cmp.Or(late, stack[top].add(tok.(string)))
				if top == 0 {
					key, from = tok.(string), dec.InputOffset()
				}
				continue
			}
			stack = stack[:top]
		} else {
			switch tok {
			case json.Delim('{'), json.Delim('['):
				if len(stack) == maxDepth {
					return nil, 0, nil, errNotObject
				}
				l := level{}
				if tok == json.Delim('{') {
					l = level{keys: map[string]string{}, key: true}
				}
				stack = append(stack, l)
				continue
			case json.Delim(']'):
				stack = stack[:top]
			}
		}
		switch n := len(stack) - 1; { // a value has ended
		case n < 0: // the object itself
			return fields, dec.InputOffset(), late, nil
		case n == 0:
			fields[key] = bytes.TrimLeft(data[from:dec.InputOffset()], " \t\r\n:")
		}
		if n := len(stack) - 1; stack[n].keys != nil {
			stack[n].key = true
		}
	}
}

// level is an array or object open around scanObject's place in the body.
type level struct {
	keys map[string]string // by folded key; nil for an array
	key  bool              // in an object, a key or "}" comes next
}

// add records key k in an object, or returns the error for a key it holds
// already.
func (l *level) add(k string) error {
	l.key = false
	folded := strings.ToLower(strings.ToUpper(k))
	if first, ok := l.keys[folded]; ok {
		if first != k {
			return fmt.Errorf("%w: the keys %q and %q are the same but for letter case", errBadRequest, first, k)
		}
		return fmt.Errorf("%w: the key %q appears twice", errBadRequest, k)
	}
	l.keys[folded] = k
	return nil
}

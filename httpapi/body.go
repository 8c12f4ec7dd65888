package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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

// errNotObject is the answer to a body that is not one JSON object.
var errNotObject = fmt.Errorf("%w: the body must be a JSON object such as {\"nickname\": \"Bob\", \"muc\": \"room@conference.example.org\"}", errBadRequest)

// scanObject reads the JSON object at the start of data: its fields (each
// one's raw JSON, a slice of data) and the offset where it ends. It fails
// with errNotObject if data does not start with one valid JSON object.
// late is the first of what it found in the object that unambiguous
// reports after its own checks: a key twice in an object, at any depth,
// also when the two differ only in letter case (Go's encoding/json matches
// struct fields so, and takes the last), or a number encoding/json cannot
// hold as a float64 (errNotObject).
//
// encoding/json checks the object (its syntax, its depth) and finds where
// it ends (firstValue); the fields and keys are then read from its bytes,
// which are valid JSON, by objectScanner.
func scanObject(data []byte) (fields map[string]json.RawMessage, end int64, late, err error) {
	raw, end, ok := firstValue(data)
	if !ok || raw[0] != '{' {
		return nil, 0, nil, errNotObject
	}
	sc := objectScanner{data: raw}
	fields = make(map[string]json.RawMessage, 4)
	sc.object(fields)
	return fields, end, sc.late, nil
}

// firstValue finds the JSON value data starts with as encoding/json's
// Decoder reads it: its bytes and the offset where it ends. ok is false
// when data does not start with a valid JSON value.
func firstValue(data []byte) (raw []byte, end int64, ok bool) {
	const ws = " \t\r\n"
	if json.Valid(data) { // the usual body: one value, white space around it
		raw = bytes.TrimLeft(data, ws)
		start := len(data) - len(raw)
		raw = bytes.TrimRight(raw, ws)
		return raw, int64(start + len(raw)), true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return nil, 0, false
	}
	end = dec.InputOffset()
	return data[end-int64(len(v)) : end], end, true
}

// objectScanner reads a JSON object that encoding/json found valid.
type objectScanner struct {
	data []byte
	i    int   // where it is in data
	late error // see scanObject
}

// object reads the object at s.i, and its fields into fields if not nil.
func (s *objectScanner) object(fields map[string]json.RawMessage) {
	var keys map[string]string // by folded key
	s.i++                      // {
	for s.ws(); s.data[s.i] != '}'; s.ws() {
		if s.data[s.i] == ',' {
			s.i++
			s.ws()
		}
		start := s.i
		s.str()
		k := s.key(s.data[start:s.i])
		if keys == nil {
			keys = make(map[string]string, 4)
		}
		if dup := addKey(keys, k); dup != nil && s.late == nil {
			s.late = dup
		}
		s.ws()
		s.i++ // :
		s.ws()
		start = s.i
		s.value()
		if fields != nil {
			fields[k] = s.data[start:s.i]
		}
	}
	s.i++ // }
}

// value reads the value at s.i.
func (s *objectScanner) value() {
	switch c := s.data[s.i]; {
	case c == '{':
		s.object(nil)
	case c == '[':
		s.i++
		for s.ws(); s.data[s.i] != ']'; s.ws() {
			if s.data[s.i] == ',' {
				s.i++
				s.ws()
			}
			s.value()
		}
		s.i++
	case c == '"':
		s.str()
	case c == '-' || '0' <= c && c <= '9':
		start := s.i
		for s.i < len(s.data) && strings.IndexByte("+-.0123456789eE", s.data[s.i]) >= 0 {
			s.i++
		}
		if _, err := strconv.ParseFloat(string(s.data[start:s.i]), 64); err != nil && s.late == nil {
			s.late = errNotObject // encoding/json's Token, which read bodies before, refused it
		}
	default: // true, false, null
		for s.i < len(s.data) && 'a' <= s.data[s.i] && s.data[s.i] <= 'z' {
			s.i++
		}
	}
}

// str reads past the string at s.i.
func (s *objectScanner) str() {
	for s.i++; s.data[s.i] != '"'; s.i++ {
		if s.data[s.i] == '\\' {
			s.i++
		}
	}
	s.i++
}

// key is the value of a key, raw as in the body.
func (s *objectScanner) key(raw []byte) string {
	if k, plain := plainString(raw); plain {
		return k
	}
	var k string
	_ = json.Unmarshal(raw, &k) // valid: encoding/json read it
	return k
}

// ws reads past white space.
func (s *objectScanner) ws() {
	for s.i < len(s.data) && (s.data[s.i] == ' ' || s.data[s.i] == '\t' || s.data[s.i] == '\r' || s.data[s.i] == '\n') {
		s.i++
	}
}

// addKey records key k of an object in keys, by its folded form, or
// returns the error for a key the object holds already.
func addKey(keys map[string]string, k string) error {
	folded := strings.ToLower(k) // for ASCII, what folding gives; and no copy of a lower-case key
	if !asciiOnly(k) {
		folded = strings.ToLower(strings.ToUpper(k))
	}
	if first, ok := keys[folded]; ok {
		if first != k {
			return fmt.Errorf("%w: the keys %q and %q are the same but for letter case", errBadRequest, first, k)
		}
		return fmt.Errorf("%w: the key %q appears twice", errBadRequest, k)
	}
	keys[folded] = k
	return nil
}

// asciiOnly reports whether s holds only ASCII.
func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

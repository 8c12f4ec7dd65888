package xmltok

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// startElement reads a start tag, "<name attr='value' …>" or "…/>".
func (s *Scanner) startElement(b []byte) (xml.Token, error) {
	end, ok := s.tagEnd(b)
	if !ok {
		return nil, errShort
	}
	tag := b[1:end] // from the name to before '>'
	name, i, err := s.nsname(tag, 0)
	if err != nil {
		return nil, s.syntaxError("expected element name after <")
	}
	from := len(s.attrs)
	empty := false
	for {
		i = skipSpace(tag, i)
		if i == len(tag) {
			break
		}
		if tag[i] == '/' {
			if i+1 != len(tag) {
				return nil, s.syntaxError("expected /> in element")
			}
			empty = true
			break
		}
		var a xml.Attr
		if a, i, err = s.attr(tag, i); err != nil {
			return nil, err
		}
		from = s.addAttr(from, a)
	}
	s.pos += end + 1
	if empty {
		s.pendingEnd, s.endName = true, name
	}
	attr := []xml.Attr{} // no allocation, and as encoding/xml has it
	if len(s.attrs) > from {
		attr = s.attrs[from:len(s.attrs):len(s.attrs)] // an append by the caller copies
	}
	return xml.StartElement{Name: name, Attr: attr}, nil
}

// attr reads the attribute at tag[i:], name='value' or name="value", and
// returns it and where it ends.
func (s *Scanner) attr(tag []byte, i int) (xml.Attr, int, error) {
	var a xml.Attr
	var err error
	if a.Name, i, err = s.nsname(tag, i); err != nil {
		return a, i, s.syntaxError("expected attribute name in element")
	}
	if i = skipSpace(tag, i); i == len(tag) || tag[i] != '=' {
		return a, i, s.syntaxError("attribute name without = in element")
	}
	if i = skipSpace(tag, i+1); i == len(tag) || tag[i] != '"' && tag[i] != '\'' {
		return a, i, s.syntaxError("unquoted or missing attribute value in element")
	}
	q := bytes.IndexByte(tag[i+1:], tag[i])
	if q < 0 {
		return a, i, s.syntaxError("unexpected EOF") // tagEnd found no closing quote: cannot happen
	}
	raw := tag[i+1 : i+1+q]
	if bytes.IndexByte(raw, '<') >= 0 {
		return a, i, s.syntaxError("unescaped < inside quoted string")
	}
	v, err := s.unescape(raw)
	if err != nil {
		return a, i, err
	}
	a.Value = s.intern(v, 64)
	return a, i + q + 2, nil
}

// addAttr appends a to the start tag's attributes, which begin at index
// from of s.attrs, and returns where they begin now. Start tags take their
// attributes from one shared array, a new one when it is full, instead
// of an allocation each.
func (s *Scanner) addAttr(from int, a xml.Attr) int {
	if len(s.attrs) == cap(s.attrs) {
		slab := make([]xml.Attr, 0, max(64, 2*(len(s.attrs)-from)))
		s.attrs, from = append(slab, s.attrs[from:]...), 0
	}
	s.attrs = append(s.attrs, a)
	return from
}

// tagEnd finds the '>' ending the start tag b begins with, outside quoted
// attribute values, resuming where the last search stopped.
func (s *Scanner) tagEnd(b []byte) (int, bool) {
	i, quote := max(s.hint, 1), s.hintQuote
	for i < len(b) {
		if quote != 0 {
			j := bytes.IndexByte(b[i:], quote)
			if j < 0 {
				i = len(b)
				break
			}
			i, quote = i+j+1, 0
			continue
		}
		switch b[i] {
		case '>':
			return i, true
		case '"', '\'':
			quote = b[i]
		}
		i++
	}
	s.hint, s.hintQuote = i, quote
	return 0, false
}

// endElement reads an end tag, "</name>".
func (s *Scanner) endElement(b []byte) (xml.Token, error) {
	end := bytes.IndexByte(b[s.hint:], '>')
	if end < 0 {
		s.hint = len(b)
		return nil, errShort
	}
	end += s.hint
	tag := b[2:end]
	name, i, err := s.nsname(tag, 0)
	if err != nil {
		return nil, s.syntaxError("expected element name after </")
	}
	if skipSpace(tag, i) != len(tag) {
		return nil, s.syntaxError("invalid characters between </" + name.Local + " and >")
	}
	s.pos += end + 1
	return xml.EndElement{Name: name}, nil
}

// procInst reads the XML declaration at the stream's start, and refuses
// any other processing instruction.
func (s *Scanner) procInst(b []byte) (xml.Token, error) {
	if s.Offset() != 0 {
		return nil, s.syntaxError("XMPP forbids processing instructions (RFC 6120 §11.1)")
	}
	from := max(s.hint, 2)
	end := bytes.Index(b[from:], []byte("?>"))
	if end < 0 {
		s.hint = max(2, len(b)-1)
		return nil, errShort
	}
	end += from
	n := nameLen(b[2:end])
	if string(b[2:2+n]) != "xml" {
		return nil, s.syntaxError("XMPP forbids processing instructions (RFC 6120 §11.1)")
	}
	// As encoding/xml: the content starts after the blanks that follow
	// the target, and may not be "" even if "?>" follows the target.
	i := skipSpace(b, 2+n)
	if i > end { // "<?xml?>": the '?' belonged to the end
		i = end
	}
	content := string(b[i:end])
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		return nil, s.syntaxError(fmt.Sprintf("unsupported version %q; only version 1.0 is supported", ver))
	}
	if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		return nil, s.syntaxError(fmt.Sprintf("encoding %q declared, but XMPP streams are UTF-8", enc))
	}
	s.pos += end + 2
	return xml.ProcInst{Target: "xml", Inst: []byte(content)}, nil
}

// procInstParam returns the `param="..."` or `param='...'` value in s, or
// "", as encoding/xml's procInst does (the same loose parsing, so that the
// same declarations are accepted).
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// skipSpace returns the index of the first byte at or after i in b that is
// not XML white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// nameLen is how long the name that b starts with is, as encoding/xml
// delimits it: up to any ASCII byte not valid in names.
func nameLen(b []byte) int {
	for i, c := range b {
		if c < utf8.RuneSelf && !isNameByte(c) {
			return i
		}
	}
	return len(b)
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// errName says a name is missing or not valid; the caller says where.
var errName = errors.New("xmltok: bad name")

// nsname reads the name at b[i:], "prefix:local" or "local", as encoding/xml's
// nsname does, and returns it and where it ends.
func (s *Scanner) nsname(b []byte, i int) (xml.Name, int, error) {
	n := nameLen(b[i:])
	raw := b[i : i+n]
	if !isName(raw) {
		return xml.Name{}, i, errName
	}
	var name xml.Name
	switch c := bytes.Count(raw, []byte{':'}); {
	case c > 1:
		return xml.Name{}, i, errName
	case c == 1:
		space, local, _ := bytes.Cut(raw, []byte{':'})
		if len(space) > 0 && len(local) > 0 {
			name.Space, name.Local = s.intern(space, 64), s.intern(local, 64)
			return name, i + n, nil
		}
	}
	name.Local = s.intern(raw, 64)
	return name, i + n, nil
}

// isName reports whether b is an XML name: for ASCII, a letter, '_' or
// ':' and then those, digits, '.' and '-'. A name with other characters
// (which XMPP servers do not send) is checked by encoding/xml itself, whose
// Unicode tables are not exported.
func isName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		switch {
		case c >= utf8.RuneSelf:
			return isNameSlow(b)
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_', c == ':':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// isNameSlow asks encoding/xml whether b, a run of name bytes, is a name.
// The colons, which encoding/xml would split on, are made underscores:
// both are valid anywhere in a name.
func isNameSlow(b []byte) bool {
	doc := append(append([]byte("<"), bytes.ReplaceAll(b, []byte{':'}, []byte{'_'})...), "/>"...)
	_, err := xml.NewDecoder(bytes.NewReader(doc)).RawToken()
	return err == nil
}

// intern returns b as a string, the same string for the same bytes as long
// as the scanner's table holds them: names and short attribute values (a
// room's JID, a role) repeat on every presence. The table is a cache of 1024
// strings indexed by a hash of their bytes; a string that collides with
// another replaces it.
func (s *Scanner) intern(b []byte, limit int) string {
	if len(b) > limit {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	e := &s.names[(h^h>>15)%uint32(len(s.names))]
	if *e != string(b) {
		*e = string(b)
	}
	return *e
}

// Package xmltok tokenizes an XMPP stream: the restricted XML of RFC 6120
// §11.1, read from the connection's bytes in slices rather than a byte at a
// time. A Scanner is an xml.TokenReader returning the raw tokens
// encoding/xml's Decoder.RawToken would (names with their prefix in
// Name.Space, attribute values with their references replaced); wrapped
// in xml.NewTokenDecoder, it gives what Decoder.Token gives, namespaces
// and end-tag matching included.
//
// It checks what encoding/xml's strict mode checks (names, quoted attribute
// values without '<', character and entity references, UTF-8, the
// characters XML allows) and refuses what XMPP forbids although
// encoding/xml accepts it: comments, processing instructions other than
// the XML declaration at the stream's start, DTDs and other directives.
// Every refusal is an *xml.SyntaxError: the stream is not XMPP.
//
// A Scanner keeps the bytes it has read, from the last Forget on, so that
// the exact text of an element can be cut out by stream offsets (Since).
package xmltok

import (
	"bytes"
	"encoding/xml"
	"io"
)

// Scanner reads tokens from an XMPP stream. See the package comment.
type Scanner struct {
	r    io.Reader
	buf  []byte // what was read; buf[0] is at stream offset base
	base int64
	keep int   // buf[keep:] is kept: what was read since the last Forget
	pos  int   // where the next token starts, in buf
	line int   // newlines in the stream before buf[0]
	rerr error // the reader's error, once it has failed
	err  error // the scanner's own sticky error

	hint      int  // how far past pos the current token's end was searched for
	hintQuote byte // the quote the search was inside, in a start tag

	pendingEnd bool // the last start tag was "/>": its end element is next
	endName    xml.Name

	text  []byte       // a text or attribute value with references replaced
	attrs []xml.Attr   // the attributes of the last start tags (addAttr)
	names [1024]string // interned names and short attribute values
}

// New returns a Scanner reading r from stream offset 0.
func New(r io.Reader) *Scanner {
	return &Scanner{r: r, buf: make([]byte, 0, 32<<10)}
}

// Offset is the stream offset where the last token returned ended, and the
// next one begins.
func (s *Scanner) Offset() int64 { return s.base + int64(s.pos) }

// SelfClosing reports whether the start element returned last was
// written "<name/>": its end element, next, takes no bytes.
func (s *Scanner) SelfClosing() bool { return s.pendingEnd }

// Since returns the stream's bytes from offset from to offset to; from must
// not be before the last Forget, to not past Offset. The slice is valid
// until the next Token, SkipContent or Forget.
func (s *Scanner) Since(from, to int64) []byte {
	return s.buf[from-s.base : to-s.base]
}

// Forget drops what was kept before stream offset upto (at most Offset).
// The bytes stay where they are until the buffer needs their room (fill).
func (s *Scanner) Forget(upto int64) { s.keep = int(upto - s.base) }

// makeRoom makes room in buf for a read: it moves what is kept to the
// front, or grows buf if what is kept fills it.
func (s *Scanner) makeRoom() {
	if cap(s.buf)-len(s.buf) >= 4<<10 {
		return
	}
	s.line += bytes.Count(s.buf[:s.keep], []byte{'\n'})
	kept := s.buf[s.keep:]
	switch {
	case cap(s.buf)-len(kept) < 8<<10: // what is kept fills it: grow
		s.buf = append(make([]byte, 0, 2*cap(s.buf)), kept...)
	case cap(s.buf) > 64<<10 && len(kept) < 4<<10: // do not keep a big element's buffer for ever
		s.buf = append(make([]byte, 0, 32<<10), kept...)
	default:
		s.buf = s.buf[:copy(s.buf, kept)]
	}
	s.base += int64(s.keep)
	s.pos -= s.keep
	s.keep = 0
}

// fill reads more of the stream into buf: at least one byte, or an error.
func (s *Scanner) fill() error {
	if s.rerr != nil {
		return s.rerr
	}
	s.makeRoom()
	for range 100 {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.rerr = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	s.rerr = io.ErrNoProgress
	return s.rerr
}

// syntaxError makes an *xml.SyntaxError at the current position.
func (s *Scanner) syntaxError(msg string) error {
	return &xml.SyntaxError{Msg: msg, Line: 1 + s.line + bytes.Count(s.buf[:s.pos], []byte{'\n'})}
}

// errShort says that a token's end is not in buf yet.
var errShort = &xml.SyntaxError{Msg: "unexpected EOF"}

// Token returns the stream's next raw token (see the package comment). A
// CharData's bytes are valid until the next call. At the stream's end it
// returns io.EOF; on bytes that are not XMPP's XML, an *xml.SyntaxError,
// and the same error ever after.
func (s *Scanner) Token() (xml.Token, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.pendingEnd {
		s.pendingEnd = false
		return xml.EndElement{Name: s.endName}, nil
	}
	for {
		if s.pos < len(s.buf) {
			tok, err := s.token()
			switch {
			case err == nil:
				s.hint, s.hintQuote = 0, 0
				return tok, nil
			case err == errShort && s.rerr == nil:
				// read on
			case err == errShort && s.rerr == io.EOF:
				s.err = s.syntaxError("unexpected EOF")
				return nil, s.err
			case err == errShort:
				s.err = s.rerr
				return nil, s.err
			default:
				s.err = err
				return nil, err
			}
		} else if s.rerr != nil {
			s.err = s.rerr
			return nil, s.err
		}
		_ = s.fill() // an error is kept in rerr, and seen above
	}
}

// token reads the token at pos, or fails with errShort if its end has not
// been read yet.
func (s *Scanner) token() (xml.Token, error) {
	b := s.buf[s.pos:]
	if b[0] != '<' {
		return s.charData(b)
	}
	if len(b) < 2 {
		return nil, errShort
	}
	switch b[1] {
	case '/':
		return s.endElement(b)
	case '?':
		return s.procInst(b)
	case '!':
		return s.cdata(b)
	}
	return s.startElement(b)
}

// charData reads text up to the next '<' (or the stream's end).
func (s *Scanner) charData(b []byte) (xml.Token, error) {
	end := bytes.IndexByte(b[s.hint:], '<')
	if end < 0 {
		if s.rerr != io.EOF {
			s.hint = len(b)
			return nil, errShort
		}
		end = len(b)
	} else {
		end += s.hint
	}
	raw := b[:end]
	if bytes.Contains(raw, []byte("]]>")) {
		return nil, s.syntaxError("unescaped ]]> not in CDATA section")
	}
	data, err := s.unescape(raw)
	if err != nil {
		return nil, err
	}
	s.pos += end
	return xml.CharData(data), nil
}

// cdata reads a CDATA section; any other "<!" (a comment, a DTD, another
// declaration) is refused.
func (s *Scanner) cdata(b []byte) (xml.Token, error) {
	const open = "<![CDATA["
	n := min(len(b), len(open))
	if string(b[:n]) != open[:n] {
		return nil, s.syntaxError("XMPP forbids comments, DTDs and other <! declarations (RFC 6120 §11.1)")
	}
	if len(b) < len(open) {
		return nil, errShort
	}
	from := max(s.hint, len(open))
	end := bytes.Index(b[from:], []byte("]]>"))
	if end < 0 {
		s.hint = max(len(open), len(b)-2)
		return nil, errShort
	}
	end += from
	data := b[len(open):end]
	if bytes.IndexByte(data, '\r') >= 0 {
		s.text = appendNewlines(s.text[:0], data)
		data = s.text
	}
	if err := s.checkChars(data); err != nil {
		return nil, err
	}
	s.pos += end + 3
	return xml.CharData(data), nil
}

// appendNewlines appends raw to dst with "\r\n" and "\r" made "\n", as XML
// requires.
func appendNewlines(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		}
		dst = append(dst, c)
	}
	return dst
}

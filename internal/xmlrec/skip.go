package xmlrec

import "bytes"

// SkipContent reads past the content of the element whose start tag the
// decoder has just read (it must not have been self-closing), without
// keeping or tokenizing it, and stops right before the element's own end
// tag, which is left for the decoder: the decoder's nesting check still
// holds, and its offsets count only what it read. It returns how many bytes
// it read past. It does the least it can to find the end tag (start and end
// tags, quoted attribute values, comments, CDATA sections, processing
// instructions and other directives), so a stream that is not well-formed
// may only be found so later, by the decoder.
//
// A reader who drops an element unread pays a byte scan for it instead of
// encoding/xml's tokenizer, which allocates for every token.
func (r *Recorder) SkipContent() (int64, error) {
	var (
		k       skipper
		skipped int64
		need    = 1 // bytes to have buffered before the next scan
	)
	for {
		buf, err := r.r.Peek(max(need, r.r.Buffered()))
		if len(buf) < need {
			return skipped, err
		}
		i, stop, more := k.scan(buf)
		_, _ = r.r.Discard(i) // i ≤ len(buf): cannot fail
		skipped += int64(i)
		if stop {
			return skipped, nil
		}
		need = 1
		if more {
			need = 2
		}
	}
}

// Skipper is SkipContent's byte scan for a reader with its own buffer:
// fed the bytes after a start tag (not self-closing) one buffer after
// another, it finds the element's own end tag the same way.
type Skipper struct{ k skipper }

// Scan reads buf as far as it can. It returns how much of buf it read
// past, and whether it stopped right before the element's end tag (stop)
// or needs at least one more byte after the last "<" it left unread
// (more): the next buffer must start there.
func (s *Skipper) Scan(buf []byte) (n int, stop, more bool) { return s.k.scan(buf) }

// scan states of a skipper.
const (
	inText     = iota
	inStartTag // after "<name", up to ">" (read in tags)
	inQuote    // inside an attribute value of a start tag
	inEndTag   // after "</", up to ">"
	inBang     // after "<!": a comment, a CDATA section or a directive follows
	inUntil    // inside a comment, CDATA section or processing instruction
	inDirect   // inside another <! directive, which encoding/xml accepts anywhere
)

// skipper is SkipContent's state between two buffers.
type skipper struct {
	state   int
	depth   int    // elements open below the one being skipped
	quote   byte   // the quote that opened the attribute value, or a directive's
	prev    byte   // the byte before the current one in a start tag
	bang    []byte // what followed "<!" so far
	until   string // the end of the comment, CDATA section or PI
	matched int    // how much of until was seen
	nest    int    // < nesting inside a directive
}

// scan reads buf as far as it can. It returns how much of buf it read past,
// and whether it stopped before the end tag (stop) or needs another byte
// after the last "<" it left unread (more).
func (k *skipper) scan(buf []byte) (i int, stop, more bool) {
	for i < len(buf) {
		switch k.state {
		case inText, inStartTag:
			if i, stop, more = k.tags(buf, i); stop || more {
				return i, stop, more
			}
		case inQuote:
			i = k.to(buf, i, k.quote, inStartTag)
		case inEndTag:
			i = k.to(buf, i, '>', inText)
		case inBang:
			k.markup(buf[i])
			i++
		case inUntil:
			k.untilByte(buf[i])
			i++
		case inDirect:
			k.directive(buf[i])
			i++
		}
	}
	return i, false, false
}

// tags reads text and start tags, the bulk of most content, in one loop,
// and leaves the rest to scan.
func (k *skipper) tags(buf []byte, i int) (int, bool, bool) {
	state, prev, depth := k.state, k.prev, k.depth
	defer func() { k.state, k.prev, k.depth = state, prev, depth }()
	for i < len(buf) {
		c := buf[i]
		if state == inStartTag {
			i++
			switch c {
			case '>':
				if prev != '/' {
					depth++
				}
				state = inText
			case '"', '\'':
				state, k.quote = inQuote, c
				return i, false, false
			}
			prev = c
			continue
		}
		if c != '<' {
			j := bytes.IndexByte(buf[i:], '<')
			if j < 0 {
				return len(buf), false, false
			}
			i += j
		}
		if i+1 >= len(buf) {
			return i, false, true // what follows "<" decides
		}
		if n := buf[i+1]; n == '/' || n == '!' || n == '?' {
			k.state, k.depth = state, depth
			i, stop, more := k.text(buf, i)
			state, prev, depth = k.state, k.prev, k.depth
			if stop || more || state != inText {
				return i, stop, more
			}
			continue
		}
		state, prev = inStartTag, 0
		i++
	}
	return i, false, false
}

// text reads text up to the next markup and starts reading it.
func (k *skipper) text(buf []byte, i int) (int, bool, bool) {
	j := bytes.IndexByte(buf[i:], '<')
	if j < 0 {
		return len(buf), false, false
	}
	i += j
	if i+1 >= len(buf) {
		return i, false, true // what follows "<" decides
	}
	switch buf[i+1] {
	case '/':
		if k.depth == 0 {
			return i, true, false // the element's own end tag: the decoder's
		}
		k.state = inEndTag
		return i + 2, false, false
	case '!':
		k.state, k.bang = inBang, k.bang[:0]
		return i + 2, false, false
	case '?':
		k.state, k.until, k.matched = inUntil, "?>", 0
		return i + 2, false, false
	}
	k.state, k.prev = inStartTag, 0
	return i + 1, false, false
}

// to reads up to and past the byte c, then goes to state next.
func (k *skipper) to(buf []byte, i int, c byte, next int) int {
	j := bytes.IndexByte(buf[i:], c)
	if j < 0 {
		return len(buf)
	}
	switch k.state {
	case inQuote:
		k.prev = c
	case inEndTag:
		k.depth--
	}
	k.state = next
	return i + j + 1
}

// markup reads one byte after "<!" and decides what it opens.
func (k *skipper) markup(c byte) {
	k.bang = append(k.bang, c)
	switch {
	case string(k.bang) == "--":
		k.state, k.until, k.matched = inUntil, "-->", 0
	case string(k.bang) == "[CDATA[":
		k.state, k.until, k.matched = inUntil, "]]>", 0
	case !bytes.HasPrefix([]byte("--"), k.bang) && !bytes.HasPrefix([]byte("[CDATA["), k.bang):
		// A directive; its first byte means nothing, as in encoding/xml.
		k.state, k.nest, k.quote = inDirect, 0, 0
	}
}

// untilByte reads one byte of a comment, CDATA section or PI.
func (k *skipper) untilByte(c byte) {
	switch {
	case c == k.until[k.matched]:
		k.matched++
		if k.matched == len(k.until) {
			k.state = inText
		}
	case k.matched == 2 && k.until[0] == k.until[1] && c == k.until[0]:
		// "]]]>": the last two "]" still open the end.
	case c == k.until[0]:
		k.matched = 1
	default:
		k.matched = 0
	}
}

// directive reads one byte of a directive, as encoding/xml does: up to the
// ">" outside quotes and nested <>.
func (k *skipper) directive(c byte) {
	switch {
	case k.quote != 0:
		if c == k.quote {
			k.quote = 0
		}
	case c == '"' || c == '\'':
		k.quote = c
	case c == '<':
		k.nest++
	case c == '>' && k.nest == 0:
		k.state = inText
	case c == '>':
		k.nest--
	}
}

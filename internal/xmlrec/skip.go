package xmlrec

import "bytes"

// scan states of SkipContent.
const (
	inText     = iota
	inStartTag // after "<name", up to ">"
	inQuote    // inside an attribute value of a start tag
	inEndTag   // after "</", up to ">"
	inBang     // after "<!": a comment or a CDATA section follows
	inUntil    // inside a comment, CDATA section or processing instruction
	inDirect   // inside another <! directive, which encoding/xml accepts anywhere
)

// SkipContent reads past the content of the element whose start tag the
// decoder has just read (it must not have been self-closing), without
// keeping or tokenizing it, and stops right before the element's own end
// tag, which is left for the decoder: the decoder's nesting check still
// holds, and its offsets count only what it read. It returns how many bytes
// it read past. It does the least it can to find the end tag (start and end
// tags, quoted attribute values, comments, CDATA sections and processing
// instructions), so a stream that is not well-formed may only be found so
// later, by the decoder.
//
// A reader who drops an element unread pays a byte scan for it instead of
// encoding/xml's tokenizer, which allocates for every token.
func (r *Recorder) SkipContent() (int64, error) {
	var (
		skipped int64
		state   = inText
		depth   int
		quote   byte   // the quote that opened the attribute value
		prev    byte   // the byte before the current one in a start tag
		bang    []byte // what followed "<!" so far
		until   string // the end of the comment, CDATA section or PI
		matched int    // how much of until was seen
		need    = 1    // bytes to have buffered before the next scan
		nest    int    // < nesting inside a directive
	)
	for {
		buf, err := r.r.Peek(max(need, r.r.Buffered()))
		if len(buf) < need {
			return skipped, err
		}
		need = 1
		i := 0
	scan:
		for i < len(buf) {
			switch state {
			case inText:
				j := bytes.IndexByte(buf[i:], '<')
				if j < 0 {
					i = len(buf)
					break
				}
				i += j
				if i+1 >= len(buf) {
					need = 2 // what follows "<" decides
					break scan
				}
				switch buf[i+1] {
				case '/':
					if depth == 0 {
						break scan // the element's own end tag: the decoder's
					}
					state, i = inEndTag, i+2
				case '!':
					state, bang, i = inBang, bang[:0], i+2
				case '?':
					state, until, matched, i = inUntil, "?>", 0, i+2
				default:
					state, prev, i = inStartTag, 0, i+1
				}
			case inStartTag:
				k := i
				for k < len(buf) && buf[k] != '>' && buf[k] != '"' && buf[k] != '\'' {
					k++
				}
				if k > i {
					prev = buf[k-1]
				}
				if i = k; k == len(buf) {
					break
				}
				c := buf[k]
				i++
				if c != '>' {
					state, quote = inQuote, c
					break
				}
				if prev != '/' {
					depth++
				}
				state = inText
			case inQuote:
				j := bytes.IndexByte(buf[i:], quote)
				if j < 0 {
					i = len(buf)
					break
				}
				i += j + 1
				state, prev = inStartTag, quote
			case inEndTag:
				j := bytes.IndexByte(buf[i:], '>')
				if j < 0 {
					i = len(buf)
					break
				}
				i += j + 1
				state = inText
				depth--
			case inBang:
				bang = append(bang, buf[i])
				i++
				switch {
				case string(bang) == "--":
					state, until, matched = inUntil, "-->", 0
				case string(bang) == "[CDATA[":
					state, until, matched = inUntil, "]]>", 0
				case !bytes.HasPrefix([]byte("--"), bang) && !bytes.HasPrefix([]byte("[CDATA["), bang):
					state, nest, quote = inDirect, 0, 0 // its first byte means nothing, as in encoding/xml
				}
			case inDirect: // as encoding/xml reads one: to the ">" outside quotes and nested <>
				c := buf[i]
				i++
				switch {
				case quote != 0:
					if c == quote {
						quote = 0
					}
				case c == '"' || c == '\'':
					quote = c
				case c == '<':
					nest++
				case c == '>' && nest == 0:
					state = inText
				case c == '>':
					nest--
				}
			case inUntil:
				c := buf[i]
				i++
				switch {
				case c == until[matched]:
					matched++
					if matched == len(until) {
						state = inText
					}
				case matched == 2 && until[0] == until[1] && c == until[0]:
					// "]]]>": the last two "]" still open the end.
				case c == until[0]:
					matched = 1
				default:
					matched = 0
				}
			}
		}
		r.r.Discard(i)
		skipped += int64(i)
		if state == inText && depth == 0 && need == 1 && i < len(buf) {
			return skipped, nil // stopped before "</"
		}
	}
}

package xmltok

import "github.com/muc-kick/muc-kick/internal/xmlrec"

// SkipContent reads past the content of the element whose start tag Token
// has just returned (it must not have been self-closing), without
// tokenizing it, and stops right before the element's own end tag, which
// is left for Token: the nesting check of a decoder on top still holds. It
// forgets what it read past, and what was kept before it: the element can
// no longer be cut out. Like xmlrec.Recorder.SkipContent, it does the least
// it can to find the end tag, so a stream that is not well-formed, or has
// what XMPP forbids, inside the skipped content may be found so only later,
// or never.
func (s *Scanner) SkipContent() error {
	if s.err != nil {
		return s.err
	}
	var k xmlrec.Skipper
	need := 1 // bytes to have before the next scan
	for {
		if len(s.buf)-s.pos < need {
			if s.rerr != nil { // io.EOF too, as xmlrec.Recorder.SkipContent has it
				s.err = s.rerr
				return s.err
			}
			_ = s.fill() // an error is kept in rerr, and seen above
			continue
		}
		n, stop, more := k.Scan(s.buf[s.pos:])
		s.pos += n
		s.Forget(s.Offset())
		if stop {
			return nil
		}
		need = 1
		if more {
			need = 2
		}
	}
}

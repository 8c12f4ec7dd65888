// Package xmlrec keeps the bytes an xml.Decoder reads from a stream, so that
// the raw text of each element can be cut out by the decoder's input offsets
// (xml.Decoder.InputOffset). The test clients use it to show what a server
// sent; the component's stream scanner (internal/xmltok) keeps its own bytes
// and borrows only its skipper (Skipper).
package xmlrec

import "bufio"

// Recorder sits between a buffered reader and an xml.Decoder and keeps a
// copy of every byte the decoder takes. It is an io.ByteReader, so
// encoding/xml reads from it byte by byte and adds no read-ahead buffer of
// its own: the decoder's offsets are offsets into what Recorder kept.
type Recorder struct {
	r    *bufio.Reader
	buf  []byte
	base int64 // the stream offset of buf[0]
}

// New returns a Recorder reading from r, at stream offset 0.
func New(r *bufio.Reader) *Recorder { return &Recorder{r: r} }

// ReadByte reads and keeps one byte.
func (r *Recorder) ReadByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err == nil {
		r.buf = append(r.buf, b)
	}
	return b, err
}

// Read reads and keeps what it reads.
func (r *Recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// Since returns the kept bytes from stream offset from to offset to; from
// must not be before the last Forget. The slice is valid until the next
// read or Forget.
func (r *Recorder) Since(from, to int64) []byte {
	return r.buf[from-r.base : to-r.base]
}

// Forget drops what was kept before stream offset upto.
func (r *Recorder) Forget(upto int64) {
	n := copy(r.buf, r.buf[upto-r.base:])
	r.buf = r.buf[:n]
	r.base = upto
	if cap(r.buf) > 64<<10 && n < 4<<10 { // do not keep a big element's buffer for ever
		r.buf = append(make([]byte, 0, 4<<10), r.buf...)
	}
}

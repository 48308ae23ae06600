package load

import "errors"

// dechunker decodes an HTTP/1.1 chunked body incrementally and in place: it
// hands back sub-slices of the input, never copies.
type dechunker struct {
	state uint8
	size  int64 // data bytes left in the current chunk
	digit bool  // a hex digit of the size line was seen
}

const (
	chSize    = iota // hex digits of the chunk size
	chExt            // chunk extension, up to LF
	chData           // chunk data
	chDataEnd        // CRLF after the data
	chTrailer        // trailer lines after the last chunk (an empty line ends them)
	chTrailerLine
	chDone
)

var errBadChunk = errors.New("malformed chunked encoding")

// next consumes bytes of b and returns how many, and the body bytes among
// them (a sub-slice of b). done is true once the last chunk and trailer are in.
func (d *dechunker) next(b []byte) (n int, data []byte, done bool, err error) {
	for n < len(b) {
		c := b[n]
		switch d.state {
		case chSize:
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
				v := int64(c)
				switch {
				case c <= '9':
					v -= '0'
				case c >= 'a':
					v -= 'a' - 10
				default:
					v -= 'A' - 10
				}
				if d.size > 1<<40 {
					return n, nil, false, errBadChunk
				}
				d.size = d.size<<4 | v
				d.digit = true
			case c == ';' || c == '\r' || c == ' ' || c == '\t':
				if !d.digit {
					return n, nil, false, errBadChunk
				}
				d.state = chExt
			case c == '\n':
				if !d.digit {
					return n, nil, false, errBadChunk
				}
				d.endSizeLine()
			default:
				return n, nil, false, errBadChunk
			}
			n++
		case chExt:
			n++
			if c == '\n' {
				d.endSizeLine()
			}
		case chData:
			k := int(min(d.size, int64(len(b)-n)))
			data = b[n : n+k]
			d.size -= int64(k)
			n += k
			if d.size == 0 {
				d.state = chDataEnd
			}
			return n, data, false, nil
		case chDataEnd:
			n++
			switch c {
			case '\r':
			case '\n':
				d.state, d.size, d.digit = chSize, 0, false
			default:
				return n, nil, false, errBadChunk
			}
		case chTrailer: // at the start of a trailer line
			n++
			switch c {
			case '\r':
			case '\n':
				d.state = chDone
				return n, nil, true, nil
			default:
				d.state = chTrailerLine
			}
		case chTrailerLine:
			n++
			if c == '\n' {
				d.state = chTrailer
			}
		case chDone:
			return n, nil, true, nil
		}
	}
	return n, nil, d.state == chDone, nil
}

func (d *dechunker) endSizeLine() {
	if d.size == 0 {
		d.state = chTrailer
		return
	}
	d.state = chData
}

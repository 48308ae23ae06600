package fmp4

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error Boxes returns.
var ErrMalformed = errors.New("fmp4: malformed box")

// Box is one box found by Boxes. Payload aliases the parsed slice.
type Box struct {
	Type    string // four-character code, e.g. "moov"
	Size    uint64 // whole box: header (8, or 16 with largesize) plus payload
	Payload []byte // the bytes after the header; for 'uuid' it starts with the 16-byte usertype
}

// Boxes splits b into the list of boxes it holds, in order, without
// descending into them: call Boxes again on a container's Payload (for
// stsd, dref and sample entries skip their fixed fields first). It handles
// 64-bit largesize and size 0 ("to the end"), and returns an error wrapping
// ErrMalformed, never panicking, when a header or a size does not fit b.
func Boxes(b []byte) ([]Box, error) {
	var boxes []Box
	for off := 0; off < len(b); {
		box, n, err := parseBox(b[off:])
		if err != nil {
			return boxes, fmt.Errorf("%w at offset %d: %v", ErrMalformed, off, err)
		}
		boxes = append(boxes, box)
		off += n
	}
	return boxes, nil
}

// parseBox reads the box at the start of b and returns it with its length.
// Sizes are compared as uint64 so that no conversion can wrap.
func parseBox(b []byte) (Box, int, error) {
	if len(b) < 8 {
		return Box{}, 0, fmt.Errorf("%d bytes left, need an 8-byte header", len(b))
	}
	size := uint64(binary.BigEndian.Uint32(b))
	typ := string(b[4:8])
	hdr := uint64(8)
	switch size {
	case 0: // the box extends to the end of the input
		size = uint64(len(b))
	case 1: // a 64-bit largesize follows the type
		if len(b) < 16 {
			return Box{}, 0, fmt.Errorf("box %q: truncated largesize", typ)
		}
		size, hdr = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < hdr {
		return Box{}, 0, fmt.Errorf("box %q: size %d smaller than its header", typ, size)
	}
	if size > uint64(len(b)) {
		return Box{}, 0, fmt.Errorf("box %q: size %d exceeds the %d bytes left", typ, size, len(b))
	}
	return Box{Type: typ, Size: size, Payload: b[hdr:size:size]}, int(size), nil
}

package ogg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxPacket bounds one packet (headers with cover art included): a stream
// announcing more is rejected instead of growing a buffer without end.
const MaxPacket = 1 << 20

// Errors of a malformed stream. They wrap into *FormatError with the offset.
var (
	ErrCapture   = errors.New("no Ogg capture pattern (not an Ogg stream, or lost sync)")
	ErrVersion   = errors.New("unsupported Ogg version")
	ErrCRC       = errors.New("page CRC mismatch (corrupt data)")
	ErrSerial    = errors.New("page of another logical stream (multiplexed Ogg is not supported)")
	ErrNoBOS     = errors.New("first page is not a beginning-of-stream page")
	ErrTooLarge  = fmt.Errorf("packet larger than %d bytes", MaxPacket)
	ErrSequence  = errors.New("continued packet without its start")
	ErrTruncated = errors.New("stream ends inside a page")
)

// FormatError is a malformed stream, with the byte offset of the bad page.
type FormatError struct {
	Offset int64
	Err    error
}

func (e *FormatError) Error() string { return fmt.Sprintf("at byte %d: %v", e.Offset, e.Err) }
func (e *FormatError) Unwrap() error { return e.Err }

// Reader demuxes one logical Ogg stream into packets. It is strict: an
// encoder's stream must be clean, so any damage is an error, never a guess.
type Reader struct {
	r       *bufio.Reader
	off     int64
	serial  uint32
	pages   int
	eos     bool
	granule uint64 // of the last page read
	seq     uint32 // of the last page read

	hdr     [headerLen + maxSegments]byte
	body    []byte
	partial []byte // packet continued onto the next page
	queue   [][]byte
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 16<<10)}
}

// NextPacket returns the next packet. Its bytes are valid only until the
// next call: callers that keep a packet copy it. It returns io.EOF at the end of the stream (an EOS page or a
// clean end between pages), and a *FormatError for malformed input.
func (rd *Reader) NextPacket() ([]byte, error) {
	for len(rd.queue) == 0 {
		if rd.eos {
			return nil, io.EOF
		}
		if err := rd.readPage(); err != nil {
			return nil, err
		}
	}
	p := rd.queue[0]
	rd.queue = rd.queue[1:]
	return p, nil
}

// Granule is the granule position of the last page read.
func (rd *Reader) Granule() uint64 { return rd.granule }

// PageInfo is one whole page read: where it ends in the stream and what its
// header says.
type PageInfo struct {
	End     int64 // byte offset just past the page
	Granule uint64
	Seq     uint32
	EOS     bool
}

// NextPage reads one whole page, dropping its packets: for finding where a
// stream cut short (a crash while writing) stops being whole. It returns
// io.EOF after the last page, and a *FormatError (ErrTruncated for a torn
// last page) for damage.
func (rd *Reader) NextPage() (PageInfo, error) {
	if rd.eos {
		return PageInfo{}, io.EOF
	}
	if err := rd.readPage(); err != nil {
		return PageInfo{}, err
	}
	rd.queue = rd.queue[:0]
	return PageInfo{End: rd.off, Granule: rd.granule, Seq: rd.seq, EOS: rd.eos}, nil
}

func (rd *Reader) fail(err error) error { return &FormatError{Offset: rd.off, Err: err} }

// readPage reads one page and queues the packets it completes.
func (rd *Reader) readPage() error {
	h := rd.hdr[:headerLen]
	if _, err := io.ReadFull(rd.r, h); err != nil {
		if err == io.EOF {
			return io.EOF // clean end between pages
		}
		return rd.transport(err)
	}
	if string(h[:4]) != "OggS" {
		return rd.fail(ErrCapture)
	}
	if h[4] != 0 {
		return rd.fail(ErrVersion)
	}
	nseg := int(h[26])
	seg := rd.hdr[headerLen : headerLen+nseg]
	if _, err := io.ReadFull(rd.r, seg); err != nil {
		return rd.transport(err)
	}
	size := 0
	for _, v := range seg {
		size += int(v)
	}
	rd.body = grow(rd.body, size)
	if _, err := io.ReadFull(rd.r, rd.body); err != nil {
		return rd.transport(err)
	}
	if err := rd.checkPage(h, seg); err != nil {
		return err
	}
	rd.off += int64(headerLen + nseg + size)
	return rd.split(h[5], seg)
}

// transport reports a read error: a short page is the client's fault, other
// errors (timeouts, resets) belong to the connection and pass unchanged.
func (rd *Reader) transport(err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return rd.fail(ErrTruncated)
	}
	return err
}

func (rd *Reader) checkPage(h, seg []byte) error {
	want := binary.LittleEndian.Uint32(h[22:26])
	binary.LittleEndian.PutUint32(h[22:26], 0)
	got := crc(crc(crc(0, h), seg), rd.body)
	if got != want {
		return rd.fail(ErrCRC)
	}
	serial := binary.LittleEndian.Uint32(h[14:18])
	flags := h[5]
	switch {
	case rd.pages == 0 && flags&FlagBOS == 0:
		return rd.fail(ErrNoBOS)
	case rd.pages == 0:
		rd.serial = serial
	case serial != rd.serial:
		return rd.fail(ErrSerial)
	}
	rd.pages++
	rd.eos = flags&FlagEOS != 0
	rd.granule = binary.LittleEndian.Uint64(h[6:14])
	rd.seq = binary.LittleEndian.Uint32(h[18:22])
	return nil
}

// split cuts the page body into packets by its lacing values; a packet whose
// last lacing value is 255 continues on the next page.
func (rd *Reader) split(flags byte, seg []byte) error {
	if flags&FlagContinued == 0 {
		rd.partial = rd.partial[:0] // a dangling start with no continuation is dropped
	} else if len(rd.partial) == 0 && len(seg) > 0 {
		return rd.fail(ErrSequence)
	}
	rd.queue = rd.queue[:0]
	start, off := 0, 0
	for i, v := range seg {
		off += int(v)
		if v == 255 {
			if i == len(seg)-1 { // the packet goes on in the next page
				rd.partial = append(rd.partial, rd.body[start:off]...)
			}
			continue
		}
		pkt := rd.body[start:off]
		if len(rd.partial) > 0 {
			pkt = append(rd.partial, pkt...)
			rd.partial = nil
		}
		if len(pkt) > MaxPacket {
			return rd.fail(ErrTooLarge)
		}
		rd.queue = append(rd.queue, pkt)
		start = off
	}
	if len(rd.partial) > MaxPacket {
		return rd.fail(ErrTooLarge)
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

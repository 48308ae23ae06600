package load

import "encoding/binary"

// PageHeader is what the load generator needs of an Ogg page (RFC 3533).
type PageHeader struct {
	Flags    byte
	Granule  uint64
	Serial   uint32
	Seq      uint32
	Segments int // lacing values
	BodyLen  int
}

// Size is the page's length on the wire.
func (h PageHeader) Size() int { return oggHeaderLen + h.Segments + h.BodyLen }

// Audio reports whether the page ends an Opus audio packet: the OpusHead
// and OpusTags pages have granule position 0, and a page ending no packet
// has -1 (RFC 7845 §4).
func (h PageHeader) Audio() bool { return h.Granule != 0 && h.Granule != ^uint64(0) }

const oggHeaderLen = 27

// PageEvent is what Feed found.
type PageEvent uint8

const (
	// PageNone: the bytes were consumed, no page completed.
	PageNone PageEvent = iota
	// PageDone: a page completed; its header is in PageParser.Page.
	PageDone
	// PageLostSync: the bytes were not an Ogg page where one should start;
	// the parser now scans for the next capture pattern.
	PageLostSync
)

const (
	stHeader = iota
	stLacing
	stBody
	stResync
)

// PageParser splits a byte stream into Ogg pages incrementally, chunk by
// chunk, without copying bodies, checking CRCs or allocating: it keeps only
// the 27-byte header and the lacing values of the page in progress.
type PageParser struct {
	hdr     [oggHeaderLen]byte
	hn      int // header bytes collected
	nseg    int
	ln      int // lacing values read
	body    int // body length of the page in progress
	left    int // body bytes still to skip
	state   uint8
	matched int // capture-pattern bytes matched while resyncing

	// Page is the header of the last page completed.
	Page PageHeader
	// Pages and LostSync count completed pages and losses of sync.
	Pages, LostSync int64
}

var capture = [4]byte{'O', 'g', 'g', 'S'}

// Feed consumes bytes from b up to the end of the next page at most and
// returns how many it consumed and whether a page completed (PageDone) or
// sync was lost (PageLostSync). Call it again with b[n:] until b is empty.
func (p *PageParser) Feed(b []byte) (n int, ev PageEvent) {
	for n < len(b) {
		switch p.state {
		case stHeader:
			if p.hn < 5 { // the capture pattern and version, byte by byte
				c := b[n]
				if (p.hn < 4 && c != capture[p.hn]) || (p.hn == 4 && c != 0) {
					// Not a page: look for the next capture pattern. The byte
					// that broke the match may itself start one ("OgOggS").
					p.state, p.hn, p.matched = stResync, 0, 0
					if c == 'O' {
						p.matched = 1
					}
					p.LostSync++
					return n + 1, PageLostSync
				}
				p.hdr[p.hn] = c
				p.hn++
				n++
				continue
			}
			k := copy(p.hdr[p.hn:], b[n:])
			p.hn += k
			n += k
			if p.hn == oggHeaderLen {
				p.nseg, p.ln, p.body = int(p.hdr[26]), 0, 0
				p.state = stLacing
				if p.nseg == 0 && p.finish() {
					return n, PageDone
				}
			}
		case stLacing:
			k := min(p.nseg-p.ln, len(b)-n)
			for _, v := range b[n : n+k] {
				p.body += int(v)
			}
			p.ln += k
			n += k
			if p.ln == p.nseg && p.finish() {
				return n, PageDone
			}
		case stBody:
			k := min(p.left, len(b)-n)
			p.left -= k
			n += k
			if p.left == 0 {
				p.done()
				return n, PageDone
			}
		case stResync:
			for n < len(b) {
				c := b[n]
				n++
				switch {
				case c == capture[p.matched]:
					p.matched++
				case c == 'O':
					p.matched = 1
				default:
					p.matched = 0
				}
				if p.matched == 4 {
					p.hdr = [oggHeaderLen]byte{'O', 'g', 'g', 'S'}
					p.hn, p.state = 4, stHeader
					break
				}
			}
		}
	}
	return n, PageNone
}

// finish is called once the lacing values are in: it completes an empty
// page at once (true) or moves on to its body.
func (p *PageParser) finish() bool {
	if p.body == 0 {
		p.done()
		return true
	}
	p.left, p.state = p.body, stBody
	return false
}

func (p *PageParser) done() {
	h := p.hdr[:]
	p.Page = PageHeader{Flags: h[5], Granule: binary.LittleEndian.Uint64(h[6:]),
		Serial: binary.LittleEndian.Uint32(h[14:]), Seq: binary.LittleEndian.Uint32(h[18:]),
		Segments: p.nseg, BodyLen: p.body}
	p.Pages++
	p.hn, p.state = 0, stHeader
}

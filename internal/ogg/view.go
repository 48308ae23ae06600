package ogg

import "encoding/binary"

// View is how one listener's stream numbers the program's shared pages: a
// player joining mid-show wants the headers as pages 0 and 1, the audio
// right after them, and granule positions from about 0 (VLC waits out a
// later start, and drops what it has buffered meanwhile as late). Every
// listener whose stream starts at the same page has the same View, so a
// cohort of listeners still shares one copy of the bytes.
type View struct {
	Seq     uint32 // subtracted from every page's sequence number
	Granule uint64 // subtracted from every granule position
}

// ViewFrom is the view of a stream whose first audio page is first: that
// page becomes page 2 and its first sample granule 0.
func ViewFrom(first Page) View {
	return View{Seq: first.Seq - firstAudioSeq, Granule: first.StartGranule()}
}

// StartGranule is the granule position that p's first sample has in v.
func (v View) StartGranule(p Page) uint64 { return p.StartGranule() - v.Granule }

// Renumber rewrites b, a copy of p.Data (possibly renumbered for another
// view already), as page p appears in v. The CRC is patched rather than
// recomputed: the Ogg CRC is linear (no initial value, no final xor), so
// the change of the checksum is the checksum of the change, which only
// spans the 16 bytes from the granule to the sequence number.
func (p Page) Renumber(b []byte, v View) {
	seq := p.Seq - v.Seq
	granule := p.Granule
	if granule != ^uint64(0) { // -1: no packet ends on the page
		granule -= v.Granule
	}
	var diff [16]byte // bytes 6..21 of the page: granule, serial, sequence
	binary.LittleEndian.PutUint64(diff[0:], binary.LittleEndian.Uint64(b[6:])^granule)
	binary.LittleEndian.PutUint32(diff[12:], binary.LittleEndian.Uint32(b[18:])^seq)
	binary.LittleEndian.PutUint64(b[6:], granule)
	binary.LittleEndian.PutUint32(b[18:], seq)
	shift := p.crcShift
	if shift == 0 {
		shift = zeroShift(len(b) - 22)
	}
	delta := mulmod(crc(0, diff[:]), shift)
	binary.LittleEndian.PutUint32(b[22:], binary.LittleEndian.Uint32(b[22:])^delta)
}

// AppendView appends p as it appears in v.
func (p Page) AppendView(dst []byte, v View) []byte {
	start := len(dst)
	dst = append(dst, p.Data...)
	p.Renumber(dst[start:], v)
	return dst
}

// crcPoly is the Ogg CRC polynomial without its x^32 term.
const crcPoly = 0x04c11db7

// mulmod multiplies two polynomials over GF(2) modulo the CRC polynomial.
func mulmod(a, b uint32) uint32 {
	var r uint32
	for i := 31; i >= 0; i-- {
		if r&0x80000000 != 0 {
			r = r<<1 ^ crcPoly
		} else {
			r <<= 1
		}
		if b>>uint(i)&1 != 0 {
			r ^= a
		}
	}
	return r
}

// zeroShift is x^(8n) modulo the CRC polynomial: feeding n zero bytes to
// the CRC multiplies its state by it.
func zeroShift(n int) uint32 {
	r, sq := uint32(1), uint32(1)<<8 // x^0, x^8
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			r = mulmod(r, sq)
		}
		sq = mulmod(sq, sq)
	}
	return r
}

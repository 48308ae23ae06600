// Package ogg reads and writes Ogg/Opus (RFC 3533, RFC 7845): a strict demuxer
// for encoder input and a pager that turns program frames into shared pages.
package ogg

import (
	"encoding/binary"
)

// Header type flags of an Ogg page.
const (
	FlagContinued = 0x01 // the first packet continues one from the previous page
	FlagBOS       = 0x02 // beginning of stream
	FlagEOS       = 0x04 // end of stream
)

const (
	headerLen   = 27
	maxSegments = 255
	// MaxPageSize is the largest page the format allows.
	MaxPageSize = headerLen + maxSegments + maxSegments*255
)

// crcTable is the Ogg CRC-32 (polynomial 0x04c11db7, not reflected, zero
// initial value and no final xor): hash/crc32 only does the reflected kind.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// Seal fills in the CRC of a complete page whose fields were changed
// (granule, sequence number): the page must hold exactly one page.
func Seal(page []byte) {
	binary.LittleEndian.PutUint32(page[22:], 0)
	binary.LittleEndian.PutUint32(page[22:], crc(0, page))
}

func crc(c uint32, b []byte) uint32 {
	for _, v := range b {
		c = c<<8 ^ crcTable[byte(c>>24)^v]
	}
	return c
}

// BuildPage returns one complete page holding packets (each must fit in the
// page: at most 255 lacing values in all). It is for headers, tests and the
// pager; granule is the page's granule position.
func BuildPage(flags byte, granule uint64, serial, seq uint32, packets [][]byte) []byte {
	size := headerLen + lacingValues(packets)
	for _, p := range packets {
		size += len(p)
	}
	return appendPage(make([]byte, 0, size), flags, granule, serial, seq, packets)
}

// appendPage appends a page to dst and fills in its CRC.
func appendPage(dst []byte, flags byte, granule uint64, serial, seq uint32, packets [][]byte) []byte {
	start := len(dst)
	dst = append(dst, 'O', 'g', 'g', 'S', 0, flags)
	dst = binary.LittleEndian.AppendUint64(dst, granule)
	dst = binary.LittleEndian.AppendUint32(dst, serial)
	dst = binary.LittleEndian.AppendUint32(dst, seq)
	dst = append(dst, 0, 0, 0, 0, 0) // CRC, segment count
	nseg := 0
	for _, p := range packets {
		for n := len(p); ; n -= 255 {
			nseg++
			if n < 255 {
				dst = append(dst, byte(n))
				break
			}
			dst = append(dst, 255)
		}
	}
	dst[start+26] = byte(nseg)
	for _, p := range packets {
		dst = append(dst, p...)
	}
	binary.LittleEndian.PutUint32(dst[start+22:], crc(0, dst[start:]))
	return dst
}

// lacingValues is how many segment-table entries packets take.
func lacingValues(packets [][]byte) int {
	n := 0
	for _, p := range packets {
		n += len(p)/255 + 1
	}
	return n
}

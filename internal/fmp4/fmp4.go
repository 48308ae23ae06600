// Package fmp4 writes fragmented MP4 (CMAF) for Opus audio: an init segment
// and media fragments that HLS players and ffmpeg read.
package fmp4

// Layout choices (see "Encapsulation of Opus in ISO Base Media File Format",
// ISO/IEC 14496-12 and RFC 8216bis):
//
//   - One track (ID 1), timescale 48000 for both movie and media, so every
//     tick is one Opus sample at 48 kHz and no rounding ever happens.
//   - Every fragment is exactly moof+mdat, with no styp. An LL-HLS part is one
//     fragment; a segment is the byte concatenation of its parts, so a styp per
//     part would put several styps inside one segment. Nothing requires styp.
//   - Every sample is a sync sample: tfhd carries default sample flags with
//     sample_depends_on=2 and sample_is_non_sync_sample=0, so players may
//     start decoding at any fragment.
//   - Opus needs 80 ms of pre-roll after a random access; the Opus mapping
//     spec signals that with a 'roll' sample group (roll_distance -4 packets
//     of 20 ms): the sgpd lives in the init segment, and each traf has an sbgp
//     mapping its samples to it.
//   - No edit list. The Opus mapping asks for one to trim the encoder's
//     priming samples, but those few milliseconds exist once, at the
//     encoder's start, while an edit would shift every presentation time of
//     the live stream by PreSkip. PreSkip is carried in dOps instead, and
//     decoders apply it when they start (ffmpeg does; the tests check it).

import (
	"encoding/binary"
	"math"
	"slices"
)

const (
	// Timescale is the media (and movie) timescale: 48 kHz ticks.
	Timescale = 48000
	// SampleDuration is the duration of every packet, in Timescale ticks
	// (20 ms). Fragment assumes each packet carries exactly this much audio.
	SampleDuration = 960
	// TrackID is the ID of the single audio track.
	TrackID = 1

	// syncSampleFlags marks a sample as depending on no other sample
	// (sample_depends_on=2) and as a sync sample (sample_is_non_sync_sample=0).
	syncSampleFlags = 0x02000000
	// rollDistance is the Opus pre-roll: 80 ms = 4 packets of 20 ms, counted
	// backwards, hence negative.
	rollDistance = -4
)

// tfhd flags: base data offset is the moof start, and every sample shares
// the default duration and flags, so trun only needs sizes.
const tfhdFlags = 0x020000 | 0x000008 | 0x000020

// trun flags: data-offset-present and sample-size-present.
const trunFlags = 0x000001 | 0x000200

// unityMatrix is the identity transform required in mvhd and tkhd.
var unityMatrix = [9]uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000}

// Init returns the init segment (ftyp+moov) for a mono or stereo Opus stream
// whose encoder delay is preSkip samples at 48 kHz (OpusHead's pre-skip).
// The LL-HLS playlist's EXT-X-MAP points at these bytes. It panics if
// channels is not 1 or 2: channel mapping family 0 covers only those.
func Init(channels int, preSkip uint16) []byte {
	if channels != 1 && channels != 2 {
		panic("fmp4: Init: channels must be 1 or 2")
	}
	b := make([]byte, 0, 1024)
	b = appendFtyp(b)
	return appendMoov(b, channels, preSkip)
}

// Fragment returns one media fragment (moof+mdat, no styp) holding packets,
// one 20 ms Opus packet per sample, every sample a sync sample. seq is the
// fragment sequence number, starting at 1 and increasing by one per
// fragment; baseDecodeTime is the timestamp of the first packet in 48 kHz
// ticks. An LL-HLS part is one fragment, and a segment is its parts'
// fragments concatenated. Fragment allocates exactly once.
func Fragment(seq uint32, baseDecodeTime uint64, packets [][]byte) []byte {
	return AppendFragment(make([]byte, 0, FragmentSize(packets)), seq, baseDecodeTime, packets)
}

// AppendFragment is Fragment appending to dst; it grows dst at most once and
// does not allocate when dst has FragmentSize(packets) spare capacity.
func AppendFragment(dst []byte, seq uint32, baseDecodeTime uint64, packets [][]byte) []byte {
	payload := payloadSize(packets)
	mdatHdr := mdatHeaderSize(payload)
	dst = slices.Grow(dst, moofSize(len(packets))+mdatHdr+payload)
	dst = appendMoof(dst, seq, baseDecodeTime, packets, mdatHdr)
	dst = appendMdatHeader(dst, payload, mdatHdr)
	for _, p := range packets {
		dst = append(dst, p...)
	}
	return dst
}

// FragmentSize is the exact length of Fragment's output for packets.
func FragmentSize(packets [][]byte) int {
	payload := payloadSize(packets)
	return moofSize(len(packets)) + mdatHeaderSize(payload) + payload
}

func payloadSize(packets [][]byte) int {
	n := 0
	for _, p := range packets {
		n += len(p)
	}
	return n
}

// moofSize mirrors appendMoof: moof(8) mfhd(16) traf(8) tfhd(24) tfdt(20)
// trun(20 + 4 per sample) sbgp(28).
func moofSize(samples int) int { return 124 + 4*samples }

// mdatHeaderSize switches to a 64-bit largesize only when 32 bits cannot
// hold the box, which a 20 ms-packet part never needs.
func mdatHeaderSize(payload int) int {
	if uint64(payload)+8 > math.MaxUint32 {
		return 16
	}
	return 8
}

func appendMdatHeader(b []byte, payload, hdr int) []byte {
	if hdr == 16 {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = append(b, "mdat"...)
		return binary.BigEndian.AppendUint64(b, uint64(payload)+16)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(payload)+8)
	return append(b, "mdat"...)
}

// appendMoof writes moof. trun's data offset is relative to the moof start
// (default-base-is-moof), so it is the moof size plus the mdat header: it
// is patched in once moof is complete, rather than trusting moofSize.
func appendMoof(b []byte, seq uint32, base uint64, packets [][]byte, mdatHdr int) []byte {
	moof, b := begin(b, "moof")
	mfhd, b := beginFull(b, "mfhd", 0, 0)
	b = end(binary.BigEndian.AppendUint32(b, seq), mfhd)
	traf, b := begin(b, "traf")
	b = appendTfhd(b)
	b = appendTfdt(b, base)
	b, offsetAt := appendTrun(b, packets)
	b = appendSbgp(b, uint32(len(packets)))
	b = end(end(b, traf), moof)
	off := len(b) - moof + mdatHdr
	if off > math.MaxInt32 {
		panic("fmp4: fragment has too many packets")
	}
	binary.BigEndian.PutUint32(b[offsetAt:], uint32(off))
	return b
}

func appendTfhd(b []byte) []byte {
	start, b := beginFull(b, "tfhd", 0, tfhdFlags)
	b = binary.BigEndian.AppendUint32(b, TrackID)
	b = binary.BigEndian.AppendUint32(b, SampleDuration)
	b = binary.BigEndian.AppendUint32(b, syncSampleFlags)
	return end(b, start)
}

// appendTfdt uses version 1 (64-bit time) so that long-running streams do
// not wrap after 2^32 ticks (about 24.8 hours at 48 kHz).
func appendTfdt(b []byte, base uint64) []byte {
	start, b := beginFull(b, "tfdt", 1, 0)
	return end(binary.BigEndian.AppendUint64(b, base), start)
}

// appendTrun returns the position of the data offset field for patching.
func appendTrun(b []byte, packets [][]byte) ([]byte, int) {
	start, b := beginFull(b, "trun", 0, trunFlags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(packets)))
	offsetAt := len(b)
	b = binary.BigEndian.AppendUint32(b, 0)
	for _, p := range packets {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	}
	return end(b, start), offsetAt
}

// appendSbgp maps all samples of the fragment to the init segment's 'roll'
// group description (index 1 refers to the sgpd in moov's stbl).
func appendSbgp(b []byte, samples uint32) []byte {
	start, b := beginFull(b, "sbgp", 0, 0)
	b = append(b, "roll"...)
	b = binary.BigEndian.AppendUint32(b, 1) // entry_count
	b = binary.BigEndian.AppendUint32(b, samples)
	b = binary.BigEndian.AppendUint32(b, 1) // group_description_index
	return end(b, start)
}

// begin appends a box header with a placeholder size and returns where the
// box starts, for end to patch the size once the contents are written.
func begin(b []byte, typ string) (int, []byte) {
	return len(b), append(binary.BigEndian.AppendUint32(b, 0), typ...)
}

// beginFull is begin for a FullBox: version and 24-bit flags follow the type.
func beginFull(b []byte, typ string, version byte, flags uint32) (int, []byte) {
	start, b := begin(b, typ)
	return start, binary.BigEndian.AppendUint32(b, uint32(version)<<24|flags&0xFFFFFF)
}

func end(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

package fmp4

import "encoding/binary"

// appendFtyp declares ISO BMFF v6 structure (iso6, which also implies
// support for sample groups, as the Opus mapping's roll group requires),
// CMAF (cmfc) and the Opus mapping itself ('Opus').
func appendFtyp(b []byte) []byte {
	start, b := begin(b, "ftyp")
	b = append(b, "iso6"...)
	b = binary.BigEndian.AppendUint32(b, 0) // minor version
	b = append(b, "iso6cmfcOpus"...)
	return end(b, start)
}

func appendMoov(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "moov")
	b = appendMvhd(b)
	b = appendTrak(b, channels, preSkip)
	b = appendMvex(b)
	return end(b, start)
}

// appendMvhd leaves times and duration zero: a live stream's duration lives
// only in its fragments.
func appendMvhd(b []byte) []byte {
	start, b := beginFull(b, "mvhd", 0, 0)
	b = zeros(b, 8) // creation, modification time
	b = binary.BigEndian.AppendUint32(b, Timescale)
	b = zeros(b, 4)                                  // duration
	b = binary.BigEndian.AppendUint32(b, 0x00010000) // rate 1.0
	b = binary.BigEndian.AppendUint16(b, 0x0100)     // volume 1.0
	b = zeros(b, 2+8)                                // reserved
	b = appendMatrix(b)
	b = zeros(b, 24)                                // pre_defined
	b = binary.BigEndian.AppendUint32(b, TrackID+1) // next_track_ID
	return end(b, start)
}

func appendTrak(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "trak")
	b = appendTkhd(b)
	b = appendMdia(b, channels, preSkip)
	return end(b, start)
}

// appendTkhd flags the track enabled and in the movie (0x3).
func appendTkhd(b []byte) []byte {
	start, b := beginFull(b, "tkhd", 0, 0x3)
	b = zeros(b, 8) // creation, modification time
	b = binary.BigEndian.AppendUint32(b, TrackID)
	b = zeros(b, 4+4+8+2+2)                      // reserved, duration, reserved, layer, alternate_group
	b = binary.BigEndian.AppendUint16(b, 0x0100) // volume 1.0: an audio track
	b = zeros(b, 2)                              // reserved
	b = appendMatrix(b)
	b = zeros(b, 8) // width, height 0: not visual
	return end(b, start)
}

func appendMdia(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "mdia")
	b = appendMdhd(b)
	b = appendHdlr(b)
	b = appendMinf(b, channels, preSkip)
	return end(b, start)
}

// appendMdhd sets language "und" (ISO 639-2/T packed as three 5-bit letters).
func appendMdhd(b []byte) []byte {
	start, b := beginFull(b, "mdhd", 0, 0)
	b = zeros(b, 8) // creation, modification time
	b = binary.BigEndian.AppendUint32(b, Timescale)
	b = zeros(b, 4) // duration
	b = binary.BigEndian.AppendUint16(b, ('u'-0x60)<<10|('n'-0x60)<<5|('d'-0x60))
	b = zeros(b, 2) // pre_defined
	return end(b, start)
}

func appendHdlr(b []byte) []byte {
	start, b := beginFull(b, "hdlr", 0, 0)
	b = zeros(b, 4) // pre_defined
	b = append(b, "soun"...)
	b = zeros(b, 12) // reserved
	b = append(b, "SoundHandler\x00"...)
	return end(b, start)
}

func appendMinf(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "minf")
	smhd, b := beginFull(b, "smhd", 0, 0)
	b = end(zeros(b, 4), smhd) // balance, reserved
	b = appendDinf(b)
	b = appendStbl(b, channels, preSkip)
	return end(b, start)
}

// appendDinf writes one data reference: flag 1 means "media is in this file".
func appendDinf(b []byte) []byte {
	start, b := begin(b, "dinf")
	dref, b := beginFull(b, "dref", 0, 0)
	b = binary.BigEndian.AppendUint32(b, 1) // entry_count
	url, b := beginFull(b, "url ", 0, 1)
	b = end(end(b, url), dref)
	return end(b, start)
}

// appendStbl writes the sample description and empty sample tables (samples
// live in fragments), plus the Opus pre-roll group the mapping requires.
func appendStbl(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "stbl")
	b = appendStsd(b, channels, preSkip)
	b = appendEmptyTable(b, "stts")
	b = appendEmptyTable(b, "stsc")
	stsz, b := beginFull(b, "stsz", 0, 0)
	b = end(zeros(b, 8), stsz) // sample_size 0, sample_count 0
	b = appendEmptyTable(b, "stco")
	b = appendSgpd(b)
	sbgp, b := beginFull(b, "sbgp", 0, 0)
	b = end(zeros(append(b, "roll"...), 4), sbgp) // entry_count 0
	return end(b, start)
}

// appendEmptyTable writes a sample table FullBox with entry_count 0.
func appendEmptyTable(b []byte, typ string) []byte {
	start, b := beginFull(b, typ, 0, 0)
	return end(zeros(b, 4), start)
}

func appendStsd(b []byte, channels int, preSkip uint16) []byte {
	start, b := beginFull(b, "stsd", 0, 0)
	b = binary.BigEndian.AppendUint32(b, 1) // entry_count
	b = appendOpusEntry(b, channels, preSkip)
	return end(b, start)
}

// appendOpusEntry writes the AudioSampleEntry 'Opus'. Its fixed fields are
// mandated by the Opus mapping: channelcount = OutputChannelCount,
// samplesize 16, samplerate 48000 in 16.16 fixed point.
func appendOpusEntry(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "Opus")
	b = zeros(b, 6)                         // reserved
	b = binary.BigEndian.AppendUint16(b, 1) // data_reference_index
	b = zeros(b, 8)                         // reserved
	b = binary.BigEndian.AppendUint16(b, uint16(channels))
	b = binary.BigEndian.AppendUint16(b, 16)
	b = zeros(b, 4) // pre_defined, reserved
	b = binary.BigEndian.AppendUint32(b, Timescale<<16)
	b = appendDOps(b, channels, preSkip)
	return end(b, start)
}

// appendDOps writes the OpusSpecificBox: OpusHead's fields, big-endian,
// without the magic. Mapping family 0 (mono/stereo) has no mapping table.
func appendDOps(b []byte, channels int, preSkip uint16) []byte {
	start, b := begin(b, "dOps")
	b = append(b, 0, byte(channels)) // Version, OutputChannelCount
	b = binary.BigEndian.AppendUint16(b, preSkip)
	b = binary.BigEndian.AppendUint32(b, Timescale) // InputSampleRate
	b = binary.BigEndian.AppendUint16(b, 0)         // OutputGain
	b = append(b, 0)                                // ChannelMappingFamily
	return end(b, start)
}

// appendSgpd describes the one 'roll' group: AudioRollRecoveryEntry with
// roll_distance -4 (version 1 carries the entries' fixed length, 2 bytes).
func appendSgpd(b []byte) []byte {
	start, b := beginFull(b, "sgpd", 1, 0)
	b = append(b, "roll"...)
	b = binary.BigEndian.AppendUint32(b, 2) // default_length
	b = binary.BigEndian.AppendUint32(b, 1) // entry_count
	roll := int16(rollDistance)
	b = binary.BigEndian.AppendUint16(b, uint16(roll))
	return end(b, start)
}

// appendMvex announces fragments and sets per-track defaults matching what
// every fragment's tfhd also states explicitly.
func appendMvex(b []byte) []byte {
	start, b := begin(b, "mvex")
	trex, b := beginFull(b, "trex", 0, 0)
	b = binary.BigEndian.AppendUint32(b, TrackID)
	b = binary.BigEndian.AppendUint32(b, 1) // default_sample_description_index
	b = binary.BigEndian.AppendUint32(b, SampleDuration)
	b = binary.BigEndian.AppendUint32(b, 0) // default_sample_size
	b = binary.BigEndian.AppendUint32(b, syncSampleFlags)
	b = end(b, trex)
	return end(b, start)
}

func appendMatrix(b []byte) []byte {
	for _, v := range unityMatrix {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func zeros(b []byte, n int) []byte {
	return append(b, make([]byte, n)...)
}

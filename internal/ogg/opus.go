package ogg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// OpusHead is the identification header of an Ogg/Opus stream (RFC 7845 §5.1).
type OpusHead struct {
	Version    uint8
	Channels   uint8
	PreSkip    uint16
	InputRate  uint32
	OutputGain int16
	Family     uint8 // channel mapping family
}

// ParseOpusHead checks and decodes an OpusHead packet.
func ParseOpusHead(p []byte) (OpusHead, error) {
	var h OpusHead
	switch {
	case len(p) < 19 || !bytes.HasPrefix(p, []byte("OpusHead")):
		return h, errors.New("first packet is not OpusHead (is the codec Opus?)")
	case p[8]>>4 != 0:
		return h, fmt.Errorf("OpusHead version %d is not supported", p[8])
	}
	h = OpusHead{Version: p[8], Channels: p[9], PreSkip: binary.LittleEndian.Uint16(p[10:]),
		InputRate: binary.LittleEndian.Uint32(p[12:]), OutputGain: int16(binary.LittleEndian.Uint16(p[16:])),
		Family: p[18]}
	switch {
	case h.Channels == 0:
		return h, errors.New("OpusHead: zero channels")
	case h.Family == 0 && h.Channels > 2:
		return h, fmt.Errorf("OpusHead: %d channels need a channel mapping table", h.Channels)
	case h.Family != 0:
		return h, fmt.Errorf("OpusHead: channel mapping family %d (multistream) is not supported; send mono or stereo", h.Family)
	}
	return h, nil
}

// OpusHeadPacket builds an OpusHead for channel mapping family 0.
func OpusHeadPacket(channels int, preSkip uint16, inputRate uint32) []byte {
	p := append([]byte("OpusHead"), 1, byte(channels))
	p = binary.LittleEndian.AppendUint16(p, preSkip)
	p = binary.LittleEndian.AppendUint32(p, inputRate)
	return append(p, 0, 0, 0) // output gain 0, family 0
}

// OpusTagsPacket builds an OpusTags header with a vendor string and no comments.
func OpusTagsPacket(vendor string) []byte {
	p := append([]byte("OpusTags"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(p[8:], uint32(len(vendor)))
	p = append(p, vendor...)
	return append(p, 0, 0, 0, 0)
}

// IsOpusTags reports whether p is an OpusTags header.
func IsOpusTags(p []byte) bool { return len(p) >= 16 && bytes.HasPrefix(p, []byte("OpusTags")) }

const maxFrameBytes = 1275

// frameSamples is the 48 kHz duration of one frame for each TOC config
// (RFC 6716 §3.1): SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
func frameSamples(toc byte) int {
	cfg := toc >> 3
	switch {
	case cfg < 12:
		return [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16:
		return [2]int{480, 960}[cfg&1]
	default:
		return [4]int{120, 240, 480, 960}[cfg&3]
	}
}

// PacketSamples returns the 48 kHz duration of an Opus packet, after
// checking it against the framing rules of RFC 6716 §3.4 (R1–R7), so that a
// malformed packet is rejected at ingest instead of reaching a decoder.
func PacketSamples(p []byte) (int, error) {
	if len(p) < 1 {
		return 0, errors.New("empty Opus packet")
	}
	fs := frameSamples(p[0])
	body := p[1:]
	switch p[0] & 3 {
	case 0:
		if len(body) > maxFrameBytes {
			return 0, errors.New("bad Opus packet: frame over 1275 bytes")
		}
		return fs, nil
	case 1:
		if len(body)%2 != 0 || len(body)/2 > maxFrameBytes {
			return 0, errors.New("bad Opus packet: code 1 packet with odd or oversized payload")
		}
		return 2 * fs, nil
	case 2:
		n1, k, err := frameLen(body)
		if err != nil || n1 > len(body)-k || len(body)-k-n1 > maxFrameBytes {
			return 0, errors.New("bad Opus packet: code 2 packet with bad frame lengths")
		}
		return 2 * fs, nil
	}
	return code3Samples(fs, body)
}

// code3Samples checks a packet with an arbitrary number of frames.
func code3Samples(fs int, body []byte) (int, error) {
	if len(body) < 1 {
		return 0, errors.New("bad Opus packet: code 3 packet without a frame count")
	}
	vbr, padded, m := body[0]&0x80 != 0, body[0]&0x40 != 0, int(body[0]&0x3f)
	if m == 0 || m*fs > 5760 {
		return 0, errors.New("bad Opus packet: code 3 packet with a bad frame count (over 120 ms)")
	}
	body = body[1:]
	if padded {
		pad := 0
		for {
			if len(body) == 0 {
				return 0, errors.New("bad Opus packet: packet padding runs past its end")
			}
			v := int(body[0])
			body = body[1:]
			if v == 255 {
				pad += 254
				continue
			}
			pad += v
			break
		}
		if pad > len(body) {
			return 0, errors.New("bad Opus packet: packet padding runs past its end")
		}
		body = body[:len(body)-pad]
	}
	if !vbr {
		if len(body)%m != 0 || len(body)/m > maxFrameBytes {
			return 0, errors.New("bad Opus packet: CBR packet does not split into equal frames")
		}
		return m * fs, nil
	}
	total := 0
	for range m - 1 {
		n, k, err := frameLen(body)
		if err != nil {
			return 0, err
		}
		body = body[k:]
		total += n
	}
	if total > len(body) || len(body)-total > maxFrameBytes {
		return 0, errors.New("bad Opus packet: VBR packet frame lengths exceed the packet")
	}
	return m * fs, nil
}

// frameLen decodes a one- or two-byte frame length (RFC 6716 §3.2.1).
func frameLen(b []byte) (n, used int, err error) {
	switch {
	case len(b) < 1:
		return 0, 0, errors.New("bad Opus packet: packet truncated in a frame length")
	case b[0] < 252:
		return int(b[0]), 1, nil
	case len(b) < 2:
		return 0, 0, errors.New("bad Opus packet: packet truncated in a frame length")
	}
	return int(b[0]) + 4*int(b[1]), 2, nil
}

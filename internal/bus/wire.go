package bus

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// The wire format of the clustered bus, big-endian throughout. Every
// message starts with a version byte and a kind byte, so a later version
// or a foreign message is told apart and dropped rather than misread.
//
//	frame message: version kind=1 body
//	state message: version kind=2 headLen(u16) head count(u16) {bodyLen(u16) body}×count
//	body:          flags(1) seq(u64) pts(u64) capture(i64 ns) sent(i64 ns) packet(rest)
//
// capture is the mix time (0: unknown), sent the publish time, for the
// bus's latency.
const (
	wireVersion = 1
	kindFrame   = 1
	kindState   = 2
	flagEnd     = 1
	bodyHeader  = 1 + 8 + 8 + 8 + 8
	// maxPacket bounds an Opus packet well above the largest 20 ms one
	// (1275 bytes of frame plus framing and padding).
	maxPacket = 4000
	// maxStateFrames bounds a state message far above any sane Keep.
	maxStateFrames = 10000
)

var (
	errShort   = errors.New("bus: message too short")
	errVersion = errors.New("bus: unknown wire version or kind")
	errFlags   = errors.New("bus: unknown frame flags")
	errPacket  = errors.New("bus: frame packet empty, too long, or on an End frame")
	errLength  = errors.New("bus: length field runs past the message")
)

func appendBody(dst []byte, f program.Frame, sent time.Time) []byte {
	var flags byte
	if f.End {
		flags |= flagEnd
	}
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint64(dst, f.Seq)
	dst = binary.BigEndian.AppendUint64(dst, f.PTS)
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(f.Capture)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano(sent)))
	return append(dst, f.Packet...)
}

// appendFrame encodes a frame message.
func appendFrame(dst []byte, f program.Frame, sent time.Time) []byte {
	return appendBody(append(dst, wireVersion, kindFrame), f, sent)
}

// decodeFrame parses a frame message. The frame's packet aliases msg.
func decodeFrame(msg []byte) (program.Frame, time.Time, error) {
	if len(msg) < 2 {
		return program.Frame{}, time.Time{}, errShort
	}
	if msg[0] != wireVersion || msg[1] != kindFrame {
		return program.Frame{}, time.Time{}, errVersion
	}
	return decodeBody(msg[2:])
}

func decodeBody(b []byte) (program.Frame, time.Time, error) {
	if len(b) < bodyHeader {
		return program.Frame{}, time.Time{}, errShort
	}
	flags := b[0]
	if flags&^flagEnd != 0 {
		return program.Frame{}, time.Time{}, errFlags
	}
	f := program.Frame{End: flags&flagEnd != 0,
		Seq:     binary.BigEndian.Uint64(b[1:]),
		PTS:     binary.BigEndian.Uint64(b[9:]),
		Capture: fromUnixNano(int64(binary.BigEndian.Uint64(b[17:])))}
	sent := fromUnixNano(int64(binary.BigEndian.Uint64(b[25:])))
	pkt := b[bodyHeader:]
	if f.End != (len(pkt) == 0) || len(pkt) > maxPacket {
		return program.Frame{}, time.Time{}, errPacket
	}
	if len(pkt) > 0 {
		f.Packet = pkt[:len(pkt):len(pkt)]
	}
	return f, sent, nil
}

// appendState encodes a state message: the program's head and recent frames.
func appendState(dst []byte, st State) []byte {
	dst = append(dst, wireVersion, kindState)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(st.Head)))
	dst = append(dst, st.Head...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(st.Frames)))
	for _, f := range st.Frames {
		dst = binary.BigEndian.AppendUint16(dst, uint16(bodyHeader+len(f.Packet)))
		dst = appendBody(dst, f, time.Time{})
	}
	return dst
}

// fitState drops the oldest frames until the state message fits in limit
// bytes (the servers' max payload, 1 MB by default: only loud, high-bitrate
// programs come near it with DefaultKeep frames).
func fitState(st State, limit int) State {
	size := 2 + 2 + len(st.Head) + 2
	for _, f := range st.Frames {
		size += 2 + bodyHeader + len(f.Packet)
	}
	for size > limit && len(st.Frames) > 0 {
		size -= 2 + bodyHeader + len(st.Frames[0].Packet)
		st.Frames = st.Frames[1:]
	}
	return st
}

// decodeState parses a state message; head and packets alias msg.
func decodeState(msg []byte) (State, error) {
	if len(msg) < 2 {
		return State{}, errShort
	}
	if msg[0] != wireVersion || msg[1] != kindState {
		return State{}, errVersion
	}
	b := msg[2:]
	head, b, err := lenPrefixed(b)
	if err != nil {
		return State{}, err
	}
	if len(b) < 2 {
		return State{}, errShort
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > maxStateFrames || n*(2+bodyHeader) > len(b) {
		return State{}, errLength
	}
	st := State{Frames: make([]program.Frame, 0, n)}
	if len(head) > 0 {
		st.Head = head[:len(head):len(head)]
	}
	for range n {
		var body []byte
		if body, b, err = lenPrefixed(b); err != nil {
			return State{}, err
		}
		f, _, err := decodeBody(body)
		if err != nil {
			return State{}, err
		}
		st.Frames = append(st.Frames, f)
	}
	if len(b) != 0 {
		return State{}, errLength
	}
	return st, nil
}

// lenPrefixed splits a u16-length-prefixed field off b.
func lenPrefixed(b []byte) (field, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, errShort
	}
	n := int(binary.BigEndian.Uint16(b))
	if 2+n > len(b) {
		return nil, nil, errLength
	}
	return b[2 : 2+n], b[2+n:], nil
}

// unixNano maps the zero time to 0 (UnixNano of it is out of range).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

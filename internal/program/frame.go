// Package program defines the program stream: the mixed, encoded audio of a
// space as immutable frames that every recorder and packager shares.
package program

import (
	"hash/fnv"
	"time"
)

// Audio constants shared by the whole audio path (Opus always runs at 48 kHz).
const (
	SampleRate    = 48000
	FrameDuration = 20 * time.Millisecond
	FrameSamples  = SampleRate / 50 // 960 samples per 20 ms frame
	// PreSkip is the encoder lookahead (libopus, 48 kHz, non-low-delay
	// applications) that decoders drop from the start of a stream.
	PreSkip = 312
)

// Frame is one 20 ms program frame. Frames are immutable once published:
// every consumer holds the same value and must not modify Packet.
type Frame struct {
	Seq     uint64    // 0 for the first frame after the space went live
	PTS     uint64    // presentation time in 48 kHz ticks from the start of the show
	Capture time.Time // wall-clock time the frame's audio was mixed
	Packet  []byte    // one Opus packet (FrameSamples samples, mono)
	// End marks the end of the program: the show ended. An End frame carries
	// no packet; consumers finalize (EOS page, ENDLIST) and release the stream.
	End bool
}

// Samples is the number of 48 kHz samples the frame's packet decodes to.
func (f Frame) Samples() uint64 {
	if f.End {
		return 0
	}
	return FrameSamples
}

// Serial is the Ogg serial number of a space's program, derived from its id
// so the recorder and every edge agree without talking to each other.
func Serial(space string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(space))
	return h.Sum32()
}

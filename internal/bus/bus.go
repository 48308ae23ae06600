// Package bus carries program frames from the origin (mixer) to their
// consumers (recorder, edges): in-process by default, NATS when clustered.
package bus

import (
	"errors"
	"strings"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
)

// Bus delivers every program frame of a space to its subscribers, in order.
// Subscribers' callbacks run on the publisher's goroutine (in-process) or the
// bus's delivery goroutine (clustered): they must be quick and never block.
type Bus interface {
	Publish(space string, f program.Frame)
	Subscribe(space string, fn func(program.Frame)) (cancel func())
	// Join is Subscribe for a consumer that starts mid-show: before it
	// returns, fn gets the space's recent frames (the last Keep frames its
	// publisher holds: a player's start-up buffer and the current HLS
	// parts), then the live ones follow in order, without duplicates. head
	// is the program's OpusHead packet, nil when the space is not live.
	Join(space string, fn func(program.Frame)) (head []byte, cancel func())
	// Stats counts this bus's traffic since it was made.
	Stats() Stats
}

// DefaultKeep is how many recent frames a publisher holds per space for
// consumers that join mid-show: 6 s, three 2 s HLS segments, what a
// classic HLS player buffers before it starts.
const DefaultKeep = 300

// DefaultHead is the OpusHead of onair's programs: mono, 48 kHz, libopus's
// pre-skip.
func DefaultHead() []byte { return ogg.OpusHeadPacket(1, program.PreSkip, program.SampleRate) }

// errSpaceName is returned for a space id that cannot be a NATS subject
// token; onair's ids never are, so this is a caller's bug or foreign input.
var errSpaceName = errors.New("bus: space id is empty or has '.', '*', '>' or white space")

func checkSpace(space string) error {
	if space == "" || strings.ContainsAny(space, ".*> \t\r\n") {
		return errSpaceName
	}
	return nil
}

// State is what a consumer needs to start a space's program at once.
type State struct {
	Head   []byte          // the program's OpusHead packet (RFC 7845 §5.1)
	Frames []program.Frame // the most recent frames, oldest first
}

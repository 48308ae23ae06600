// Package ingest reads a speaker's Ogg/Opus stream (an encoder's chunked HTTP
// PUT body) and feeds its packets, validated, into the space's mixer.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/onair-live/onair/internal/ogg"
)

// BadInputError is a problem with what the client sent (answer 400), as
// opposed to the connection or the server failing.
type BadInputError struct{ Reason string }

func (e *BadInputError) Error() string { return e.Reason }

func bad(format string, args ...any) error {
	return &BadInputError{Reason: fmt.Sprintf(format, args...)}
}

// Pusher is where packets go: a mixer speaker.
type Pusher interface {
	Push(ctx context.Context, pkt []byte, samples int) error
}

// Stats counts what one ingest delivered.
type Stats struct {
	Packets  int
	Bytes    int64
	Channels int
}

// Run demuxes body and pushes every audio packet to sp until the body ends
// (nil), the input turns out malformed (*BadInputError) or sp/ctx stops it.
// A stream must open with OpusHead and OpusTags, as RFC 7845 requires.
func Run(ctx context.Context, body io.Reader, sp Pusher) (Stats, error) {
	var st Stats
	r := ogg.NewReader(body)
	head, err := r.NextPacket()
	if err != nil {
		return st, classify(err, "reading the first packet")
	}
	oh, err := ogg.ParseOpusHead(head)
	if err != nil {
		return st, bad("not an Ogg/Opus stream: %v", err)
	}
	st.Channels = int(oh.Channels)
	tags, err := r.NextPacket()
	if err != nil {
		return st, classify(err, "reading OpusTags")
	}
	if !ogg.IsOpusTags(tags) {
		return st, bad("second packet is not OpusTags")
	}
	for {
		pkt, err := r.NextPacket()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, classify(err, fmt.Sprintf("after %d audio packets", st.Packets))
		}
		samples, err := ogg.PacketSamples(pkt)
		if err != nil {
			return st, bad("audio packet %d: %v", st.Packets, err)
		}
		if err := sp.Push(ctx, pkt, samples); err != nil {
			return st, err
		}
		st.Packets++
		st.Bytes += int64(len(pkt))
	}
}

// classify tells a malformed stream (the client's fault) from a transport
// error (a timeout, a dropped connection, a cancelled request).
func classify(err error, where string) error {
	var be *BadInputError
	var ne net.Error
	switch {
	case errors.As(err, &be):
		return err
	case errors.Is(err, io.EOF):
		return bad("stream ended %s", where)
	case errors.As(err, &ne), errors.Is(err, context.Canceled), errors.Is(err, os.ErrDeadlineExceeded):
		return err
	}
	return bad("malformed Ogg %s: %v", where, err)
}

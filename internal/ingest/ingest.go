// Package ingest reads a speaker's stream (an encoder's HTTP body: Ogg/Opus,
// Ogg/Vorbis or MP3) and feeds its audio, validated, into the space's mixer.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
)

// BadInputError is a problem with what the client sent (answer 400), as
// opposed to the connection or the server failing.
type BadInputError struct{ Reason string }

func (e *BadInputError) Error() string { return e.Reason }

func bad(format string, args ...any) error {
	return &BadInputError{Reason: fmt.Sprintf(format, args...)}
}

// UnsupportedError is a well-formed stream in a codec onair does not take
// (answer 415).
type UnsupportedError struct{ Reason string }

func (e *UnsupportedError) Error() string { return e.Reason }

// supported is appended to every 415 reason, so the fix is in the message.
const supported = "; send Ogg/Opus, Ogg/Vorbis or MP3"

func unsupported(what string) error {
	return &UnsupportedError{Reason: what + " is not supported" + supported}
}

// Pusher is where audio goes: a mixer speaker. Opus packets go in as they
// are (the mixer decodes them); other codecs are decoded here.
type Pusher interface {
	Push(ctx context.Context, pkt []byte, samples int) error
	PushPCM(ctx context.Context, pcm []float32) error
}

// Stats counts what one ingest delivered.
type Stats struct {
	Codec    string
	Packets  int // Opus or Vorbis packets, MP3 frames
	Bytes    int64
	Channels int
	Rate     int // Hz, as sent
}

// Stream is an input whose codec is known and whose headers are read.
type Stream struct {
	Stats
	run   func(ctx context.Context, sp Pusher, st *Stats) error
	close func()
}

// Open finds the codec of body from its first bytes and reads the stream's
// headers: *UnsupportedError for a codec onair does not take,
// *BadInputError for a malformed or unrecognisable stream.
func Open(body io.Reader) (*Stream, error) {
	br := bufio.NewReaderSize(body, 16<<10)
	head, err := br.Peek(12)
	if len(head) < 4 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, bad("stream ended before any media")
		}
		return nil, classify(err, "reading the first bytes")
	}
	switch {
	case bytes.HasPrefix(head, []byte("OggS")):
		return openOgg(br)
	case bytes.HasPrefix(head, []byte("ID3")), isMP3Sync(head):
		return openMP3(br)
	}
	if what := sniffUnsupported(head); what != "" {
		return nil, unsupported(what)
	}
	return nil, bad("not a media stream onair recognises (first bytes %q)%s", head[:4], supported)
}

// Run pushes the stream's audio to sp until the body ends (nil), turns out
// malformed (*BadInputError) or sp/ctx stops it.
func (s *Stream) Run(ctx context.Context, sp Pusher) (Stats, error) {
	st := s.Stats
	err := s.run(ctx, sp, &st)
	return st, err
}

// Close frees the stream's decoder.
func (s *Stream) Close() {
	if s.close != nil {
		s.close()
	}
}

// Run opens body and pushes its audio to sp: Open, then Stream.Run.
func Run(ctx context.Context, body io.Reader, sp Pusher) (Stats, error) {
	s, err := Open(body)
	if err != nil {
		return Stats{}, err
	}
	defer s.Close()
	return s.Run(ctx, sp)
}

// isMP3Sync is an MPEG audio frame header of Layer III.
func isMP3Sync(b []byte) bool {
	return b[0] == 0xFF && b[1]&0xE0 == 0xE0 && (b[1]>>1)&3 == 1
}

// sniffUnsupported names the formats encoders commonly send that onair does
// not decode, so the 415 says what was seen.
func sniffUnsupported(b []byte) string {
	switch {
	case b[0] == 0xFF && b[1]&0xF6 == 0xF0:
		return "AAC (ADTS)"
	case b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return "MPEG audio Layer I/II"
	case bytes.HasPrefix(b, []byte("fLaC")):
		return "FLAC"
	case bytes.HasPrefix(b, []byte("RIFF")):
		return "WAV"
	case bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return "WebM/Matroska"
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		return "MP4/M4A"
	}
	return ""
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
	return bad("malformed stream %s: %v", where, err)
}

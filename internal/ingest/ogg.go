package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/onair-live/onair/internal/decode"
	"github.com/onair-live/onair/internal/ogg"
)

// openOgg opens a chained Ogg stream (RFC 3533): after one logical
// stream's end-of-stream page another may begin, as encoders send when the
// track changes (ices2 between playlist files, Liquidsoap on new metadata).
// The speaker goes on through each; the codec may change between them.
func openOgg(br *bufio.Reader) (*Stream, error) {
	s, err := openLogical(br)
	if err != nil {
		return nil, err
	}
	run, done := s.run, s.close
	s.close = func() {
		if done != nil {
			done()
		}
	}
	s.run = func(ctx context.Context, sp Pusher, st *Stats) error {
		for {
			if err := run(ctx, sp, st); err != nil {
				return err
			}
			head, err := br.Peek(4)
			if len(head) < 4 && (err == nil || errors.Is(err, io.EOF)) {
				return nil // the body ended after the end-of-stream page
			}
			if err != nil {
				return classify(err, "after an end-of-stream page")
			}
			if !bytes.Equal(head, []byte("OggS")) {
				return bad("data after an end-of-stream page is not an Ogg page (first bytes %q)", head)
			}
			next, err := openLogical(br)
			if err != nil {
				return err
			}
			s.close()
			run, done = next.run, next.close
			st.Codec, st.Channels, st.Rate = next.Codec, next.Channels, next.Rate
		}
	}
	return s, nil
}

// openLogical reads the first packet of one logical Ogg stream to tell its
// codec, and its headers.
func openLogical(r io.Reader) (*Stream, error) {
	rd := ogg.NewReader(r)
	first, err := rd.NextPacket()
	if err != nil {
		return nil, classify(err, "reading the first packet")
	}
	switch {
	case bytes.HasPrefix(first, []byte("OpusHead")):
		return openOpus(rd, first)
	case decode.IsVorbisHead(first):
		return openVorbis(rd, first)
	}
	return nil, unsupported(oggCodec(first))
}

// oggCodec names the codec of an Ogg stream's first packet.
func oggCodec(p []byte) string {
	for _, c := range []struct{ magic, name string }{
		{"\x7fFLAC", "Ogg/FLAC"}, {"Speex   ", "Ogg/Speex"}, {"\x80theora", "Ogg/Theora (video)"},
		{"PCM     ", "Ogg/PCM"}, {"fishead\x00", "Ogg skeleton (multiplexed Ogg)"},
	} {
		if bytes.HasPrefix(p, []byte(c.magic)) {
			return c.name
		}
	}
	return fmt.Sprintf("an Ogg stream of an unknown codec (first packet %q)", p[:min(len(p), 8)])
}

// openOpus checks OpusHead and OpusTags (RFC 7845): Opus packets go to the
// mixer undecoded.
func openOpus(rd *ogg.Reader, head []byte) (*Stream, error) {
	oh, err := ogg.ParseOpusHead(head)
	if err != nil {
		return nil, bad("not an Ogg/Opus stream: %v", err)
	}
	tags, err := rd.NextPacket()
	if err != nil {
		return nil, classify(err, "reading OpusTags")
	}
	if !ogg.IsOpusTags(tags) {
		return nil, bad("second packet is not OpusTags")
	}
	s := &Stream{Stats: Stats{Codec: "opus", Channels: int(oh.Channels), Rate: 48000}}
	s.run = func(ctx context.Context, sp Pusher, st *Stats) error {
		return eachPacket(rd, st, func(pkt []byte) error {
			samples, err := ogg.PacketSamples(pkt)
			if err != nil {
				return bad("audio packet %d: %v", st.Packets, err)
			}
			return sp.Push(ctx, pkt, samples)
		})
	}
	return s, nil
}

// openVorbis reads the comment and setup headers and starts libvorbis.
func openVorbis(rd *ogg.Reader, ident []byte) (*Stream, error) {
	var hdr [3][]byte
	hdr[0] = bytes.Clone(ident)
	for i := 1; i < 3; i++ {
		p, err := rd.NextPacket()
		if err != nil {
			return nil, classify(err, "reading the Vorbis headers")
		}
		hdr[i] = bytes.Clone(p)
	}
	v, err := decode.NewVorbis(hdr)
	if err != nil {
		return nil, bad("%v", err)
	}
	s := &Stream{Stats: Stats{Codec: "vorbis", Channels: v.Channels(), Rate: v.Rate()}, close: v.Close}
	s.run = func(ctx context.Context, sp Pusher, st *Stats) error {
		return eachPacket(rd, st, func(pkt []byte) error {
			pcm, err := v.Decode(pkt)
			if err != nil {
				return bad("audio packet %d: %v", st.Packets, err)
			}
			if len(pcm) == 0 {
				return nil
			}
			return sp.PushPCM(ctx, pcm)
		})
	}
	return s, nil
}

// eachPacket hands every audio packet to push until the stream ends.
func eachPacket(rd *ogg.Reader, st *Stats, push func([]byte) error) error {
	for {
		pkt, err := rd.NextPacket()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return classify(err, fmt.Sprintf("after %d audio packets", st.Packets))
		}
		if err := push(pkt); err != nil {
			return err
		}
		st.Packets++
		st.Bytes += int64(len(pkt))
	}
}

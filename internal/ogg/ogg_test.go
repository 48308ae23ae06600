package ogg

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// frames makes n program frames with distinct packets of varied sizes.
func frames(n int) []program.Frame {
	out := make([]program.Frame, n)
	t0 := time.Unix(1700000000, 0)
	for i := range out {
		pkt := bytes.Repeat([]byte{byte(i)}, 1+i*37%600)
		pkt[0] = 0xfc // TOC: CELT 20 ms, one frame
		out[i] = program.Frame{Seq: uint64(i), PTS: uint64(i) * 960, Capture: t0.Add(time.Duration(i) * 20 * time.Millisecond), Packet: pkt}
	}
	return out
}

// TestPagerReaderRoundTrip writes frames through the pager and reads every
// packet back through the demuxer, including packets over 255 bytes.
func TestPagerReaderRoundTrip(t *testing.T) {
	pg := NewPager(42, 5, 1)
	var stream bytes.Buffer
	stream.Write(pg.Headers())
	in := frames(23)
	var pages []Page
	for _, f := range append(in, program.Frame{End: true, Seq: 23, PTS: 23 * 960}) {
		if p, ok := pg.Push(f); ok {
			pages = append(pages, p)
			stream.Write(p.Data)
		}
	}
	if len(pages) != 5 || !pages[4].EOS || pages[4].Frames != 3 {
		t.Fatalf("pages: %d, last %+v", len(pages), pages[len(pages)-1])
	}
	if g := pages[0].Granule; g != 5*960 {
		t.Fatalf("first granule %d", g)
	}
	if pages[1].StartGranule() != pages[0].Granule || !pages[1].Capture.Equal(in[5].Capture) {
		t.Fatalf("page 1 starts at %d (capture %v)", pages[1].StartGranule(), pages[1].Capture)
	}
	rd := NewReader(&stream)
	head, _ := rd.NextPacket()
	if h, err := ParseOpusHead(head); err != nil || h.Channels != 1 || h.PreSkip != program.PreSkip {
		t.Fatalf("OpusHead %+v %v", h, err)
	}
	if tags, _ := rd.NextPacket(); !IsOpusTags(tags) {
		t.Fatal("no OpusTags")
	}
	for i, f := range in {
		p, err := rd.NextPacket()
		if err != nil || !bytes.Equal(p, f.Packet) {
			t.Fatalf("packet %d: %v (len %d, want %d)", i, err, len(p), len(f.Packet))
		}
	}
	if _, err := rd.NextPacket(); err != io.EOF {
		t.Fatalf("after EOS: %v, want io.EOF", err)
	}
}

// TestPacketSpansPages checks a packet continued over several pages.
func TestPacketSpansPages(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 255*3)
	var s []byte
	s = append(s, BuildPage(FlagBOS, 0, 1, 0, [][]byte{[]byte("a")})...)
	// 255*3 bytes with lacing 255,255 on page 1, then 255,0 on page 2.
	p1 := appendRaw(nil, 0, 1, 1, []byte{255, 255}, big[:510])
	p2 := appendRaw(nil, FlagContinued|FlagEOS, 1, 2, []byte{255, 0}, big[510:])
	s = append(append(s, p1...), p2...)
	rd := NewReader(bytes.NewReader(s))
	rd.NextPacket()
	p, err := rd.NextPacket()
	if err != nil || !bytes.Equal(p, big) {
		t.Fatalf("spanning packet: %v len %d", err, len(p))
	}
}

// appendRaw builds a page with an explicit lacing table.
func appendRaw(dst []byte, flags byte, serial, seq uint32, lacing, body []byte) []byte {
	pg := BuildPage(flags, 0, serial, seq, nil)
	pg = append(pg[:26], byte(len(lacing)))
	pg = append(append(pg, lacing...), body...)
	pg[22], pg[23], pg[24], pg[25] = 0, 0, 0, 0
	c := crc(0, pg)
	pg[22], pg[23], pg[24], pg[25] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
	return append(dst, pg...)
}

func TestReaderRejectsDamage(t *testing.T) {
	good := append(BuildPage(FlagBOS, 0, 9, 0, [][]byte{OpusHeadPacket(1, 312, 48000)}),
		BuildPage(0, 0, 9, 1, [][]byte{OpusTagsPacket("x")})...)
	flip := bytes.Clone(good)
	flip[40] ^= 1
	other := append(BuildPage(FlagBOS, 0, 9, 0, [][]byte{{1}}), BuildPage(0, 0, 10, 1, [][]byte{{1}})...)
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"not ogg":         {[]byte("RIFF....WAVEfmt and more bytes here"), ErrCapture},
		"bad crc":         {flip, ErrCRC},
		"truncated":       {good[:len(good)-3], ErrTruncated},
		"no bos":          {BuildPage(0, 0, 9, 0, [][]byte{{1}}), ErrNoBOS},
		"other serial":    {other, ErrSerial},
		"orphan continue": {append(BuildPage(FlagBOS, 0, 9, 0, [][]byte{{1}}), BuildPage(FlagContinued, 0, 9, 1, [][]byte{{2}})...), ErrSequence},
	}
	for name, c := range cases {
		rd := NewReader(bytes.NewReader(c.in))
		var err error
		for err == nil {
			_, err = rd.NextPacket()
		}
		var fe *FormatError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

func TestPacketSamples(t *testing.T) {
	cases := []struct {
		pkt  []byte
		want int // 0: invalid
	}{
		{[]byte{0xfc, 1, 2, 3}, 960},              // CELT FB 20 ms, code 0
		{[]byte{0x08}, 960},                       // SILK NB 20 ms, empty frame (DTX)
		{[]byte{0x18}, 2880},                      // SILK 60 ms
		{[]byte{0xfd, 1, 2}, 1920},                // code 1, two equal frames
		{[]byte{0xfd, 1, 2, 3}, 0},                // code 1 with an odd payload
		{[]byte{0xfe, 1, 9, 8}, 1920},             // code 2: first frame 1 byte
		{[]byte{0xfe, 5, 9}, 0},                   // code 2: first frame longer than the packet
		{[]byte{0xff, 0x03, 1, 2, 3}, 2880},       // code 3 CBR, 3 frames of 1 byte
		{[]byte{0xff, 0x07, 1, 2, 3}, 0},          // code 3, 7×20 ms > 120 ms
		{[]byte{0xff, 0x00}, 0},                   // code 3 with no frames
		{[]byte{0xff, 0x42, 2, 1, 1, 0, 0}, 1920}, // code 3 CBR with 2 bytes of padding
		{[]byte{0xff, 0x42, 9, 1, 1}, 0},          // padding past the end
		{[]byte{0xff, 0x82, 1, 7, 7}, 1920},       // code 3 VBR: frames of 1 and 2 bytes
		{[]byte{0xff, 0x82, 9, 7}, 0},             // VBR length past the end
		{nil, 0},
		{append([]byte{0xfc}, make([]byte, 1276)...), 0}, // frame over 1275 bytes
	}
	for _, c := range cases {
		got, err := PacketSamples(c.pkt)
		if (c.want == 0) != (err != nil) || got != c.want {
			t.Errorf("% x: got %d, %v; want %d", c.pkt, got, err, c.want)
		}
	}
}

// TestFFprobeReadsMidShowStream checks with a third-party demuxer that a
// stream joined mid-show (the pages seen through the view of its first
// page) is valid Ogg/Opus: ffmpeg decodes it without a single warning.
func TestFFprobeReadsMidShowStream(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make test installs it)")
	}
	pg := NewPager(5, 5, 1)
	var pages []Page
	silence := []byte{0xf8, 0xff, 0xfe} // CELT 20 ms silence
	for i := range 100 {
		if p, ok := pg.Push(program.Frame{Seq: uint64(i), PTS: uint64(i) * 960, Packet: silence}); ok {
			pages = append(pages, p)
		}
	}
	stream := pg.Headers()
	v := ViewFrom(pages[7])
	for _, p := range pages[7:] {
		stream = p.AppendView(stream, v)
	}
	cmd := exec.Command("ffmpeg", "-v", "warning", "-i", "-", "-f", "s16le", "-")
	cmd.Stdin = bytes.NewReader(stream)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("ffmpeg: %v: %s", err, errb.String())
	}
	if n := out.Len() / 2; n < 60*960-program.PreSkip || n > 65*960 {
		t.Fatalf("decoded %d samples from 13 pages of 5 frames", n)
	}
}

func FuzzReader(f *testing.F) {
	pg := NewPager(3, 2, 1)
	seed := pg.Headers()
	for i := range 5 {
		if p, ok := pg.Push(program.Frame{PTS: uint64(i) * 960, Packet: []byte{0xfc, byte(i)}}); ok {
			seed = append(seed, p.Data...)
		}
	}
	f.Add(seed)
	f.Add([]byte("OggS"))
	f.Add(appendRaw(nil, FlagBOS, 1, 0, []byte{255, 255}, make([]byte, 510)))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		total := 0
		for range 10000 {
			p, err := rd.NextPacket()
			if err != nil {
				return
			}
			total += len(p)
			if len(p) > MaxPacket || total > len(data) {
				t.Fatalf("packet of %d bytes (total %d) from %d bytes of input", len(p), total, len(data))
			}
			if samples, err := PacketSamples(p); err == nil && (samples <= 0 || samples > 5760) {
				t.Fatalf("PacketSamples %d", samples)
			}
			_, _ = ParseOpusHead(p)
		}
	})
}

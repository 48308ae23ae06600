package fmp4

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// skip is how many payload bytes precede the child boxes of each container
// the tests descend into: FullBox header plus entry_count for dref and stsd,
// the AudioSampleEntry fields for 'Opus'.
var skip = map[string]int{
	"moov": 0, "trak": 0, "mdia": 0, "minf": 0, "dinf": 0, "stbl": 0,
	"mvex": 0, "moof": 0, "traf": 0, "dref": 8, "stsd": 8, "Opus": 28,
}

// children parses a container's child boxes.
func children(box Box) ([]Box, error) {
	n, ok := skip[box.Type]
	if !ok || len(box.Payload) < n {
		return nil, fmt.Errorf("%q is not a container of %d+ bytes", box.Type, n)
	}
	return Boxes(box.Payload[n:])
}

// outline renders a box list as "a b[c d[e]]", recursing into containers.
func outline(t *testing.T, b []byte) string {
	t.Helper()
	boxes, err := Boxes(b)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(boxes))
	for i, box := range boxes {
		parts[i] = box.Type
		if n, ok := skip[box.Type]; ok {
			parts[i] += "[" + outline(t, box.Payload[n:]) + "]"
		}
	}
	return strings.Join(parts, " ")
}

// find returns the first box at a slash-separated path such as "moov/mvhd".
func find(t *testing.T, b []byte, path string) Box {
	t.Helper()
	boxes, err := Boxes(b)
	var box Box
	for _, name := range strings.Split(path, "/") {
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		i := indexOf(boxes, name)
		if i < 0 {
			t.Fatalf("%s: no %q box", path, name)
		}
		box = boxes[i]
		boxes, err = children(box) // fails only if the path goes on

	}
	return box
}

func indexOf(boxes []Box, typ string) int {
	for i, b := range boxes {
		if b.Type == typ {
			return i
		}
	}
	return -1
}

func u16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.BigEndian.Uint64(b[off:]) }

// fullHeader splits a FullBox payload into version, flags and the rest.
func fullHeader(b []byte) (byte, uint32, []byte) { return b[0], u32(b, 0) & 0xFFFFFF, b[4:] }

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestInitStructure(t *testing.T) {
	seg := Init(2, 312)
	const want = "ftyp moov[mvhd trak[tkhd mdia[mdhd hdlr minf[smhd dinf[dref[url ]] " +
		"stbl[stsd[Opus[dOps]] stts stsc stsz stco sgpd sbgp]]]] mvex[trex]]"
	eq(t, "init outline", outline(t, seg), want)

	ftyp := find(t, seg, "ftyp").Payload
	eq(t, "ftyp", string(ftyp[:4])+"/"+string(ftyp[8:]), "iso6/iso6cmfcOpus")

	_, _, mvhd := fullHeader(find(t, seg, "moov/mvhd").Payload)
	eq(t, "mvhd timescale", u32(mvhd, 8), Timescale)
	eq(t, "mvhd next_track_ID", u32(mvhd, len(mvhd)-4), TrackID+1)

	_, flags, tkhd := fullHeader(find(t, seg, "moov/trak/tkhd").Payload)
	eq(t, "tkhd flags", flags, 3)
	eq(t, "tkhd track_ID", u32(tkhd, 8), TrackID)

	_, _, mdhd := fullHeader(find(t, seg, "moov/trak/mdia/mdhd").Payload)
	eq(t, "mdhd timescale", u32(mdhd, 8), Timescale)
	eq(t, "mdhd language", u16(mdhd, 16), 0x55C4) // "und"

	_, _, hdlr := fullHeader(find(t, seg, "moov/trak/mdia/hdlr").Payload)
	eq(t, "hdlr handler_type", string(hdlr[4:8]), "soun")

	checkOpusEntry(t, seg, 2)
	dops := find(t, seg, "moov/trak/mdia/minf/stbl/stsd/Opus/dOps").Payload
	eq(t, "dOps", fmt.Sprintf("% x", dops), "00 02 01 38 00 00 bb 80 00 00 00")
	checkEmptyTables(t, seg)

	_, _, sgpd := fullHeader(find(t, seg, "moov/trak/mdia/minf/stbl/sgpd").Payload)
	eq(t, "sgpd", fmt.Sprintf("%s %d %d %d", sgpd[:4], u32(sgpd, 4), u32(sgpd, 8), int16(u16(sgpd, 12))), "roll 2 1 -4")

	_, _, trex := fullHeader(find(t, seg, "moov/mvex/trex").Payload)
	eq(t, "trex", fmt.Sprintf("%d %d %d %d %#x", u32(trex, 0), u32(trex, 4), u32(trex, 8), u32(trex, 12), u32(trex, 16)),
		"1 1 960 0 0x2000000")
}

func checkOpusEntry(t *testing.T, seg []byte, channels int) {
	t.Helper()
	stsd := find(t, seg, "moov/trak/mdia/minf/stbl/stsd").Payload
	eq(t, "stsd entry_count", u32(stsd, 4), 1)
	opus := find(t, seg, "moov/trak/mdia/minf/stbl/stsd/Opus").Payload
	eq(t, "Opus data_reference_index", u16(opus, 6), 1)
	eq(t, "Opus channelcount", u16(opus, 16), uint16(channels))
	eq(t, "Opus samplesize", u16(opus, 18), 16)
	eq(t, "Opus samplerate", u32(opus, 24), 48000<<16)
}

func checkEmptyTables(t *testing.T, seg []byte) {
	t.Helper()
	for _, typ := range []string{"stts", "stsc", "stsz", "stco"} {
		_, _, p := fullHeader(find(t, seg, "moov/trak/mdia/minf/stbl/"+typ).Payload)
		eq(t, typ+" is all zero counts", len(p) >= 4 && len(bytes.Trim(p, "\x00")) == 0, true)
	}
}

func TestInitMono(t *testing.T) {
	seg := Init(1, 3840)
	checkOpusEntry(t, seg, 1)
	dops := find(t, seg, "moov/trak/mdia/minf/stbl/stsd/Opus/dOps").Payload
	eq(t, "dOps", fmt.Sprintf("% x", dops), "00 01 0f 00 00 00 bb 80 00 00 00")
}

func TestInitPanicsOnBadChannels(t *testing.T) {
	for _, ch := range []int{0, 3, 8} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Init(%d, 0) did not panic", ch)
				}
			}()
			Init(ch, 0)
		}()
	}
}

func TestFragmentStructure(t *testing.T) {
	packets := [][]byte{bytes.Repeat([]byte{1}, 100), {2, 2}, bytes.Repeat([]byte{3}, 300)}
	const base = 48000*3600*30 + 960 // past 2^32 ticks: needs tfdt version 1
	frag := Fragment(7, base, packets)
	eq(t, "fragment outline", outline(t, frag), "moof[mfhd traf[tfhd tfdt trun sbgp]] mdat")

	_, _, mfhd := fullHeader(find(t, frag, "moof/mfhd").Payload)
	eq(t, "mfhd sequence_number", u32(mfhd, 0), 7)

	_, flags, tfhd := fullHeader(find(t, frag, "moof/traf/tfhd").Payload)
	eq(t, "tfhd flags", flags, 0x020028)
	eq(t, "tfhd", fmt.Sprintf("%d %d %#x", u32(tfhd, 0), u32(tfhd, 4), u32(tfhd, 8)), "1 960 0x2000000")

	version, _, tfdt := fullHeader(find(t, frag, "moof/traf/tfdt").Payload)
	eq(t, "tfdt version", version, 1)
	eq(t, "tfdt baseMediaDecodeTime", u64(tfdt, 0), base)

	_, flags, trun := fullHeader(find(t, frag, "moof/traf/trun").Payload)
	eq(t, "trun flags", flags, 0x000201)
	eq(t, "trun sample_count", u32(trun, 0), 3)
	moof := find(t, frag, "moof")
	eq(t, "trun data_offset", uint64(u32(trun, 4)), moof.Size+8)
	eq(t, "first mdat byte", frag[u32(trun, 4)], 1)
	eq(t, "trun sizes", fmt.Sprint(u32(trun, 8), u32(trun, 12), u32(trun, 16)), "100 2 300")

	_, _, sbgp := fullHeader(find(t, frag, "moof/traf/sbgp").Payload)
	eq(t, "sbgp", fmt.Sprintf("%s %d %d %d", sbgp[:4], u32(sbgp, 4), u32(sbgp, 8), u32(sbgp, 12)), "roll 1 3 1")

	mdat := find(t, frag, "mdat").Payload
	eq(t, "mdat payload", bytes.Equal(mdat, bytes.Join(packets, nil)), true)
}

// fragment is what parseFragment recovers from one moof+mdat.
type fragment struct {
	seq     uint32
	base    uint64
	packets [][]byte
}

// parseFragment reads a moof+mdat independently of the writer's layout: it
// honours the tfhd and trun flags and checks every sample is a 960-tick
// sync sample.
func parseFragment(t *testing.T, frag []byte) fragment {
	t.Helper()
	var f fragment
	_, _, mfhd := fullHeader(find(t, frag, "moof/mfhd").Payload)
	f.seq = u32(mfhd, 0)
	version, _, tfdt := fullHeader(find(t, frag, "moof/traf/tfdt").Payload)
	f.base = uint64(u32(tfdt, 0))
	if version == 1 {
		f.base = u64(tfdt, 0)
	}
	dur, sflags := parseTfhd(t, find(t, frag, "moof/traf/tfhd").Payload)
	_, flags, trun := fullHeader(find(t, frag, "moof/traf/trun").Payload)
	count, pos, off := int(u32(trun, 0)), 4, 0
	if flags&0x1 != 0 {
		off, pos = int(int32(u32(trun, pos))), pos+4
	}
	if flags&0x4 != 0 {
		t.Fatal("first-sample-flags set: first sample would not use the sync default")
	}
	for range count {
		size := 0
		if flags&0x100 != 0 {
			dur, pos = u32(trun, pos), pos+4
		}
		if flags&0x200 != 0 {
			size, pos = int(u32(trun, pos)), pos+4
		}
		if flags&0x400 != 0 {
			sflags, pos = u32(trun, pos), pos+4
		}
		if flags&0x800 != 0 {
			pos += 4 // composition time offset
		}
		eq(t, "sample duration", dur, SampleDuration)
		eq(t, "sample flags (sync, depends on none)", sflags, 0x02000000)
		if off < 0 || off+size > len(frag) {
			t.Fatalf("sample at %d+%d is outside the %d-byte fragment", off, size, len(frag))
		}
		f.packets = append(f.packets, frag[off:off+size])
		off += size
	}
	return f
}

// parseTfhd requires base-is-moof and returns the default duration and flags.
func parseTfhd(t *testing.T, p []byte) (dur, sflags uint32) {
	t.Helper()
	_, flags, rest := fullHeader(p)
	if flags&0x020000 == 0 || flags&0x1 != 0 {
		t.Fatalf("tfhd flags %#x: data offsets are not relative to moof", flags)
	}
	pos := 4 // track_ID
	if flags&0x2 != 0 {
		pos += 4 // sample_description_index
	}
	if flags&0x8 != 0 {
		dur, pos = u32(rest, pos), pos+4
	}
	if flags&0x10 != 0 {
		pos += 4 // default_sample_size
	}
	if flags&0x20 != 0 {
		sflags = u32(rest, pos)
	}
	return dur, sflags
}

func randomPackets(r *rand.Rand, n int) [][]byte {
	packets := make([][]byte, n)
	for i := range packets {
		packets[i] = make([]byte, r.IntN(400))
		for j := range packets[i] {
			packets[i][j] = byte(r.Uint32())
		}
	}
	return packets
}

func TestFragmentRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 10, 50, 300} {
		packets := randomPackets(r, n)
		base := r.Uint64() >> 1
		f := parseFragment(t, Fragment(uint32(n+1), base, packets))
		eq(t, "seq", f.seq, uint32(n+1))
		eq(t, "base", f.base, base)
		eq(t, "packet count", len(f.packets), n)
		for i := range packets {
			if !bytes.Equal(f.packets[i], packets[i]) {
				t.Fatalf("n=%d: packet %d differs", n, i)
			}
		}
	}
}

func TestAppendFragmentKeepsPrefix(t *testing.T) {
	packets := randomPackets(rand.New(rand.NewPCG(3, 4)), 10)
	out := AppendFragment([]byte("prefix"), 2, 960*10, packets)
	eq(t, "prefix", string(out[:6]), "prefix")
	eq(t, "fragment", bytes.Equal(out[6:], Fragment(2, 960*10, packets)), true)
}

func TestFragmentAllocations(t *testing.T) {
	packets := randomPackets(rand.New(rand.NewPCG(5, 6)), 10)
	out := Fragment(1, 0, packets)
	eq(t, "len = FragmentSize", len(out), FragmentSize(packets))
	eq(t, "cap = len (size known up front)", cap(out), len(out))
	eq(t, "Fragment allocs", testing.AllocsPerRun(100, func() { Fragment(1, 0, packets) }), 1)
	buf := make([]byte, 0, FragmentSize(packets))
	eq(t, "AppendFragment allocs with room", testing.AllocsPerRun(100, func() {
		AppendFragment(buf[:0], 1, 0, packets)
	}), 0)
}

func TestBoxesLargesizeAndToEnd(t *testing.T) {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, "free"...)
	b = binary.BigEndian.AppendUint64(b, 16+3)
	b = append(b, 'a', 'b', 'c')
	b = binary.BigEndian.AppendUint32(b, 0) // size 0: to the end
	b = append(b, "mdat"...)
	b = append(b, "tail"...)
	boxes, err := Boxes(b)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "count", len(boxes), 2)
	eq(t, "box 0", fmt.Sprintf("%s %d %s", boxes[0].Type, boxes[0].Size, boxes[0].Payload), "free 19 abc")
	eq(t, "box 1", fmt.Sprintf("%s %d %s", boxes[1].Type, boxes[1].Size, boxes[1].Payload), "mdat 12 tail")
}

func TestBoxesErrors(t *testing.T) {
	hdr := func(size uint32, rest ...byte) []byte {
		return append(append(binary.BigEndian.AppendUint32(nil, size), "free"...), rest...)
	}
	large := func(size uint64) []byte { return binary.BigEndian.AppendUint64(hdr(1), size) }
	for name, b := range map[string][]byte{
		"short header":         {0, 0, 0, 8, 'f'},
		"size below header":    hdr(7),
		"size past end":        hdr(9),
		"second box truncated": append(hdr(8), 0, 0),
		"largesize truncated":  hdr(1, 0, 0, 0),
		"largesize below 16":   large(15),
		"largesize past end":   large(17),
		"largesize huge":       large(math.MaxUint64),
		"largesize 2^63":       large(1 << 63),
	} {
		if _, err := Boxes(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if boxes, err := Boxes(nil); err != nil || len(boxes) != 0 {
		t.Errorf("Boxes(nil) = %v, %v", boxes, err)
	}
}

func FuzzBoxes(f *testing.F) {
	f.Add(Init(2, 312))
	f.Add(Fragment(1, 960, [][]byte{{1, 2, 3}, {4}}))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 1), "mdat\x00\x00\x00\x00\x00\x00\x00\x10"...))
	f.Add([]byte{0, 0, 0, 0, 'm', 'o', 'o', 'v'})
	f.Fuzz(func(t *testing.T, b []byte) {
		boxes, err := Boxes(b)
		if err != nil {
			return
		}
		total := uint64(0)
		for _, box := range boxes {
			hdr := box.Size - uint64(len(box.Payload))
			if len(box.Type) != 4 || (hdr != 8 && hdr != 16) {
				t.Fatalf("box %q size %d payload %d", box.Type, box.Size, len(box.Payload))
			}
			total += box.Size
			walk(box, 0)
		}
		if total != uint64(len(b)) {
			t.Fatalf("sizes add to %d, input is %d bytes", total, len(b))
		}
	})
}

// walk descends into containers ignoring errors: it only has to not panic.
func walk(box Box, depth int) {
	if depth > 16 {
		return
	}
	kids, _ := children(box)
	for _, k := range kids {
		walk(k, depth+1)
	}
}

func BenchmarkFragment(b *testing.B) {
	packets := make([][]byte, 10) // one 200 ms part
	for i := range packets {
		packets[i] = bytes.Repeat([]byte{byte(i)}, 120)
	}
	b.SetBytes(int64(FragmentSize(packets)))
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq++
		Fragment(seq, uint64(seq)*9600, packets)
	}
}

// --- ffmpeg / ffprobe interoperability ---

func needFFmpeg(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
}

// run runs a command and fails the test if it exits non-zero or writes to
// stderr (all commands run with -v error, so any output is an error).
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// encodeOpus returns the OpusHead and the audio packets of 1 s of a 440 Hz
// tone, as libopus produces them (20 ms frames by default).
func encodeOpus(t *testing.T, channels int) (head []byte, packets [][]byte) {
	t.Helper()
	ogg := run(t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "1", "-c:a", "libopus", "-b:a", "48k", "-ac", strconv.Itoa(channels), "-f", "ogg", "-")
	all, err := oggPackets(ogg)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 || !bytes.HasPrefix(all[0], []byte("OpusHead")) || !bytes.HasPrefix(all[1], []byte("OpusTags")) {
		t.Fatalf("ffmpeg output is not Ogg Opus (%d packets)", len(all))
	}
	for i, p := range all[2:] {
		if d := opusDuration(p); d != SampleDuration {
			t.Fatalf("packet %d lasts %d samples, want %d", i, d, SampleDuration)
		}
	}
	return all[0], all[2:]
}

// oggPackets reassembles the packets of a single-stream Ogg file: each page
// is "OggS", a 27-byte header ending with the segment count, the lacing
// values, then the segments; a lacing value below 255 ends a packet, and a
// packet may continue onto the next page.
func oggPackets(data []byte) ([][]byte, error) {
	var packets [][]byte
	var cur []byte
	for len(data) > 0 {
		if len(data) < 27 || string(data[:4]) != "OggS" || len(data) < 27+int(data[26]) {
			return nil, errors.New("bad Ogg page header")
		}
		lacing, body := data[27:27+int(data[26])], data[27+int(data[26]):]
		for _, n := range lacing {
			if int(n) > len(body) {
				return nil, errors.New("truncated Ogg page")
			}
			cur, body = append(cur, body[:n]...), body[n:]
			if n < 255 {
				packets, cur = append(packets, cur), nil
			}
		}
		data = body
	}
	return packets, nil
}

// opusDuration is the packet's length in 48 kHz samples, from its TOC byte
// (RFC 6716 section 3.1).
func opusDuration(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := int(p[0] >> 3)
	var frame int // in 1/400 s: 2.5 ms = 1
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = []int{4, 8, 16, 24}[config%4]
	case config < 16: // Hybrid: 10, 20 ms
		frame = []int{4, 8}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []int{1, 2, 4, 8}[config%4]
	}
	frames := []int{1, 2, 2, 0}[p[0]&3]
	if frames == 0 && len(p) > 1 {
		frames = int(p[1] & 0x3F)
	}
	return frames * frame * 120
}

// writeStream writes Init then fragments of per packets, as an HLS client
// would concatenate the EXT-X-MAP and the parts.
func writeStream(t *testing.T, head []byte, base uint64, packets [][]byte, per int) string {
	t.Helper()
	b := Init(int(head[9]), binary.LittleEndian.Uint16(head[10:]))
	for i, seq := 0, uint32(1); i < len(packets); i, seq = i+per, seq+1 {
		b = AppendFragment(b, seq, base+uint64(i)*SampleDuration, packets[i:min(i+per, len(packets))])
	}
	path := filepath.Join(t.TempDir(), "stream.mp4")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type probeInfo struct {
	Streams []struct {
		CodecName  string `json:"codec_name"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
	} `json:"streams"`
	Format struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
}

func probe(t *testing.T, path string) probeInfo {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-of", "json", "-show_entries",
		"stream=codec_name,sample_rate,channels:format=duration,start_time", path)
	var p probeInfo
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	return p
}

func seconds(t *testing.T, what, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
	}
}

// decode returns the file's audio as mono float samples at 48 kHz.
func decode(t *testing.T, path string) []float64 {
	t.Helper()
	pcm := run(t, "ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	samples := make([]float64, len(pcm)/2)
	for i := range samples {
		samples[i] = float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
	}
	return samples
}

// toneShare is the fraction of x's energy at freq, by the Goertzel
// algorithm: about 1 for a pure tone at freq, about 0 far from it.
func toneShare(x []float64, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/Timescale)
	var s1, s2, energy float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
		energy += v * v
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(x)) * energy)
}

func TestFFmpegReadsStream(t *testing.T) {
	needFFmpeg(t)
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprintf("channels=%d", channels), func(t *testing.T) {
			head, packets := encodeOpus(t, channels)
			if len(packets) < 50 {
				t.Fatalf("only %d packets", len(packets))
			}
			path := writeStream(t, head, 0, packets[:50], 10) // 1 s in 5 parts
			p := probe(t, path)
			s := p.Streams[0]
			eq(t, "codec_name", s.CodecName, "opus")
			eq(t, "sample_rate", s.SampleRate, "48000")
			eq(t, "channels", s.Channels, channels)
			near(t, "duration", seconds(t, "duration", p.Format.Duration), 1.0, 0.05)

			pcm := decode(t, path)
			near(t, "decoded samples", float64(len(pcm)), 48000, SampleDuration)
			window := pcm[4800 : 4800+38400] // 0.8 s: 352 whole periods of 440 Hz
			if share := toneShare(window, 440); share < 0.9 {
				t.Errorf("440 Hz holds %.3f of the energy, want > 0.9", share)
			}
			if share := toneShare(window, 1000); share > 0.01 {
				t.Errorf("1000 Hz holds %.3f of the energy, want < 0.01", share)
			}
		})
	}
}

func TestFFmpegNonZeroBaseDecodeTime(t *testing.T) {
	needFFmpeg(t)
	head, packets := encodeOpus(t, 1)
	path := writeStream(t, head, Timescale*10, packets[:50], 10)
	p := probe(t, path)
	eq(t, "codec_name", p.Streams[0].CodecName, "opus")
	start := seconds(t, "start_time", p.Format.StartTime)
	near(t, "start_time", start, 10, 0.05)
	// ffmpeg up to at least 5.1 reports a fragmented file's duration as its
	// end time (11 s here); accept that or the true 1 s.
	if d := seconds(t, "duration", p.Format.Duration); math.Abs(d-1) > 0.05 && math.Abs(d-start-1) > 0.05 {
		t.Errorf("duration = %v, want 1 or %v", d, start+1)
	}
	near(t, "decoded samples", float64(len(decode(t, path))), 48000, SampleDuration)
}

func TestReadIndex(t *testing.T) {
	init := Init(1, 312)
	file := append([]byte(nil), init...)
	var want []FragmentInfo
	for i := range 4 {
		pk := make([][]byte, 5+i)
		for j := range pk {
			pk[j] = []byte{0xfc, byte(i), byte(j)}
		}
		frag := Fragment(uint32(i+1), uint64(i)*48000, pk)
		want = append(want, FragmentInfo{Offset: int64(len(file)), Size: int64(len(frag)), Samples: len(pk), BaseDecodeTime: uint64(i) * 48000})
		file = append(file, frag...)
	}
	idx, err := ReadIndex(bytes.NewReader(file), int64(len(file)))
	if err != nil || idx.InitSize != int64(len(init)) || len(idx.Fragments) != 4 {
		t.Fatalf("index %+v, %v", idx, err)
	}
	for i, f := range idx.Fragments {
		if f != want[i] {
			t.Fatalf("fragment %d: %+v, want %+v", i, f, want[i])
		}
	}
	// A crash cut the file inside the last fragment: three are complete.
	cut := file[:len(file)-7]
	idx, err = ReadIndex(bytes.NewReader(cut), int64(len(cut)))
	if err != nil || len(idx.Fragments) != 3 {
		t.Fatalf("truncated: %d fragments, %v", len(idx.Fragments), err)
	}
	if _, err := ReadIndex(bytes.NewReader([]byte("garbage!garbage!")), 16); err == nil {
		t.Fatal("garbage indexed")
	}
}

package hls

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/program"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func frame(seq uint64) program.Frame {
	return program.Frame{Seq: seq, PTS: seq * 960, Capture: t0.Add(time.Duration(seq) * 20 * time.Millisecond),
		Packet: []byte{0xfc, byte(seq)}}
}

// small parts and segments keep the tests readable: 2 frames a part, 3
// parts a segment, 2 segments kept.
func small() *Packager { return New(Config{PartFrames: 2, SegmentParts: 3, WindowSegments: 2}) }

func push(p *Packager, from, to uint64) {
	for s := from; s < to; s++ {
		p.Push(frame(s))
	}
}

func TestPartsAlignOnProgramSequence(t *testing.T) {
	p := small()
	push(p, 3, 12) // joined mid-part: frame 3 is dropped, parts start at 4
	st := p.State()
	if !st.HasMedia || st.Next != 6 {
		t.Fatalf("next part %d, want 6 (parts 2..5 cut)", st.Next)
	}
	pl := string(st.Playlist)
	for _, want := range []string{
		"#EXT-X-MEDIA-SEQUENCE:0\n",
		"#EXT-X-PROGRAM-DATE-TIME:2026-11-25T08:00:00.080Z\n", // frame 4
		`#EXT-X-PART:DURATION=0.040,URI="p0.2.m4s",INDEPENDENT=YES`,
		"#EXTINF:0.040,\ns0.m4s\n", // a short first segment: one part
		"#EXTINF:0.120,\ns1.m4s\n",
		`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p2.0.m4s"`,
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.120\n",
		"#EXT-X-PART-INF:PART-TARGET=0.040\n",
		"#EXT-X-TARGETDURATION:1\n",
	} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	data, _, err := p.Part(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := parseFrag(t, data)
	if f.BaseDecodeTime != 8*960 || f.Samples != 2 {
		t.Fatalf("part 1.1: %+v", f)
	}
	seg, _, err := p.Segment(1)
	if err != nil || len(seg) != 3*len(data) {
		t.Fatalf("segment 1: %d bytes, %v", len(seg), err)
	}
}

func parseFrag(t *testing.T, b []byte) fmp4.FragmentInfo {
	t.Helper()
	idx, err := fmp4.ReadIndex(strings.NewReader(string(append(fmp4.Init(1, 312), b...))), int64(len(fmp4.Init(1, 312))+len(b)))
	if err != nil || len(idx.Fragments) != 1 {
		t.Fatalf("fragment: %v", err)
	}
	return idx.Fragments[0]
}

func TestWindowAndLookups(t *testing.T) {
	p := small()
	push(p, 0, 6*6) // 6 segments; 2 kept
	st := p.State()
	pl := string(st.Playlist)
	if !strings.Contains(pl, "#EXT-X-MEDIA-SEQUENCE:4\n") || strings.Contains(pl, "s3.m4s") {
		t.Fatalf("window:\n%s", pl)
	}
	if _, _, err := p.Part(0, 0); !errors.Is(err, ErrGone) {
		t.Errorf("evicted part: %v", err)
	}
	if _, _, err := p.Segment(1); !errors.Is(err, ErrGone) {
		t.Errorf("evicted segment: %v", err)
	}
	// The next part: nil error, wait on the state.
	if data, st, err := p.Part(6, 0); data != nil || err != nil || st.Wait == nil {
		t.Errorf("next part: %v %v", data, err)
	}
	if _, _, err := p.Part(40, 0); !errors.Is(err, ErrFuture) {
		t.Errorf("far future part: %v", err)
	}
	if _, _, err := p.Part(5, 3); !errors.Is(err, ErrNoMedia) {
		t.Errorf("part index past the segment: %v", err)
	}
	// Blocking reload semantics.
	for _, c := range []struct {
		msn  uint64
		part int
		done bool
		err  error
	}{
		{5, 2, true, nil}, {5, -1, true, nil}, {6, 0, false, nil}, {6, -1, false, nil},
		{1, 0, true, nil}, {60, 0, false, ErrFuture}, {6, 7, false, ErrNoMedia},
	} {
		_, done, err := p.Satisfied(c.msn, c.part)
		if done != c.done || !errors.Is(err, c.err) {
			t.Errorf("Satisfied(%d, %d) = %v, %v", c.msn, c.part, done, err)
		}
	}
}

func TestEndListsShortLastPart(t *testing.T) {
	p := small()
	st := p.State()
	push(p, 0, 7)
	select {
	case <-st.Wait:
	default:
		t.Fatal("waiters not woken by new parts")
	}
	p.Push(program.Frame{End: true, Seq: 7})
	st = p.State()
	pl := string(st.Playlist)
	if !st.Ended || !strings.HasSuffix(pl, "#EXT-X-ENDLIST\n") || strings.Contains(pl, "PRELOAD-HINT") {
		t.Fatalf("ended playlist:\n%s", pl)
	}
	if !strings.Contains(pl, "#EXTINF:0.020,\ns1.m4s\n") {
		t.Fatalf("short last segment missing:\n%s", pl)
	}
	if _, done, _ := p.Satisfied(9, 0); !done {
		t.Fatal("a blocking reload past the end must return at once")
	}
	if _, _, err := p.Part(1, 2); !errors.Is(err, ErrNoMedia) {
		t.Fatalf("part after the end: %v", err)
	}
}

func TestVODPlaylist(t *testing.T) {
	idx := fmp4.Index{InitSize: 600, Fragments: []fmp4.FragmentInfo{
		{Offset: 600, Size: 1000, Samples: 100}, {Offset: 1600, Size: 300, Samples: 30}}}
	pl := string(VOD("audio.mp4", idx, t0))
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD\n", `#EXT-X-MAP:URI="audio.mp4",BYTERANGE="600@0"`,
		"#EXTINF:2.000,\n#EXT-X-BYTERANGE:1000@600\naudio.mp4\n", "#EXTINF:0.600,\n#EXT-X-BYTERANGE:300@1600\n",
		"#EXT-X-TARGETDURATION:2\n", "#EXT-X-ENDLIST\n"} {
		if !strings.Contains(pl, want) {
			t.Errorf("VOD lacks %q:\n%s", want, pl)
		}
	}
}

// BenchmarkPush is the packager's cost per program frame (a part and a
// playlist render every PartFrames frames), for one space.
func BenchmarkPush(b *testing.B) {
	p := New(Config{})
	pkt := make([]byte, 120)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Push(program.Frame{Seq: uint64(i), PTS: uint64(i) * 960, Capture: t0, Packet: pkt})
	}
}

package load

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/http/httputil"
	"slices"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h Hist
	var vals []int64
	for i := range 20000 {
		v := int64(rng.ExpFloat64() * 50000) // µs: a long tail
		vals = append(vals, v)
		h.Record(i, v)
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.N != uint64(len(vals)) || s.Max != vals[len(vals)-1] {
		t.Fatalf("n %d max %d, want %d %d", s.N, s.Max, len(vals), vals[len(vals)-1])
	}
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := s.Quantile(q)
		if d := math.Abs(float64(got-exact)) / float64(max(exact, 1)); d > 0.035 {
			t.Errorf("p%v = %d, exact %d (%.1f%% off)", q*100, got, exact, 100*d)
		}
	}
	// Merging two halves equals one histogram of everything.
	var a, b Hist
	for i, v := range vals {
		if i%2 == 0 {
			a.Record(i, v)
		} else {
			b.Record(i, v)
		}
	}
	m := a.Snapshot()
	m.Merge(b.Snapshot())
	if m.N != s.N || m.Sum != s.Sum || m.Max != s.Max || !slices.Equal(m.Buckets, s.Buckets) {
		t.Fatalf("merged histogram differs from the whole")
	}
	// Small values are exact.
	var small Hist
	for _, v := range []int64{0, 0, 1, 3, 3, 3, -5} {
		small.Record(0, v)
	}
	if ss := small.Snapshot(); ss.Quantile(0.5) != 1 || ss.Quantile(1) != 3 || ss.Quantile(0.1) != 0 {
		t.Fatalf("small values: p50 %d p100 %d", ss.Quantile(0.5), ss.Quantile(1))
	}
	for v := int64(0); v < 1<<20; v = v*3/2 + 1 {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Fatalf("%d not in its bucket [%d, %d]", v, lo, hi)
		}
	}
}

func TestDechunker(t *testing.T) {
	var enc bytes.Buffer
	w := httputil.NewChunkedWriter(&enc)
	var want []byte
	for i := range 50 {
		p := bytes.Repeat([]byte{byte(i)}, 1+i*13%300)
		want = append(want, p...)
		w.Write(p)
	}
	w.Close()
	enc.WriteString("X-Trailer: 1\r\n\r\n")
	raw := enc.Bytes()
	for _, step := range []int{1, 2, 7, 100, len(raw)} {
		var d dechunker
		var got []byte
		done := false
		for off := 0; off < len(raw) && !done; off += step {
			b := raw[off:min(off+step, len(raw))]
			for len(b) > 0 && !done {
				n, data, fin, err := d.next(b)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				got = append(got, data...)
				b = b[n:]
				done = fin
			}
		}
		if !done || !bytes.Equal(got, want) {
			t.Fatalf("step %d: done %v, %d bytes, want %d", step, done, len(got), len(want))
		}
	}
	var d dechunker
	if _, _, _, err := d.next([]byte("zz\r\n")); err == nil {
		t.Fatal("bad chunk size accepted")
	}
}

func TestParseHead(t *testing.T) {
	var rh respHead
	head := "HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\nonair-first-capture-ms: 1795596665997\r\n" +
		"Onair-First-Granule: 266880\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
	if err := parseHead([]byte(head), &rh); err != nil {
		t.Fatal(err)
	}
	if rh.status != 200 || !rh.chunked || !rh.close || rh.capMs != 1795596665997 || !rh.hasCap || rh.granule != 266880 || !rh.hasGranule || rh.length != -1 {
		t.Fatalf("%+v", rh)
	}
	if err := parseHead([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 12\r\n"), &rh); err != nil ||
		rh.status != 503 || rh.retryAfter != 5 || rh.length != 12 {
		t.Fatalf("%+v %v", rh, err)
	}
	for _, bad := range []string{"", "HTTP/1.1", "ICY 200 OK\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n"} {
		if err := parseHead([]byte(bad), &rh); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStallTracker(t *testing.T) {
	const ms = int64(time.Millisecond)
	T := int64(time.Second)
	// Steady 100 ms pages every 100 ms, with jitter under the threshold: no stall.
	s := StallTracker{Threshold: T}
	now := int64(1e12)
	for i := range 600 {
		jitter := int64(i%7) * 60 * ms
		s.Audio(now+int64(i)*100*ms+jitter, 100*ms)
	}
	s.Finish(now + 600*100*ms)
	if s.Stalls != 0 || s.Stalled != 0 {
		t.Fatalf("steady stream: %d stalls, %v", s.Stalls, time.Duration(s.Stalled))
	}

	// A 3 s gap with a 1 s threshold and no buffer: one stall of 2 s,
	// then the backlog arrives at once and playback goes on.
	s = StallTracker{Threshold: T}
	t0 := int64(1e12)
	for i := range 20 { // 2 s of audio in real time
		s.Audio(t0+int64(i)*100*ms, 100*ms)
	}
	// The page due at 2.0 s arrives at 5.0 s with the 30 pages held back.
	resume := t0 + 5000*ms
	ended := s.Audio(resume, 100*ms)
	if !ended || s.Stalls != 1 {
		t.Fatalf("gap: ended %v, %d stalls", ended, s.Stalls)
	}
	// Audio delivered by the gap: 2.0 s, counting from t0: the stall began
	// when the wall clock passed 2.0 + 1.0 s.
	if got, want := time.Duration(s.Stalled), 2*time.Second; got != want {
		t.Fatalf("stalled %v, want %v", got, want)
	}
	for i := range 30 {
		s.Audio(resume+int64(i)*ms, 100*ms)
	}
	for i := range 50 { // back to real time
		s.Audio(resume+100*ms+int64(i)*100*ms, 100*ms)
	}
	s.Finish(resume + 5000*ms)
	if s.Stalls != 1 || time.Duration(s.Stalled) != 2*time.Second {
		t.Fatalf("after the gap: %d stalls, %v", s.Stalls, time.Duration(s.Stalled))
	}

	// A start-up buffer absorbs part of a gap: 0.5 s burst, 2 s gap, 1 s
	// threshold: 0.5 s stalled.
	s = StallTracker{Threshold: T}
	s.Audio(t0, 500*ms)
	for i := range 10 {
		s.Audio(t0+int64(i+1)*100*ms, 100*ms)
	}
	s.Audio(t0+1000*ms+2000*ms, 100*ms)
	if s.Stalls != 1 || time.Duration(s.Stalled) != 500*time.Millisecond {
		t.Fatalf("with a buffer: %d stalls, %v", s.Stalls, time.Duration(s.Stalled))
	}

	// A listener whose audio stops for good: the stall runs to its end.
	s = StallTracker{Threshold: T}
	s.Audio(t0, 100*ms)
	if d := s.Deadline(); d != t0+1100*ms {
		t.Fatalf("deadline %d, want %d", d-t0, 1100*ms)
	}
	s.Finish(t0 + 10*T)
	if s.Stalls != 1 || s.Stalled != 10*T-1100*ms {
		t.Fatalf("dead stream: %d stalls, %v", s.Stalls, time.Duration(s.Stalled))
	}
	// Audio lost (a skip) is not caught up: after the stall the clock restarts.
	s = StallTracker{Threshold: T}
	s.Audio(t0, 100*ms)
	s.Audio(t0+3000*ms, 100*ms) // 1.9 s stalled
	s.Audio(t0+3100*ms, 100*ms)
	s.Audio(t0+3200*ms, 100*ms)
	s.Finish(t0 + 3300*ms)
	if s.Stalls != 1 || time.Duration(s.Stalled) != 1900*time.Millisecond {
		t.Fatalf("after a loss: %d stalls, %v", s.Stalls, time.Duration(s.Stalled))
	}
}

const samplePlaylist = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:2
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T08:51:04.437Z
#EXTINF:2.000,
s2.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T08:51:06.437Z
#EXT-X-PART:DURATION=0.200,URI="p3.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p3.1.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.180,URI="p3.2.m4s",INDEPENDENT=YES
#EXTINF:0.580,
s3.m4s
#EXT-X-PART:DURATION=0.200,URI="p4.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p4.1.m4s"
`

func TestPlaylistParse(t *testing.T) {
	var pl playlist
	text := []byte(samplePlaylist)
	if err := pl.parse(text); err != nil {
		t.Fatal(err)
	}
	pdt := time.Date(2026, 11, 25, 8, 51, 6, 437e6, time.UTC).UnixNano()
	want := []plPart{
		{msn: 3, k: 0, dur: 200e6, end: pdt + 200e6},
		{msn: 3, k: 1, dur: 200e6, end: pdt + 400e6},
		{msn: 3, k: 2, dur: 180e6, end: pdt + 580e6},
		{msn: 4, k: 0, dur: 200e6, end: pdt + 780e6}, // no date of its own: the previous one plus EXTINF
	}
	if len(pl.parts) != len(want) {
		t.Fatalf("%d parts: %+v", len(pl.parts), pl.parts)
	}
	for i, p := range pl.parts {
		uri := string(text[p.uri[0]:p.uri[1]])
		p.uri = [2]int32{}
		if p != want[i] {
			t.Errorf("part %d: %+v, want %+v", i, p, want[i])
		}
		if uri != PartURI(want[i].msn, want[i].k) {
			t.Errorf("part %d URI %q", i, uri)
		}
	}
	if !pl.hasHint || pl.hint.msn != 4 || pl.hint.k != 1 || pl.holdBack != 600e6 || pl.partTarget != 200e6 ||
		!pl.hasMap || string(text[pl.mapURI[0]:pl.mapURI[1]]) != "init.mp4" || pl.ended {
		t.Fatalf("%+v", pl)
	}
	if err := pl.parse(append(text, "#EXT-X-ENDLIST\n"...)); err != nil || !pl.ended {
		t.Fatal("ENDLIST not seen")
	}
	if err := pl.parse([]byte("not a playlist")); err == nil {
		t.Fatal("garbage accepted")
	}
	allocs := testing.AllocsPerRun(100, func() { _ = pl.parse(text) })
	if allocs != 0 {
		t.Fatalf("%.0f allocations per parse", allocs)
	}
}

// onairPlaylist is a media playlist as onair serves it, 14 s into a show:
// a window of six complete segments, the parts of the newest three (the
// last one still being made) and the preload hint.
const onairPlaylist = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:35.932Z
#EXTINF:2.000,
s1.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:37.932Z
#EXTINF:2.000,
s2.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:39.932Z
#EXTINF:2.000,
s3.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:41.932Z
#EXTINF:2.000,
s4.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:43.932Z
#EXT-X-PART:DURATION=0.200,URI="p5.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.1.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.2.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.3.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.4.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.5.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.6.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.7.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.8.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p5.9.m4s",INDEPENDENT=YES
#EXTINF:2.000,
s5.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:45.932Z
#EXT-X-PART:DURATION=0.200,URI="p6.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.1.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.2.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.3.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.4.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.5.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.6.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.7.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.8.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p6.9.m4s",INDEPENDENT=YES
#EXTINF:2.000,
s6.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:50:47.932Z
#EXT-X-PART:DURATION=0.200,URI="p7.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p7.1.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p7.2.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p7.3.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="p7.4.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p7.5.m4s"
`

func TestPlaylistSegments(t *testing.T) {
	var pl playlist
	text := []byte(onairPlaylist)
	if err := pl.parse(text); err != nil {
		t.Fatal(err)
	}
	if pl.target != 2e9 || pl.seq != 1 || len(pl.parts) != 25 || !pl.hasHint || pl.hint.msn != 7 || pl.hint.k != 5 {
		t.Fatalf("target %d, sequence %d, %d parts, hint %+v", pl.target, pl.seq, len(pl.parts), pl.hint)
	}
	pdt := time.Date(2026, 11, 25, 10, 50, 35, 932e6, time.UTC).UnixNano()
	if len(pl.segs) != 6 {
		t.Fatalf("%d segments: %+v", len(pl.segs), pl.segs)
	}
	for i, s := range pl.segs {
		uri := string(text[s.uri[0]:s.uri[1]])
		msn := uint64(i + 1)
		if s.msn != msn || s.dur != 2e9 || s.pdt != pdt+int64(i)*2e9 || uri != "s"+string(appendUint(nil, msn))+".m4s" {
			t.Errorf("segment %d: %+v %q", i, s, uri)
		}
	}
	// The last part of a complete segment ends where the segment does.
	if p := pl.parts[9]; p.msn != 5 || p.k != 9 || p.end != pl.segs[4].pdt+pl.segs[4].dur {
		t.Errorf("part %+v, segment %+v", p, pl.segs[4])
	}
	// A classic player starts three target durations (three segments) from the end.
	if i := classicStart(&pl); i != 3 {
		t.Errorf("classic start at segment index %d, want 3 (s4)", i)
	}
	allocs := testing.AllocsPerRun(100, func() { _ = pl.parse(text) })
	if allocs != 0 {
		t.Fatalf("%.0f allocations per parse", allocs)
	}

	// Without dates or a media sequence, with CRLF, a blank line and a tag
	// between EXTINF and its URI, and a short segment.
	other := "#EXTM3U\r\n#EXT-X-TARGETDURATION:6\r\n#EXTINF:6.0,\r\n\r\n#EXT-X-BITRATE:64\r\n/a/0.ts\r\n" +
		"#EXTINF:5.5,title\r\nhttp://h/1.ts\r\n#EXTINF:6,\r\n2.ts\r\n#EXT-X-ENDLIST\r\n"
	if err := pl.parse([]byte(other)); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		uri string
		dur int64
	}{{"/a/0.ts", 6e9}, {"http://h/1.ts", 5.5e9}, {"2.ts", 6e9}}
	if len(pl.segs) != len(want) || !pl.ended || pl.target != 6e9 {
		t.Fatalf("%+v", pl)
	}
	for i, s := range pl.segs {
		if u := other[s.uri[0]:s.uri[1]]; u != want[i].uri || s.dur != want[i].dur || s.msn != uint64(i) || s.pdt != 0 {
			t.Errorf("segment %d: %+v %q", i, s, u)
		}
	}
	// 6 + 5.5 < 18 s: it starts at the first segment.
	if i := classicStart(&pl); i != 0 {
		t.Errorf("classic start %d, want 0", i)
	}
	if err := pl.parse([]byte("#EXTM3U\n#EXTINF:two,\ns0.m4s\n")); err == nil {
		t.Error("a bad EXTINF accepted")
	}
}

// FuzzPlaylistParse: any text parses or is refused without panicking, and
// every offset it keeps is inside the text.
func FuzzPlaylistParse(f *testing.F) {
	f.Add([]byte(onairPlaylist))
	f.Add([]byte(samplePlaylist))
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:1,\n\n a\n#EXTINF:2,\n"))
	var pl playlist
	f.Fuzz(func(t *testing.T, b []byte) {
		if pl.parse(b) != nil {
			return
		}
		in := func(u [2]int32) bool { return 0 <= u[0] && u[0] <= u[1] && int(u[1]) <= len(b) }
		for _, p := range pl.parts {
			if !in(p.uri) {
				t.Fatalf("part %+v outside %d bytes", p, len(b))
			}
		}
		for i, s := range pl.segs {
			if !in(s.uri) || s.uri[0] == s.uri[1] || s.msn != pl.seq+uint64(i) {
				t.Fatalf("segment %d %+v, sequence %d, %d bytes", i, s, pl.seq, len(b))
			}
		}
		if pl.hasMap && !in(pl.mapURI) {
			t.Fatalf("map %v outside %d bytes", pl.mapURI, len(b))
		}
		if i := classicStart(&pl); i < 0 || (len(pl.segs) > 0 && i >= len(pl.segs)) {
			t.Fatalf("classic start %d of %d segments", i, len(pl.segs))
		}
	})
}

// PartURI mirrors onair's part names (hls.PartName).
func PartURI(msn uint64, k int) string {
	return "p" + string(appendUint(nil, msn)) + "." + string(appendUint(nil, uint64(k))) + ".m4s"
}

func TestArrivals(t *testing.T) {
	const n = 10000
	w := 10 * time.Second
	first := 0
	prev := time.Duration(-1)
	for i := range n {
		a := Arrival(ShapeFlash, w, i, n)
		if a < prev || a > w {
			t.Fatalf("flash arrival %d at %v after %v", i, a, prev)
		}
		prev = a
		if a < w/5 {
			first++
		}
	}
	if share := float64(first) / n; share < 0.62 || share > 0.65 {
		t.Fatalf("flash: %.1f%% in the first fifth, want about 63%%", share*100)
	}
	if a := Arrival(ShapeRamp, w, n/2, n); a != w/2 {
		t.Fatalf("ramp midpoint at %v", a)
	}
	if a := Arrival(ShapeBurst, w, n-1, n); a != 0 {
		t.Fatalf("burst at %v", a)
	}
}

func TestSources(t *testing.T) {
	s, err := ParseSources("127.0.0.0/16, 127.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	const block = 256 * 254
	if s.Len() != block+1 || !s.Loopback() {
		t.Fatalf("len %d", s.Len())
	}
	// A /24 at a time: consecutive listeners come from different networks.
	for i, want := range map[int]string{0: "127.0.0.1", 1: "127.0.1.1", 255: "127.0.255.1", 256: "127.0.0.2",
		block - 1: "127.0.255.254", block: "127.1.2.3", block + 1: "127.0.0.1"} {
		if got := s.At(i).String(); got != want {
			t.Errorf("At(%d) = %s, want %s", i, got, want)
		}
	}
	seen := map[string]bool{}
	for i := range block {
		a := s.At(i)
		if a[3] == 0 || a[3] == 255 || a[1] != 0 || seen[a.String()] {
			t.Fatalf("At(%d) = %s: a network or broadcast address, or seen before", i, a)
		}
		seen[a.String()] = true
	}
	if s, _ := ParseSources("127.0.0.0/24"); s.Len() != 254 || s.At(253).String() != "127.0.0.254" {
		t.Fatalf("/24: %d, last %s", s.Len(), s.At(253))
	}
	for _, bad := range []string{"", "foo", "10.0.0.0/4", "::1/64", "127.0.0.1/33"} {
		if _, err := ParseSources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, _ := ParseSources("10.0.0.0/30"); s.Loopback() || s.Len() != 2 {
		t.Fatal("10/30")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Target: "http://127.0.0.1:1", Listeners: 1},                                   // no space
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 0},                       // no listeners
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 1, Protocol: "rtmp"},     // protocol
		{Target: "https://127.0.0.1:1", Space: "x", Listeners: 1},                      // scheme
		{Target: "http://192.0.2.1:8080", Space: "x", Listeners: 1},                    // remote
		{Target: "http://127.0.0.1:1/x", Space: "x", Listeners: 1},                     // path
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 1, Sources: "nope"},      // sources
		{Target: "http://127.0.0.1:1", Space: "x/y", Listeners: 1},                     // space id
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 2, Procs: 3},             // procs
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 2, Shape: "exponential"}, // shape
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 1, HLSPlayer: "classic"}, // player without HLS
		{Target: "http://127.0.0.1:1", Space: "x", Listeners: 1, Protocol: "hls", HLSPlayer: "vlc"},
	} {
		c.Defaults()
		if _, err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	c := Config{Target: "192.0.2.1:8080", Space: "x", Listeners: 1, AllowRemote: true}
	c.Defaults()
	tg, err := c.Validate()
	if err != nil || len(tg) != 1 || tg[0].addr != "192.0.2.1:8080" {
		t.Fatalf("remote with --allow-remote: %v %+v", err, tg)
	}
	c = Config{Target: "http://127.0.0.1:1", Space: "x", Listeners: 1, Protocol: ProtoHLS}
	c.Defaults()
	if _, err := c.Validate(); err != nil || c.HLSPlayer != HLSPlayerLL {
		t.Fatalf("HLS: %v, player %q, want ll by default", err, c.HLSPlayer)
	}
	c = Config{Target: "http://localhost:8080", Space: "x", Listeners: 1, Window: time.Second}
	c.Defaults()
	if _, err := c.Validate(); err != nil || c.Shape != ShapeRamp || c.End() != time.Second+30*time.Second+5*time.Second {
		t.Fatalf("localhost: %v, shape %s, end %v", err, c.Shape, c.End())
	}
}

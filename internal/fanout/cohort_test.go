package fanout

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
)

// TestCohortsEachStartAtPageTwoGranuleZero: attached listeners who join at
// the same page get byte-identical streams; one who joins later gets its
// own numbering, the same audio, and a stream as valid as the first.
func TestCohortsEachStartAtPageTwoGranuleZero(t *testing.T) {
	s := attachShow(t, Config{FramesPerPage: 5, BurstPages: 2}, tonePackets(t, 100))
	s.publish(50)
	get := func() *http.Response {
		resp, err := http.Get(s.url)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %v %v", err, resp)
		}
		return resp
	}
	a, b := get(), get() // frame 40 on: the same cohort
	s.waitListeners(2)
	s.publish(25)
	c := get() // frame 65 on
	s.waitListeners(3)
	s.publish(60)
	s.end()
	var bodies [3][]byte
	for i, r := range []*http.Response{a, b, c} {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = body
		if g := r.Header.Get(HeaderFirstGranule); g != "0" {
			t.Fatalf("listener %d: %s %s", i, HeaderFirstGranule, g)
		}
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatal("two listeners who joined at the same page got different bytes")
	}
	ac := checkStream(t, s, parsePages(t, bodies[0]), 5, true, 40)
	cc := checkStream(t, s, parsePages(t, bodies[2]), 5, true, 65)
	if len(ac) != len(cc)+5 {
		t.Fatalf("%d and %d audio pages, want 5 more for the earlier", len(ac), len(cc))
	}
	if n := ffmpegClean(t, bodies[2]); n != (135-65)*program.FrameSamples-program.PreSkip {
		t.Fatalf("ffmpeg decoded %d samples of the later listener's stream", n)
	}
}

// TestJoinedBufferIsSharedAcrossCohorts: a shard builds one buffer per pass
// and renumbers it in place from one cohort to the next, never a copy per
// listener, and each cohort's bytes are its view of the ring's pages.
func TestJoinedBufferIsSharedAcrossCohorts(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100}, tonePackets(t, 50))
	s.publish(50)
	rd := s.hub.Stream(s.space).ring.ReadFrom(0, nil, 10)
	pages := rd.Items[4:9]
	sh := &shard{}
	views := []ogg.View{ogg.ViewFrom(rd.Items[0]), ogg.ViewFrom(rd.Items[0]), ogg.ViewFrom(rd.Items[3]), ogg.ViewFrom(rd.Items[4])}
	var first *byte
	for i, v := range views {
		b := sh.joined(v, 4, pages)
		if i == 0 {
			first = &b[0]
		}
		if &b[0] != first {
			t.Fatalf("cohort %d got a new buffer", i)
		}
		var want []byte
		for _, p := range pages {
			want = p.AppendView(want, v)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("cohort %d: bytes are not its view of the pages", i)
		}
	}
}

// BenchmarkPassOverCohorts is the writer's extra work per listener when
// every listener is a cohort of its own (the worst case: arrivals spread
// out, one per page): renumbering a pass's five pages in place.
func BenchmarkPassOverCohorts(b *testing.B) {
	pg := ogg.NewPager(1, 5, 1)
	var pages []ogg.Page
	for i := range 100 {
		if p, ok := pg.Push(program.Frame{PTS: uint64(i) * 960, Packet: make([]byte, 120)}); ok {
			pages = append(pages, p)
		}
	}
	sh := &shard{}
	for i := 0; b.Loop(); i++ {
		sh.joined(ogg.ViewFrom(pages[i%10]), 10, pages[10:15])
	}
}

package fanout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/synth"
)

// show is a space's program published on a real in-process bus, with a hub
// and an HTTP server on loopback that serves it to listeners.
type show struct {
	t     *testing.T
	bus   *bus.Local
	hub   *Hub
	space string
	base  time.Time
	seq   uint64
	pkts  [][]byte
	srv   *httptest.Server
	url   string
	// what each Serve call returned, by the listener's ?id=
	mu      sync.Mutex
	results map[string]serveResult
	served  chan string
}

type serveResult struct {
	st  ListenStats
	err error
}

func newShow(t *testing.T, cfg Config, pkts [][]byte) *show {
	t.Helper()
	s := &show{t: t, bus: bus.NewLocal(), space: "sp" + strconv.FormatInt(time.Now().UnixNano(), 36),
		base: time.UnixMilli(1_700_000_000_000), pkts: pkts,
		results: make(map[string]serveResult), served: make(chan string, 10000)}
	s.hub = NewHub(s.bus, cfg)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.hub.Stream(s.space).Serve(r.Context(), w, 10*time.Second)
		if errors.Is(err, ErrNoProgram) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
		id := r.URL.Query().Get("id")
		s.mu.Lock()
		s.results[id] = serveResult{st, err}
		s.mu.Unlock()
		s.served <- id
	}))
	s.url = s.srv.URL + "/live/" + s.space + ".opus"
	// The edge follows the space from the start of the show.
	s.hub.Stream(s.space)
	t.Cleanup(func() {
		s.hub.Close()
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

func tonePackets(t *testing.T, n int) [][]byte {
	t.Helper()
	pkts, err := synth.Packets(&synth.Tone{Freq: 440, Amp: 0.3}, n)
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

func (s *show) frame(seq uint64) program.Frame {
	return program.Frame{Seq: seq, PTS: seq * program.FrameSamples,
		Capture: s.base.Add(time.Duration(seq) * program.FrameDuration), Packet: s.pkts[seq%uint64(len(s.pkts))]}
}

// publish sends n frames and returns the longest single Publish call.
func (s *show) publish(n int) time.Duration {
	var worst time.Duration
	for range n {
		start := time.Now()
		s.bus.Publish(s.space, s.frame(s.seq))
		worst = max(worst, time.Since(start))
		s.seq++
	}
	return worst
}

func (s *show) end() {
	s.bus.Publish(s.space, program.Frame{Seq: s.seq, PTS: s.seq * program.FrameSamples, Capture: time.Now(), End: true})
}

func (s *show) result(id string) (serveResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[id]
	return r, ok
}

// waitServed waits for the Serve call of listener id to return.
func (s *show) waitServed(id string, d time.Duration) serveResult {
	s.t.Helper()
	deadline := time.After(d)
	for {
		if r, ok := s.result(id); ok {
			return r
		}
		select {
		case <-s.served:
		case <-deadline:
			s.t.Fatalf("listener %s still being served after %v", id, d)
		}
	}
}

func (s *show) waitListeners(n int64) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.hub.Listeners(s.space) != n {
		if time.Now().After(deadline) {
			s.t.Fatalf("Listeners() = %d, want %d", s.hub.Listeners(s.space), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// get starts a listener and returns once the response header is in.
func (s *show) get(ctx context.Context, id string) *http.Response {
	s.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+"?id="+id, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		s.t.Fatalf("listener %s: %v", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.t.Fatalf("listener %s: %s: %s", id, resp.Status, b)
	}
	return resp
}

// oggPage is a parsed page of a received stream.
type oggPage struct {
	flags   byte
	granule uint64
	serial  uint32
	seq     uint32
	packets [][]byte
}

// parsePages splits a received stream into pages. It checks the structure
// only; ogg.NewReader (strict, CRC-checking) is run over the same bytes.
func parsePages(t *testing.T, b []byte) []oggPage {
	t.Helper()
	var pages []oggPage
	for off := 0; off < len(b); {
		if len(b)-off < 27 || string(b[off:off+4]) != "OggS" {
			t.Fatalf("no page at byte %d of %d", off, len(b))
		}
		h := b[off:]
		nseg := int(h[26])
		p := oggPage{flags: h[5], granule: binary.LittleEndian.Uint64(h[6:]),
			serial: binary.LittleEndian.Uint32(h[14:]), seq: binary.LittleEndian.Uint32(h[18:])}
		body := 27 + nseg
		start, size := body, 0
		for i := range nseg {
			size += int(h[27+i])
			if h[27+i] < 255 {
				p.packets = append(p.packets, h[start:body+size])
				start = body + size
			}
		}
		if body+size > len(h) {
			t.Fatalf("page at byte %d is truncated", off)
		}
		pages = append(pages, p)
		off += body + size
	}
	rd := ogg.NewReader(bytes.NewReader(b))
	for {
		if _, err := rd.NextPacket(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("strict demuxer: %v", err)
		}
	}
	return pages
}

// checkStream checks a listener's stream: OpusHead and OpusTags as pages 0
// and 1, the first audio page right after them with its first sample at
// granule 0, granules following the frames, and (if ended) the last page
// EOS. startFrame is the program frame the stream starts at. It returns
// the audio pages.
func checkStream(t *testing.T, s *show, pages []oggPage, fpp int, ended bool, startFrame uint64) []oggPage {
	t.Helper()
	if len(pages) < 3 {
		t.Fatalf("only %d pages", len(pages))
	}
	head, tags, audio := pages[0], pages[1], pages[2:]
	serial := program.Serial(s.space)
	for i, p := range pages {
		if p.serial != serial {
			t.Fatalf("page %d serial %x, want %x", i, p.serial, serial)
		}
		if p.seq != uint32(i) {
			t.Fatalf("page %d has number %d after %d", i, p.seq, pages[i-1].seq)
		}
		if i > 0 && p.flags&ogg.FlagBOS != 0 {
			t.Fatalf("page %d is a second BOS", i)
		}
	}
	if head.flags&ogg.FlagBOS == 0 || len(head.packets) != 1 || head.granule != 0 {
		t.Fatalf("first page is not a BOS OpusHead page: %+v", head)
	}
	oh, err := ogg.ParseOpusHead(head.packets[0])
	if err != nil || oh.Channels != 1 || oh.PreSkip != program.PreSkip || oh.InputRate != program.SampleRate {
		t.Fatalf("OpusHead %+v: %v", oh, err)
	}
	if len(tags.packets) != 1 || !ogg.IsOpusTags(tags.packets[0]) || tags.granule != 0 {
		t.Fatalf("second page is not OpusTags")
	}
	for i, p := range audio {
		last := i == len(audio)-1
		if p.flags&ogg.FlagEOS != 0 && !last {
			t.Fatalf("EOS on audio page %d of %d", i, len(audio))
		}
		n := uint64(len(p.packets))
		if !(last && ended) && n != uint64(fpp) {
			t.Fatalf("audio page %d holds %d frames, want %d", i, n, fpp)
		}
		// granule = the end of the page's frames counted from the
		// stream's first, and frame k's packet is pkts[k]: the packets
		// are the right ones.
		startG := p.granule - n*program.FrameSamples + startFrame*program.FrameSamples
		if i == 0 && startG != startFrame*program.FrameSamples {
			t.Fatalf("first audio page granule %d for %d frames: its first sample is not at 0", p.granule, n)
		}
		if startG%program.FrameSamples != 0 {
			t.Fatalf("audio page %d granule %d is off the frame grid", i, p.granule)
		}
		k := startG / program.FrameSamples
		for j, pkt := range p.packets {
			if !bytes.Equal(pkt, s.pkts[(k+uint64(j))%uint64(len(s.pkts))]) {
				t.Fatalf("audio page %d packet %d is not frame %d", i, j, k+uint64(j))
			}
		}
		if i > 0 {
			prev := audio[i-1]
			if p.granule != prev.granule+n*program.FrameSamples {
				t.Fatalf("audio page %d granule %d after %d with %d frames", i, p.granule, prev.granule, n)
			}
		}
	}
	if ended {
		if audio[len(audio)-1].flags&ogg.FlagEOS == 0 {
			t.Fatal("stream ended without an EOS page")
		}
	}
	return audio
}

// checkLatencyHeaders checks Onair-First-* against the first audio page,
// which is program frame startFrame.
func checkLatencyHeaders(t *testing.T, s *show, h http.Header, first oggPage, startFrame uint64) {
	t.Helper()
	fg, err := strconv.ParseUint(h.Get(HeaderFirstGranule), 10, 64)
	if err != nil {
		t.Fatalf("%s %q: %v", HeaderFirstGranule, h.Get(HeaderFirstGranule), err)
	}
	cms, err := strconv.ParseInt(h.Get(HeaderFirstCapture), 10, 64)
	if err != nil {
		t.Fatalf("%s %q: %v", HeaderFirstCapture, h.Get(HeaderFirstCapture), err)
	}
	if want := first.granule - uint64(len(first.packets))*program.FrameSamples; fg != want {
		t.Fatalf("%s = %d, first page starts at %d", HeaderFirstGranule, fg, want)
	}
	// The publisher stamps frame k with base + 20k ms.
	k := startFrame
	if want := s.base.Add(time.Duration(k) * program.FrameDuration).UnixMilli(); cms != want {
		t.Fatalf("%s = %d, frame %d was captured at %d", HeaderFirstCapture, cms, k, want)
	}
	if ct := h.Get("Content-Type"); ct != "audio/ogg" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// ffmpegClean decodes a stream with ffmpeg at -v warning and fails on any
// output to stderr. It returns the number of samples decoded.
func ffmpegClean(t *testing.T, stream []byte) int {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make test installs it)")
	}
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-i", "-", "-f", "s16le", "-")
	cmd.Stdin = bytes.NewReader(stream)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("ffmpeg: %v: %s", err, errb.String())
	}
	return out.Len() / 2
}

func TestListenerJoiningMidShow(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100, BurstPages: 3}, tonePackets(t, 500))
	// A listener from before the show: it gets the program from frame 0.
	early := make(chan *http.Response, 1)
	go func() { early <- s.get(context.Background(), "early") }()
	s.waitListeners(1)
	s.publish(50) // 10 pages, numbered 2..11
	resp0 := <-early

	resp := s.get(context.Background(), "mid")
	s.publish(150)
	s.end()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body0, err := io.ReadAll(resp0.Body)
	resp0.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Burst of 3 behind a live edge at page 10: page index 7, frames
	// 35..39, which the listener's stream numbers 2 and granule 0..5*960.
	audio := checkStream(t, s, parsePages(t, body), 5, true, 35)
	checkLatencyHeaders(t, s, resp.Header, audio[0], 35)
	if last := audio[len(audio)-1]; last.granule != (200-35)*program.FrameSamples {
		t.Fatalf("EOS granule %d, want %d", last.granule, (200-35)*program.FrameSamples)
	}
	if n := ffmpegClean(t, body); n != (200-35)*program.FrameSamples-program.PreSkip {
		t.Fatalf("ffmpeg decoded %d samples of the mid-show stream, want %d", n, (200-35)*program.FrameSamples-program.PreSkip)
	}

	audio0 := checkStream(t, s, parsePages(t, body0), 5, true, 0)
	checkLatencyHeaders(t, s, resp0.Header, audio0[0], 0)
	if audio0[0].seq != 2 || resp0.Header.Get(HeaderFirstGranule) != "0" {
		t.Fatalf("early listener starts at page %d, granule %s", audio0[0].seq, resp0.Header.Get(HeaderFirstGranule))
	}
	if n := ffmpegClean(t, body0); n != 200*program.FrameSamples-program.PreSkip {
		t.Fatalf("ffmpeg decoded %d samples of the whole show", n)
	}
	for _, id := range []string{"early", "mid"} {
		r := s.waitServed(id, 5*time.Second)
		if r.err != nil || !r.st.Ended || r.st.Skipped != 0 {
			t.Fatalf("listener %s: %+v %v", id, r.st, r.err)
		}
	}
	if r, _ := s.result("mid"); r.st.Bytes != int64(len(body)) || r.st.Pages != len(audio) {
		t.Fatalf("stats %+v for %d bytes, %d audio pages", r.st, len(body), len(audio))
	}
}

// With no burst a listener joining a running show starts at the next page.
func TestListenerJoiningMidShowWithoutBurst(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100, BurstPages: 0}, tonePackets(t, 100))
	s.publish(50) // pages 0..9 in the ring
	stream := s.hub.Stream(s.space)
	go func() {
		// The show goes on in real time while the listener joins, for 2 s.
		for stream.listeners.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		tk := time.NewTicker(program.FrameDuration)
		defer tk.Stop()
		for range 100 {
			<-tk.C
			s.publish(1)
		}
		s.end()
	}()
	w := newPtrWriter()
	st, err := stream.Serve(context.Background(), w, 3*time.Second)
	if err != nil {
		t.Fatalf("a listener joining a running show with BurstPages 0: %v (%+v)", err, st)
	}
	if !st.Ended || st.Pages == 0 {
		t.Fatalf("%+v", st)
	}
	// It starts at the live edge: the first page made after it joined
	// (frame 50; 55 only if this goroutine stalled for a whole 100 ms
	// page), captured 20 ms a frame after the show's base.
	cms, _ := strconv.ParseInt(w.h.Get(HeaderFirstCapture), 10, 64)
	if k := (cms - s.base.UnixMilli()) / 20; k != 50 && k != 55 || w.h.Get(HeaderFirstGranule) != "0" {
		t.Fatalf("first page starts at frame %d, granule %s; want 50 (the next page) at granule 0", k, w.h.Get(HeaderFirstGranule))
	}
}

func TestEndFrameEndsEveryListenerWithEOS(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100, BurstPages: 5, Linger: 100 * time.Millisecond}, tonePackets(t, 100))
	s.publish(10)
	const n = 100
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		resp := s.get(context.Background(), strconv.Itoa(i))
		wg.Go(func() {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Errorf("listener %d: %v", i, err)
			}
			bodies[i] = b
		})
	}
	s.waitListeners(n)
	s.publish(23) // the last page is partial: End flushes it with EOS
	s.end()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("listeners' responses did not end after the End frame")
	}
	for i, b := range bodies {
		audio := checkStream(t, s, parsePages(t, b), 5, true, 0)
		last := audio[len(audio)-1]
		if last.granule != 33*program.FrameSamples || len(last.packets) != 3 {
			t.Fatalf("listener %d: EOS page granule %d with %d frames", i, last.granule, len(last.packets))
		}
		r := s.waitServed(strconv.Itoa(i), 5*time.Second)
		if r.err != nil || !r.st.Ended {
			t.Fatalf("listener %d: %+v %v", i, r.st, r.err)
		}
	}
	// Until it is retired (after Linger), a late listener gets the end of
	// the show: the last pages and EOS.
	w := newPtrWriter()
	if st, err := s.hub.Stream(s.space).Serve(t.Context(), w, time.Second); err != nil || !st.Ended || st.Pages == 0 {
		t.Fatalf("late listener before retirement: %+v %v", st, err)
	}
	// The finished program is then retired: a new listener gets a new
	// stream, not the closed one.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.hub.mu.Lock()
		_, still := s.hub.streams[s.space]
		s.hub.mu.Unlock()
		if !still {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended stream was not retired")
		}
	}
	if st, err := s.hub.Stream(s.space).Serve(t.Context(), newPtrWriter(), 50*time.Millisecond); !errors.Is(err, ErrNoProgram) || st.Pages != 0 {
		t.Fatalf("listener after the end: %+v %v", st, err)
	}
}

// An End frame on a page boundary gives an empty EOS page, still clean.
func TestEndOnPageBoundaryDecodesClean(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100, BurstPages: 5}, tonePackets(t, 100))
	s.publish(25)
	resp := s.get(context.Background(), "a")
	s.publish(25)
	s.end()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	audio := checkStream(t, s, parsePages(t, body), 5, true, 0)
	if last := audio[len(audio)-1]; len(last.packets) != 0 || last.granule != 50*program.FrameSamples {
		t.Fatalf("EOS page with %d frames, granule %d", len(last.packets), last.granule)
	}
	ffmpegClean(t, body)
}

func TestListenersCountUpAndDown(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 100, BurstPages: 5}, tonePackets(t, 100))
	if n := s.hub.Listeners(s.space); n != 0 {
		t.Fatalf("Listeners() = %d before anyone came", n)
	}
	s.publish(10)
	cancels := make([]context.CancelFunc, 5)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		resp := s.get(ctx, strconv.Itoa(i))
		go func() { io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
	}
	s.waitListeners(5)
	if n := s.hub.Listeners("another-space"); n != 0 {
		t.Fatalf("Listeners(another) = %d", n)
	}
	// Two listeners hang up; the server notices without any page being sent.
	cancels[0]()
	cancels[3]()
	s.waitListeners(3)
	for _, id := range []string{"0", "3"} {
		if r := s.waitServed(id, 5*time.Second); r.err == nil {
			t.Fatalf("listener %s who hung up: Serve returned no error", id)
		}
	}
	s.publish(10)
	s.end()
	s.waitListeners(0)
	for _, c := range cancels {
		c()
	}
}

// A listener that connects and never reads fills its socket buffers, then
// its writes block: the publisher and the other listeners must not notice.
// The stuck one is cut by the write timeout.
func TestListenerThatNeverReads(t *testing.T) {
	// Big packets so a few MB go through quickly; they are not decoded.
	pkts := make([][]byte, 16)
	for i := range pkts {
		pkts[i] = bytes.Repeat([]byte{byte(i + 1)}, 1000)
	}
	const pages = 4000 // 20 MB: far more than any socket buffer holds
	s := newShow(t, Config{FramesPerPage: 5, RingPages: pages + 10, BurstPages: 0}, pkts)
	stream := s.hub.Stream(s.space)

	stuck, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stuck, "GET /live/%s.opus?id=stuck HTTP/1.1\r\nHost: x\r\n\r\n", s.space)
	s.waitListeners(1)

	good := make(chan *http.Response, 1)
	go func() { good <- s.get(context.Background(), "good") }()
	s.waitListeners(2)

	type readResult struct {
		b   []byte
		err error
		at  time.Time
	}
	got := make(chan readResult, 1)
	go func() {
		resp := <-good
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- readResult{b, err, time.Now()}
	}()
	worst := s.publish(pages * 5)
	s.end()
	ended := time.Now()
	if worst > time.Second {
		t.Fatalf("a Publish call took %v: the stuck listener held up the bus", worst)
	}
	var r readResult
	select {
	case r = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the reading listener did not get the whole show")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("good listener done %v after the End frame (%d bytes)", r.at.Sub(ended), len(r.b))
	audio := checkStream(t, s, parsePages(t, r.b), 5, true, 0)
	if len(audio) != pages+1 {
		t.Fatalf("good listener got %d audio pages, want %d", len(audio), pages+1)
	}
	if res := s.waitServed("good", 5*time.Second); res.err != nil || res.st.Skipped != 0 {
		t.Fatalf("good listener: %+v %v", res.st, res.err)
	}
	// The stuck one has not finished: its write is blocked.
	if _, ok := s.result("stuck"); ok {
		t.Fatal("the listener that never reads was served the whole show")
	}
	if n := stream.listeners.Load(); n != 1 {
		t.Fatalf("%d listeners on the stream, want the stuck one", n)
	}
	if testing.Short() {
		return
	}
	// The write timeout cuts it.
	res := s.waitServed("stuck", writeTimeout+10*time.Second)
	if res.err == nil || res.st.Ended {
		t.Fatalf("stuck listener: %+v, err %v", res.st, res.err)
	}
	var ne net.Error
	if !errors.As(res.err, &ne) || !ne.Timeout() {
		t.Logf("stuck listener cut with %v", res.err)
	}
	if res.st.Bytes >= int64(len(r.b)) {
		t.Fatalf("stuck listener wrote %d bytes of %d", res.st.Bytes, len(r.b))
	}
	t.Logf("stuck listener cut after %d bytes: %v", res.st.Bytes, res.err)
	if n := stream.listeners.Load(); n != 0 {
		t.Fatalf("%d listeners left on the stream", n)
	}
}

// A listener that stops reading for a while is moved forward past what the
// ring no longer holds: it gets a gap (counted as Skipped), then the newest
// pages, then the end.
func TestSlowListenerSkipsForward(t *testing.T) {
	pkts := make([][]byte, 16)
	for i := range pkts {
		pkts[i] = bytes.Repeat([]byte{byte(i + 1)}, 1000)
	}
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 16, BurstPages: 0}, pkts)
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A modest fixed window: it fills while the client does not read, and
	// carries the rest quickly once it does (a tiny window would make the
	// catch-up so slow that the write timeout cuts the listener instead).
	conn.(*net.TCPConn).SetReadBuffer(256 << 10)
	fmt.Fprintf(conn, "GET /live/%s.opus?id=slow HTTP/1.1\r\nHost: x\r\n\r\n", s.space)
	s.waitListeners(1)
	// While it does not read, 20 MB go by.
	const pages = 4000
	if worst := s.publish(pages * 5); worst > time.Second {
		t.Fatalf("a Publish call took %v", worst)
	}
	s.end()
	// It reads again, everything to the end.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r, ok := s.result("slow")
		t.Fatalf("after %d bytes: %v (served: %v %+v %v)", len(body), err, ok, r, r.err)
	}
	res := s.waitServed("slow", 10*time.Second)
	if res.err != nil || !res.st.Ended || res.st.Skipped == 0 {
		t.Fatalf("slow listener: %+v %v", res.st, res.err)
	}
	pages2 := parsePages(t, body)
	// The pages are valid, in order and end with EOS; page numbers jump
	// exactly by what was skipped.
	var jumped uint64
	for i := 1; i < len(pages2); i++ {
		d := pages2[i].seq - pages2[i-1].seq
		if d < 1 {
			t.Fatalf("page %d number %d after %d", i, pages2[i].seq, pages2[i-1].seq)
		}
		jumped += uint64(d - 1)
		if i >= 3 {
			if g := pages2[i].granule - pages2[i-1].granule; g != uint64(d)*5*program.FrameSamples && !(i == len(pages2)-1 && g == 0) {
				t.Fatalf("page %d granule step %d over %d pages", i, g, d)
			}
		}
	}
	if jumped != res.st.Skipped {
		t.Fatalf("page numbers jump by %d, Skipped = %d", jumped, res.st.Skipped)
	}
	// The listener's granules start at 0 (its first audio page holds one
	// page of samples), wherever in the show it started: the last page is
	// then the program's end less that start, and not later than it. On a
	// loaded machine the ring may pass it by before its first audio page:
	// that page is then numbered past the skip, and its granule counts the
	// skipped pages too, from the same 0.
	first, last := pages2[2], pages2[len(pages2)-1]
	if want := uint64(first.seq-1) * 5 * program.FrameSamples; first.granule != want {
		t.Fatalf("first audio page (number %d) granule %d, want %d (the stream starts at 0)", first.seq, first.granule, want)
	}
	if last.flags&ogg.FlagEOS == 0 || last.granule > pages*5*program.FrameSamples {
		t.Fatalf("last page flags %x granule %d", last.flags, last.granule)
	}
	t.Logf("slow listener got %d pages, skipped %d", len(pages2)-2, res.st.Skipped)
}

// ptrWriter is an http.ResponseWriter that records which byte slices it is
// handed, to check that listeners are sent the ring's own page bytes.
type ptrWriter struct {
	h     http.Header
	code  int
	ptrs  []*byte
	pages [][]byte // a copy of each write
	bytes int
}

func newPtrWriter() *ptrWriter { return &ptrWriter{h: make(http.Header)} }

func (w *ptrWriter) Header() http.Header  { return w.h }
func (w *ptrWriter) WriteHeader(code int) { w.code = code }
func (w *ptrWriter) Flush()               {}
func (w *ptrWriter) Write(b []byte) (int, error) {
	if len(b) > 0 {
		w.ptrs = append(w.ptrs, &b[0])
		w.pages = append(w.pages, bytes.Clone(b))
	}
	w.bytes += len(b)
	return len(b), nil
}

// 500 listeners served by goroutines (the path for connections that
// cannot be taken over) each get the ring's pages as their own view
// numbers them: the bytes of the ring's page with the view applied.
func TestServedListenersGetTheirView(t *testing.T) {
	s := newShow(t, Config{FramesPerPage: 5, RingPages: 1000, BurstPages: 2}, tonePackets(t, 50))
	stream := s.hub.Stream(s.space)
	s.publish(20)
	const n = 500
	writers := make([]*ptrWriter, n)
	var wg sync.WaitGroup
	for i := range n {
		writers[i] = newPtrWriter()
		wg.Go(func() {
			st, err := stream.Serve(context.Background(), writers[i], 5*time.Second)
			if err != nil || !st.Ended {
				t.Errorf("listener %d: %+v %v", i, st, err)
			}
		})
	}
	for stream.listeners.Load() != n {
		time.Sleep(time.Millisecond)
	}
	s.publish(480)
	s.end()
	wg.Wait()
	rd := stream.ring.ReadFrom(0, nil, 1000)
	if !rd.Closed || rd.Skipped != 0 {
		t.Fatalf("ring read: closed %v skipped %d", rd.Closed, rd.Skipped)
	}
	ring := rd.Items // pages 0..100 (100 full pages and the empty EOS page)
	if len(ring) != 101 {
		t.Fatalf("%d pages in the ring", len(ring))
	}
	for i, w := range writers {
		if w.code != http.StatusOK {
			t.Fatalf("listener %d: status %d", i, w.code)
		}
		// One write of the two header pages, then one write per page.
		audio := w.ptrs[1:]
		if len(audio) == 0 {
			t.Fatalf("listener %d got no pages", i)
		}
		first := len(ring) - len(audio)
		if first < 2 { // joined with at least 4 pages in the ring and a burst of 2
			t.Fatalf("listener %d started at page %d", i, first)
		}
		view := ogg.ViewFrom(ring[first])
		for j := range audio {
			want := ring[first+j].AppendView(nil, view)
			if !bytes.Equal(w.pages[1+j], want) {
				t.Fatalf("listener %d write %d is not the ring's page %d as its view numbers it", i, j, first+j)
			}
		}
	}
}

func TestFirstWaitTimesOutWithoutProgram(t *testing.T) {
	hub := NewHub(bus.NewLocal(), Config{})
	w := newPtrWriter()
	start := time.Now()
	_, err := hub.Stream("quiet").Serve(context.Background(), w, 100*time.Millisecond)
	if !errors.Is(err, ErrNoProgram) {
		t.Fatalf("err %v, want ErrNoProgram", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("returned after %v", d)
	}
	if w.code != 0 || w.bytes != 0 {
		t.Fatal("something was written before the first page")
	}
	if n := hub.Listeners("quiet"); n != 0 {
		t.Fatalf("Listeners() = %d after the listener left", n)
	}
	// A listener waiting without a bound leaves when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := hub.Stream("quiet").Serve(ctx, w, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	// Hub.Close ends the streams: a waiting listener sees the end.
	go func() { time.Sleep(50 * time.Millisecond); hub.Close() }()
	if _, err := hub.Stream("quiet").Serve(context.Background(), w, 5*time.Second); !errors.Is(err, ErrNoProgram) {
		t.Fatalf("err %v after Close", err)
	}
}

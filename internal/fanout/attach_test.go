package fanout

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
)

// attachShow is a show whose listeners are attached to the writers.
func attachShow(t *testing.T, cfg Config, pkts [][]byte) *show {
	t.Helper()
	s := newShow(t, cfg, pkts)
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.hub.Stream(s.space).Attach(r.Context(), w, 10*time.Second); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	return s
}

// TestAttachServesAValidStreamToTheEnd: a listener attached mid-show gets
// the headers as pages 0 and 1, its first page (the burst's, frame 40) as
// page 2 at granule 0, every packet after, and the EOS page; the
// connection then closes and the listener count returns to zero.
func TestAttachServesAValidStreamToTheEnd(t *testing.T) {
	s := attachShow(t, Config{FramesPerPage: 5, BurstPages: 2}, tonePackets(t, 50))
	s.publish(50) // 10 pages before the listener comes
	resp, err := http.Get(s.url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", err, resp)
	}
	defer resp.Body.Close()
	if g := resp.Header.Get(HeaderFirstGranule); g != "0" {
		t.Fatalf("first granule %s, want 0", g)
	}
	if ms, _ := strconv.ParseInt(resp.Header.Get(HeaderFirstCapture), 10, 64); ms != s.base.UnixMilli()+40*20 {
		t.Fatalf("first capture %d, want the burst's first page (frame 40)", ms-s.base.UnixMilli())
	}
	s.waitListeners(1)
	s.publish(100)
	s.end()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read to the end: %v", err)
	}
	pages := splitPages(t, body)
	for i, p := range pages {
		if p.seq != uint32(i) {
			t.Fatalf("page %d has sequence %d", i, p.seq)
		}
	}
	if last := pages[len(pages)-1]; last.flags&ogg.FlagEOS == 0 || last.granule != (150-40)*960 {
		t.Fatalf("last page flags %#x granule %d", last.flags, last.granule)
	}
	rd := ogg.NewReader(bytes.NewReader(body))
	n := 0
	for ; ; n++ {
		if _, err := rd.NextPacket(); err != nil {
			break
		}
	}
	if n != 2+110 {
		t.Fatalf("%d packets, want 2 headers and frames 40..149", n)
	}
	s.waitListeners(0)
}

type rawPage struct {
	flags   byte
	seq     uint32
	granule uint64
}

func splitPages(t *testing.T, b []byte) []rawPage {
	t.Helper()
	var out []rawPage
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatalf("not a page at %d bytes from the end", len(b))
		}
		n := 27 + int(b[26])
		size := n
		for _, v := range b[27:n] {
			size += int(v)
		}
		out = append(out, rawPage{flags: b[5], granule: le64(b[6:]), seq: uint32(le64(append(b[18:22:22], 0, 0, 0, 0)))})
		b = b[size:]
	}
	return out
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestAttachStuckListenerIsCutWithoutHurtingOthers: one listener never reads;
// its socket fills, it is cut after StallCut, and a reading listener gets
// every page meanwhile, skipped never.
func TestAttachStuckListenerIsCutWithoutHurtingOthers(t *testing.T) {
	big := make([][]byte, 10)
	for i := range big {
		big[i] = append([]byte{0xfc}, bytes.Repeat([]byte{byte(i)}, 1200)...)
	}
	s := attachShow(t, Config{FramesPerPage: 5, BurstPages: 1, RingPages: 4000, StallCut: time.Second}, big)
	s.publish(5)
	stuck, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	io.WriteString(stuck, "GET /live/x.opus HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.Get(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s.waitListeners(2)
	got := make(chan int, 1)
	go func() {
		n := 0
		rd := ogg.NewReader(bufio.NewReader(resp.Body))
		for {
			if _, err := rd.NextPacket(); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	for range 40 { // 8 MB over 4 s: far more than the stuck socket holds
		s.publish(50)
		time.Sleep(100 * time.Millisecond)
	}
	s.waitListeners(1) // the stuck one was cut
	s.end()
	if n := <-got; n != 2+5+2000 {
		t.Fatalf("the reading listener got %d packets, want all %d", n, 2+5+2000)
	}
	stuck.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, stuck)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the stuck listener's connection was not closed")
	}
}

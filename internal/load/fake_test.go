package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/ogg"
)

// fakeShow is a server whose timing is known exactly: every page's newest
// frame was mixed lag before the page is sent, and at page gapAt the stream
// stops for gap (then the held pages come at once). The first two joins are
// rate-limited (429, Retry-After: 1), the third must solve a proof of work.
type fakeShow struct {
	lag   time.Duration
	gapAt int
	gap   time.Duration
	joins atomic.Int32
	epoch time.Time // the show's start, shared by the streams (zero: each stream starts its own)
	burst int       // with an epoch: pages before the live one a stream starts with
}

func (f *fakeShow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/spaces/fake/join":
		w.Header().Set("Content-Type", "application/json")
		if pow := r.Header.Get("Onair-PoW"); pow != "" {
			ch, nonce, _ := strings.Cut(pow, ":")
			if ch != "chal" || gate.LeadingZeroBits(ch, nonce) < 12 {
				w.WriteHeader(http.StatusForbidden)
				return
			}
		} else if r.UserAgent() == "onair-load" { // listeners, not the preflight
			switch f.joins.Add(1) {
			case 1, 2:
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"error":"too many requests from your network; retry later","code":"rate_ip","retry_after":1}`))
				return
			case 3:
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"solve the proof of work","code":"pow","challenge":"chal","difficulty":12}`))
				return
			}
		}
		// The URLs name another host: the load generator must keep its target.
		w.Write([]byte(`{"ticket":"tk","ogg":"http://elsewhere.invalid:1/live/fake.opus?t=tk","hls":"http://elsewhere.invalid:1/hls/fake/index.m3u8?t=tk","state":"live"}`))
	case r.URL.Path == "/live/fake.opus" && r.URL.Query().Get("t") == "tk":
		f.live(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeShow) live(w http.ResponseWriter, r *http.Request) {
	const frame = 20 * time.Millisecond
	const pageDur = 5 * frame
	// The show's first sample was mixed at epoch; page k ends at epoch +
	// k*pageDur on the sample clock, its newest frame was mixed one frame
	// before, and it is sent lag after that. Without an epoch the show
	// starts with this stream; with one (edges of a cluster sharing the
	// show), a stream starts with the page due now, after up to burst
	// older pages, all sent at once.
	epoch := f.epoch
	if epoch.IsZero() {
		epoch = time.Now().Add(-f.lag)
	}
	// Sub-millisecond capture is lost in the header: send by the clock the
	// client sees.
	epoch = time.UnixMilli(epoch.UnixMilli())
	k0 := 1
	if due := int(time.Since(epoch.Add(f.lag-frame)) / pageDur); due >= 1 {
		k0 = max(1, due-f.burst+1)
	}
	g0 := uint64(48000 * 3600)
	w.Header().Set("Onair-First-Capture-Ms", strconv.FormatInt(epoch.Add(time.Duration(k0-1)*pageDur).UnixMilli(), 10))
	w.Header().Set("Onair-First-Granule", strconv.FormatUint(g0+uint64(k0-1)*4800, 10))
	w.WriteHeader(200)
	w.Write(ogg.BuildPage(ogg.FlagBOS, 0, 7, 0, [][]byte{ogg.OpusHeadPacket(1, 312, 48000)}))
	w.Write(ogg.BuildPage(0, 0, 7, 1, [][]byte{ogg.OpusTagsPacket("fake")}))
	rc := http.NewResponseController(w)
	rc.Flush()
	packet := make([]byte, 60)
	var release time.Time
	if f.gapAt > 0 {
		release = epoch.Add(time.Duration(f.gapAt)*pageDur - frame + f.lag + f.gap)
	}
	for k := k0; ; k++ {
		due := epoch.Add(time.Duration(k)*pageDur - frame + f.lag)
		if k >= f.gapAt && due.Before(release) {
			due = release
		}
		select {
		case <-time.After(time.Until(due)):
		case <-r.Context().Done():
			return
		}
		page := ogg.BuildPage(0, g0+uint64(k)*4800, 7, uint32(k+1), [][]byte{packet, packet, packet, packet, packet})
		if _, err := w.Write(page); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// TestLoadMeasuresExactly runs listeners against a fake server whose
// latency and stall are known, and checks the figures come out right, and
// that a rate-limited join waits and retries.
func TestLoadMeasuresExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	f := &fakeShow{lag: 300 * time.Millisecond, gapAt: 20, gap: 2500 * time.Millisecond}
	ts := httptest.NewServer(f)
	defer ts.Close()
	cfg := Config{Target: ts.URL, Space: "fake", Protocol: ProtoOgg, Listeners: 4, Duration: 6 * time.Second,
		Grace: 2 * time.Second, StallThreshold: time.Second}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	t.Log(sb.String())
	l := rep.Listeners
	if l.Joined != 4 || l.GotAudio != 4 || l.Completed != 4 {
		t.Fatalf("listeners %+v", l)
	}
	if len(rep.Errors) != 0 || len(rep.Waits) != 2 || rep.Waits["join: 429"] != 2 || rep.Waits["join: 401 proof of work (solved)"] != 1 {
		t.Fatalf("errors %v, waits %v: want the two 429s waited out and one proof of work solved", rep.Errors, rep.Waits)
	}
	m := rep.Metrics
	if j := m["join_ms"]; j.Max < 1000 || j.Max > 1500 || j.P50 > 200 {
		t.Errorf("join %+v: two listeners waited the 1 s Retry-After, two did not", j)
	}
	// Every page but those held in the gap is 300 ms old: the send timer may
	// fire a little late, never early.
	g := m["glass_to_glass_ms"]
	if g.P50 < 299 || g.P50 > 330 {
		t.Errorf("glass-to-glass p50 %.1f ms, want 300", g.P50)
	}
	if g.Max < 2700 || g.Max > 2900 {
		t.Errorf("glass-to-glass max %.1f ms, want 300 + 2500", g.Max)
	}
	// The gap is 2.5 s, the threshold 1 s and the player had nothing in
	// hand (each page arrives as the previous one runs out): 1.5 s stalled.
	if s := m["stalls_per_listener"]; s.P50 != 1 || s.Max != 1 {
		t.Errorf("stalls per listener %+v, want one each", s)
	}
	if st := m["stalled_s_per_listener"]; st.P50 < 1.45 || st.Max > 1.6 {
		t.Errorf("stalled per listener %+v, want 1.5 s", st)
	}
	if rep.Stalls.Events != 4 || rep.Stalls.Listeners != 4 {
		t.Errorf("stalls %+v", rep.Stalls)
	}
	// First audio: the first page is due 80 ms after the request.
	if fa := m["first_audio_ms"]; fa.P50 < 75 || fa.P50 > 200 {
		t.Errorf("time to first audio %+v", fa)
	}
}

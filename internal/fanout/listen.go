package fanout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ListenersHelp is the help of onair_listeners, one gauge per protocol
// (its label): collectors of one name must share it.
const ListenersHelp = "Listeners connected to this edge, by protocol."

var (
	metricListeners = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_listeners", Help: ListenersHelp,
		ConstLabels: prometheus.Labels{"protocol": "ogg"}})
	metricSkips = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_listener_skipped_pages_total", Help: "Pages a slow listener missed because it fell behind the ring."})
	metricBytes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_fanout_bytes_total", Help: "Bytes written to progressive Ogg listeners."})
	metricCut = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_listeners_cut_total", Help: "Ogg listeners cut because their connection took nothing for the stall limit."})
	metricSkippedListeners = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_listeners_skipped_total", Help: "Ogg listeners who left after having been skipped forward at least once."})
)

// Response headers that let a client measure glass-to-glass latency: the
// capture (mix) time of the first audio page sent and its granule position.
// Any later page's capture time is FirstCapture + (granule-FirstGranule)/48000 s.
const (
	HeaderFirstCapture = "Onair-First-Capture-Ms" // Unix milliseconds
	HeaderFirstGranule = "Onair-First-Granule"    // granule position at the first page's first sample
)

// ListenStats is what one listener received.
type ListenStats struct {
	Bytes   int64
	Pages   int
	Skipped uint64 // pages lost to being too slow
	Ended   bool   // the program ended and the listener got the EOS page
}

// maxBatch bounds the pages of one write, so a listener that wakes late
// catches up in a few writes instead of one huge one.
const maxBatch = 16

// writeTimeout cuts a listener that cannot take a batch in this long.
const writeTimeout = 15 * time.Second

// ErrNoProgram means no page arrived within the first-page wait: the caller
// has not written anything yet and can still answer with an error status.
var ErrNoProgram = errors.New("no program audio arrived")

// Serve streams the space to one listener until the program ends, the
// listener goes away, or ctx is done. It waits for the first page before
// sending the response header, so the header can carry its capture time;
// firstWait bounds that wait (0: until ctx is done, for a show not started).
func (s *Stream) Serve(ctx context.Context, w http.ResponseWriter, firstWait time.Duration) (ListenStats, error) {
	return s.serve(ctx, w, firstWait, s.cfg.BurstPages)
}

func (s *Stream) serve(ctx context.Context, w http.ResponseWriter, firstWait time.Duration, burst int) (ListenStats, error) {
	var st ListenStats
	s.listeners.Add(1)
	metricListeners.Inc()
	defer func() { s.listeners.Add(-1); metricListeners.Dec() }()

	cursor, first, err := s.waitFirst(ctx, firstWait, burst)
	if err != nil {
		return st, err
	}
	h := w.Header()
	h.Set("Content-Type", "audio/ogg")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must stream it, not buffer a slow listener's backlog
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderFirstCapture, strconv.FormatInt(first.Capture.UnixMilli(), 10))
	view := ogg.ViewFrom(first)
	h.Set(HeaderFirstGranule, strconv.FormatUint(view.StartGranule(first), 10))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.write(w, &st, s.headers); err != nil {
		return st, err
	}
	return st, s.pump(ctx, rc, w, cursor, view, &st)
}

// waitFirst returns the cursor a new listener starts at (a short burst behind
// the live edge) and that first page.
func (s *Stream) waitFirst(ctx context.Context, firstWait time.Duration, burst int) (uint64, ogg.Page, error) {
	var timeout <-chan time.Time
	if firstWait > 0 {
		t := time.NewTimer(firstWait)
		defer t.Stop()
		timeout = t.C
	}
	// The start is fixed once, at join time: recomputing it from the head
	// after every wake-up would, with no burst, always land on the page not
	// yet written, and the listener would never start.
	start := s.ring.Oldest()
	if head, b := s.ring.Head(), uint64(max(burst, 0)); head > start+b {
		start = head - b
	}
	for {
		rd := s.ring.ReadFrom(start, nil, 1)
		if len(rd.Items) > 0 {
			return rd.Next - 1, rd.Items[0], nil
		}
		if rd.Closed {
			return 0, ogg.Page{}, errEnded
		}
		select {
		case <-rd.Wait:
		case <-timeout:
			return 0, ogg.Page{}, ErrNoProgram
		case <-ctx.Done():
			return 0, ogg.Page{}, ctx.Err()
		}
	}
}

var errEnded = fmt.Errorf("%w: the program ended before the first page", ErrNoProgram)

func (s *Stream) pump(ctx context.Context, rc *http.ResponseController, w http.ResponseWriter, cursor uint64, view ogg.View, st *ListenStats) error {
	batch := make([]ogg.Page, 0, maxBatch)
	var page []byte // this listener's copy, numbered for its view
	for {
		rd := s.ring.ReadFrom(cursor, batch[:0], maxBatch)
		cursor = rd.Next
		if rd.Skipped > 0 {
			st.Skipped += rd.Skipped
			metricSkips.Add(float64(rd.Skipped))
		}
		if len(rd.Items) > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		for _, p := range rd.Items {
			page = p.AppendView(page[:0], view)
			if err := s.write(w, st, page); err != nil {
				return err
			}
			st.Pages++
			st.Ended = p.EOS
		}
		if len(rd.Items) > 0 {
			if err := rc.Flush(); err != nil {
				return err
			}
		}
		if rd.Closed {
			return nil
		}
		if len(rd.Items) == maxBatch {
			continue
		}
		select {
		case <-rd.Wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// write sends b; the caller sets a write deadline per batch so a stalled
// reader is cut instead of holding a goroutine forever.
func (s *Stream) write(w http.ResponseWriter, st *ListenStats, b []byte) error {
	n, err := w.Write(b)
	st.Bytes += int64(n)
	metricBytes.Add(float64(n))
	return err
}

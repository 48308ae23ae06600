package edge

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/hls"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// hlsWait bounds how long a blocking playlist reload or a preload-hinted
// part request is held: three target durations, as RFC 8216bis asks.
func (s *Edge) hlsWait() time.Duration {
	return 3 * s.hub.Config().HLS.SegmentTarget()
}

// hold bounds how long a request is held for the packager (hlsWait). Its
// timer starts at the first wait, since most answers need none.
type hold struct {
	limit time.Duration
	timer *time.Timer
}

func (s *Edge) newHold() *hold { return &hold{limit: s.hlsWait()} }

// wait waits for the packager's next change; false when the request is
// over: the client went away, or the time ran out and the 503 is written.
func (h *hold) wait(w http.ResponseWriter, r *http.Request, change <-chan struct{}, late string) bool {
	if h.timer == nil {
		h.timer = time.NewTimer(h.limit)
	}
	select {
	case <-change:
		return true
	case <-r.Context().Done():
		return false
	case <-h.timer.C:
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, http.StatusServiceUnavailable, "not_yet", late)
		return false
	}
}

func (h *hold) stop() {
	if h.timer != nil {
		h.timer.Stop()
	}
}

// handlePlaylist serves the LL-HLS media playlist, holding the request
// while a blocking reload (_HLS_msn, _HLS_part) asks for what is not there yet.
func (s *Edge) handlePlaylist(w http.ResponseWriter, r *http.Request) {
	hlsHeaders(w)
	kind := "playlist"
	if r.URL.Query().Has("_HLS_msn") {
		kind = "blocking_playlist"
	}
	w = s.counted(w, kind)
	id := r.PathValue("id")
	claims, ok := s.CheckTicketAt(w, r, id, time.Now().Add(-access.HLSGrace))
	if !ok {
		return
	}
	msn, part, blocking, err := reloadDirective(r)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_directive", err.Error())
		return
	}
	st, ok := s.hlsStream(w, r)
	if !ok {
		return
	}
	st.Touch(claims.Listener, blocking, time.Now())
	pk := st.HLS
	hold := s.newHold()
	defer hold.stop()
	for {
		state, done, err := pk.Satisfied(msn, part)
		if !blocking { // a first load: wait for a whole segment, which every player can start on
			done, err = state.Playable || state.Ended, nil
		}
		switch {
		case errors.Is(err, hls.ErrFuture):
			httpapi.WriteError(w, http.StatusBadRequest, "too_far_ahead", "_HLS_msn/_HLS_part is too far ahead of the live edge")
			return
		case err != nil:
			httpapi.WriteError(w, http.StatusBadRequest, "bad_directive", "_HLS_part is beyond the parts of a segment")
			return
		case done:
			writePlaylist(w, state, blocking)
			return
		}
		if !hold.wait(w, r, state.Wait, "the requested part did not arrive in time") {
			return
		}
	}
}

// reloadDirective parses _HLS_msn and _HLS_part (part -1: the whole segment).
func reloadDirective(r *http.Request) (msn uint64, part int, blocking bool, err error) {
	q := r.URL.Query()
	m, p := q.Get("_HLS_msn"), q.Get("_HLS_part")
	if m == "" {
		if p != "" {
			return 0, 0, false, errors.New("_HLS_part needs _HLS_msn")
		}
		return 0, -1, false, nil
	}
	if msn, err = strconv.ParseUint(m, 10, 40); err != nil {
		return 0, 0, false, errors.New("_HLS_msn must be a media sequence number")
	}
	part = -1
	if p != "" {
		v, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return 0, 0, false, errors.New("_HLS_part must be a part index")
		}
		part = int(v)
	}
	return msn, part, true, nil
}

func writePlaylist(w http.ResponseWriter, st hls.State, blocking bool) {
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	switch {
	case st.Ended:
		h.Set("Cache-Control", "public, max-age=60")
	case blocking:
		// The answer to "the playlist once part N exists" stays true:
		// caches may keep it for a while.
		h.Set("Cache-Control", "public, max-age=6")
	default:
		h.Set("Cache-Control", "public, max-age=1")
	}
	h.Set("Content-Length", strconv.Itoa(len(st.Playlist))) // no chunked framing
	_, _ = w.Write(st.Playlist)
}

// hlsStream returns the space's HLS packaging on this edge: 404 for an
// unknown space, 410 once the show is over and its stream gone, 503 before
// the show starts (the page starts the player when it goes live).
func (s *Edge) hlsStream(w http.ResponseWriter, r *http.Request) (*fanout.Stream, bool) {
	// A live stream on this edge answers without reading the store: this
	// runs on every playlist request of every player.
	if st := s.hub.Lookup(r.PathValue("id")); st != nil {
		return st, true
	}
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return nil, false
	}
	st := s.hub.Lookup(sp.ID)
	switch {
	case sp.State == store.Scheduled:
		w.Header().Set("Retry-After", "5")
		httpapi.WriteError(w, http.StatusServiceUnavailable, "not_started", "the show has not started yet")
		return nil, false
	case sp.State == store.Ended && st == nil:
		httpapi.WriteJSON(w, http.StatusGone, httpapi.Error{Code: "ended", Error: "the show has ended",
			Replay: s.cfg.PublicURL + "/replay/" + sp.ID + "/index.m3u8"})
		return nil, false
	case st == nil:
		st = s.hub.Stream(sp.ID)
	}
	return st, true
}

var mediaName = regexp.MustCompile(`^(?:p(\d{1,12})\.(\d{1,4})|s(\d{1,12}))\.m4s$`)

// handleMedia serves the init segment, parts and segments: immutable, the
// same bytes for everyone, so any cache may keep them. A request for the
// next part (the preload hint) is held until it exists.
func (s *Edge) handleMedia(w http.ResponseWriter, r *http.Request) {
	hlsHeaders(w)
	file := r.PathValue("file")
	w = s.counted(w, mediaKind(file))
	st := s.hub.Lookup(r.PathValue("id"))
	if st == nil {
		httpapi.WriteError(w, http.StatusNotFound, "no_stream", "no live HLS stream for this space here: join first")
		return
	}
	if file == hls.InitName {
		writeMedia(w, st.HLS.Init())
		return
	}
	m := mediaName.FindStringSubmatch(file)
	if m == nil {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such HLS file: "+httpapi.Quote(file))
		return
	}
	hold := s.newHold()
	defer hold.stop()
	for {
		data, state, err := lookupMedia(st.HLS, m)
		switch {
		case data != nil:
			writeMedia(w, data)
			return
		case errors.Is(err, hls.ErrGone):
			httpapi.WriteError(w, http.StatusGone, "gone", "this part fell out of the live window; reload the playlist")
			return
		case errors.Is(err, hls.ErrFuture):
			httpapi.WriteError(w, http.StatusBadRequest, "too_far_ahead", "this part is too far ahead of the live edge")
			return
		case err != nil:
			httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such part or segment")
			return
		}
		if !hold.wait(w, r, state.Wait, "the part did not arrive in time") {
			return
		}
	}
}

func lookupMedia(pk *hls.Packager, m []string) ([]byte, hls.State, error) {
	if m[3] != "" {
		msn, _ := strconv.ParseUint(m[3], 10, 64)
		return pk.Segment(msn)
	}
	msn, _ := strconv.ParseUint(m[1], 10, 64)
	k, _ := strconv.Atoi(m[2])
	return pk.Part(msn, k)
}

func writeMedia(w http.ResponseWriter, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "audio/mp4")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// hlsHeaders lets players on other origins (and their CDNs) read the stream.
func hlsHeaders(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func mediaKind(file string) string {
	switch {
	case file == hls.InitName:
		return "init"
	case strings.HasPrefix(file, "p"):
		return "part"
	case strings.HasPrefix(file, "s"):
		return "segment"
	}
	return "other"
}

// countingWriter counts the response by kind and status once the header is out.
type countingWriter struct {
	http.ResponseWriter
	kind  string
	bytes *atomic.Int64 // HLS bytes out, for the receipts
}

// hlsOK are the counters of successful answers, resolved once.
var hlsOK = func() map[string]prometheus.Counter {
	m := map[string]prometheus.Counter{}
	for _, k := range []string{"playlist", "blocking_playlist", "init", "part", "segment"} {
		m[k] = metricHLS.WithLabelValues(k, "200")
	}
	return m
}()

func (s *Edge) counted(w http.ResponseWriter, kind string) http.ResponseWriter {
	return &countingWriter{ResponseWriter: w, kind: kind, bytes: &s.hub.Stats().HLSBytes}
}

func (c *countingWriter) WriteHeader(code int) {
	if c.kind != "" {
		if ok := hlsOK[c.kind]; ok != nil && code == http.StatusOK {
			ok.Inc() // the common answer, without building its label set again
		} else {
			metricHLS.WithLabelValues(c.kind, strconv.Itoa(code)).Inc()
		}
		c.kind = "" // counted
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.kind != "" {
		c.WriteHeader(http.StatusOK)
	}
	n, err := c.ResponseWriter.Write(b)
	c.bytes.Add(int64(n))
	return n, err
}

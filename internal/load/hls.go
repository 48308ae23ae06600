package load

import (
	"strconv"
	"strings"
	"time"
)

// hlsState is an HLS listener's player state.
type hlsState struct {
	pl   playlist
	text []byte // the last playlist
	base string // directory of the playlist, for relative URIs
	sep  byte   // '?' or '&' before the reload directives
	last plPart // the newest part fetched (LL player)
	seg  uint64 // the newest segment fetched (classic player)
	// retryAfter is the Retry-After of the last playlist answer, seconds.
	retryAfter int
}

// hls plays LL-HLS like a low-latency player: load the playlist, fetch the
// init section and the parts within PART-HOLD-BACK of the live edge, then
// loop: blocking playlist reload for the next part, fetch it. True if it
// stayed its whole time.
func (ln *listener) hls() bool {
	r := ln.r
	hs := ln.newHLSState()

	if _, ok, stayed := ln.hlsStart(hs, func(pl *playlist) (bool, time.Duration) { return len(pl.parts) > 0, 0 }); !ok {
		return stayed
	}
	if !ln.fetchFrom(hs, ln.holdIndex(hs)) {
		return ln.stoppedAtEnd()
	}
	idle := 0
	for time.Now().UnixNano() < ln.end {
		next := hs.pl.hint
		if !hs.pl.hasHint {
			next = plPart{msn: hs.last.msn, k: hs.last.k + 1}
		}
		st, ok := ln.playlist(hs, true, next)
		if !ok {
			return ln.stoppedAtEnd()
		}
		switch {
		case st == 503 || st == 429: // the part did not come within the server's hold, or the server sheds load
			r.waited("hls playlist: "+strconv.Itoa(st), nil)
			if !ln.pause(retryWait(hs.retryAfter)) {
				return ln.stoppedAtEnd()
			}
			continue
		case st != 200:
			r.fail("hls playlist: "+strconv.Itoa(st), nil)
			return false
		}
		parts := hs.pl.parts
		i := 0
		for i < len(parts) && !parts[i].after(hs.last) {
			i++
		}
		if i == len(parts) {
			if hs.pl.ended {
				r.fail("hls: show ended", nil)
				return false
			}
			if idle++; idle > 2 { // the server answers without the part: do not spin
				ln.pause(time.Duration(max(hs.pl.partTarget, int64(100*time.Millisecond))))
			}
			continue
		}
		idle = 0
		if i == 0 { // the part after ours already left the playlist: we fell behind
			r.fail("hls: fell behind the live window", nil)
			i = ln.holdIndex(hs)
		}
		if !ln.fetchFrom(hs, i) {
			return ln.stoppedAtEnd()
		}
	}
	return true
}

// newHLSState makes an HLS listener's player state.
func (ln *listener) newHLSState() *hlsState {
	hs := &hlsState{text: make([]byte, 0, 4<<10)}
	hs.pl.parts = make([]plPart, 0, 32)
	hs.pl.segs = make([]plSeg, 0, 16)
	path, _, _ := strings.Cut(ln.hlsPath, "?")
	hs.base = path[:strings.LastIndexByte(path, '/')+1]
	hs.sep = '?'
	if strings.Contains(ln.hlsPath, "?") {
		hs.sep = '&'
	}
	return hs
}

// hlsStart is how every HLS player begins: load the playlist until ready
// says it can start (a 503 or 429 is waited out as the server asks; a 200
// that is not ready yet, for at least the wait ready gives), then fetch the
// init section. It returns when the load that succeeded began; ok is false
// when the listener must stop, and stayed then is its result.
func (ln *listener) hlsStart(hs *hlsState, ready func(*playlist) (bool, time.Duration)) (loaded int64, ok, stayed bool) {
	r := ln.r
	ln.reqAt = time.Now().UnixNano() // the server answers once a segment is playable
	for {
		loaded = time.Now().UnixNano()
		st, alive := ln.playlist(hs, false, plPart{})
		if !alive {
			return 0, false, ln.stoppedAtEnd()
		}
		can, notReady := ready(&hs.pl)
		if st == 200 && can {
			break
		}
		if st == 200 && hs.pl.ended {
			r.fail("hls: show ended", nil)
			return 0, false, false
		}
		wait := retryWait(hs.retryAfter)
		switch {
		case st == 200:
			wait = max(notReady, wait)
		case st == 503 || st == 429:
			r.waited("hls playlist: "+strconv.Itoa(st), nil)
		default:
			r.fail("hls playlist: "+strconv.Itoa(st), nil)
			return 0, false, false
		}
		if !ln.pause(wait) {
			return 0, false, ln.stoppedAtEnd()
		}
	}
	ln.connectedNow()
	if hs.pl.hasMap {
		if st, alive := ln.media(hs, hs.pl.mapURI, "hls init"); !alive {
			return 0, false, ln.stoppedAtEnd()
		} else if st != 200 {
			r.fail("hls init: "+strconv.Itoa(st), nil)
			return 0, false, false
		}
	}
	return loaded, true, false
}

// holdIndex is where a player starts: PART-HOLD-BACK behind the newest part.
func (ln *listener) holdIndex(hs *hlsState) int {
	hold := 3
	if hs.pl.partTarget > 0 && hs.pl.holdBack > 0 {
		hold = int((hs.pl.holdBack + hs.pl.partTarget/2) / hs.pl.partTarget)
	}
	return max(0, len(hs.pl.parts)-max(hold, 1))
}

// fetchFrom fetches the playlist's parts from index i on; false when the
// listener must stop.
func (ln *listener) fetchFrom(hs *hlsState, i int) bool {
	for _, p := range hs.pl.parts[i:] {
		more := ln.play(hs, p.uri, p.dur, p.end, "hls part")
		hs.last = p
		if !more {
			return false
		}
	}
	return true
}

// play fetches one part or segment and accounts for its audio: dur ns of
// it, whose newest sample ends at end (Unix ns, 0: unknown), so its last
// frame was mixed a frame before. False when the listener must stop.
func (ln *listener) play(hs *hlsState, uri [2]int32, dur, end int64, phase string) bool {
	st, ok := ln.media(hs, uri, phase)
	if !ok {
		return false
	}
	now := ln.hc.readAt
	if st != 200 {
		ln.r.fail(phase+": "+strconv.Itoa(st), nil)
		return true
	}
	ln.audio(now, dur, end)
	if mixed := end - frameNs; end != 0 && mixed >= ln.reqAt {
		ln.r.h.g2g.Record(ln.k, (now-mixed)/1000) // not the start-up media: see ln.reqAt
	}
	return now < ln.end
}

// playlist loads the playlist (a blocking reload for part next when
// blocking) and parses it when the answer is 200. ok is false when the
// listener must stop (an I/O error, counted, or its time is up).
func (ln *listener) playlist(hs *hlsState, blocking bool, next plPart) (status int, ok bool) {
	hc := ln.hc
	b := hc.begin("GET ")
	b = append(b, ln.hlsPath...)
	if blocking {
		b = append(b, hs.sep)
		b = append(b, "_HLS_msn="...)
		b = appendUint(b, next.msn)
		b = append(b, "&_HLS_part="...)
		b = appendUint(b, uint64(next.k))
	}
	rh, ok := ln.exchange(b, "hls playlist")
	if !ok {
		return 0, false
	}
	var bd body
	bd.start(&rh)
	var err error
	hs.text, err = hc.readBody(&bd, hs.text[:0], 1<<20)
	if err != nil {
		ln.failIO("hls playlist", err)
		return 0, false
	}
	hs.retryAfter = rh.retryAfter
	if rh.status == 200 {
		if err := hs.pl.parse(hs.text); err != nil {
			ln.r.fail("hls: bad playlist", err)
			return 0, false
		}
	}
	if rh.close && !ln.redial() {
		return 0, false
	}
	return rh.status, true
}

// media fetches a part, a segment or the init section named at uri in the
// playlist text, discarding its bytes; it waits and asks again when
// rate-limited. phase names it in errors.
func (ln *listener) media(hs *hlsState, uri [2]int32, phase string) (status int, ok bool) {
	hc := ln.hc
	u := hs.text[uri[0]:uri[1]]
	for {
		b := hc.begin("GET ")
		if len(u) == 0 || u[0] != '/' {
			b = append(b, hs.base...)
		}
		b = append(b, u...)
		rh, ok := ln.exchange(b, phase)
		if !ok {
			return 0, false
		}
		var bd body
		bd.start(&rh)
		if _, err := hc.discardBody(&bd); err != nil {
			ln.failIO(phase, err)
			return 0, false
		}
		if rh.close && !ln.redial() {
			return 0, false
		}
		if rh.status != 429 {
			return rh.status, true
		}
		ln.r.waited(phase+": 429", nil)
		if !ln.pause(retryWait(rh.retryAfter)) {
			return 0, false
		}
	}
}

// retryWait is how long to wait before asking again: Retry-After (seconds),
// within [200 ms, 30 s].
func retryWait(retryAfter int) time.Duration {
	if retryAfter <= 0 {
		return 200 * time.Millisecond
	}
	return time.Duration(min(retryAfter, 30)) * time.Second
}

// exchange sends the GET request whose target is in b and reads the
// response header.
func (ln *listener) exchange(b []byte, phase string) (respHead, bool) {
	var rh respHead
	if err := ln.hc.end(b, false); err != nil {
		ln.failIO(phase, err)
		return rh, false
	}
	if err := ln.hc.readHead(&rh); err != nil {
		ln.failIO(phase, err)
		return rh, false
	}
	return rh, true
}

// pause waits d, or until the listener's time is up (false).
func (ln *listener) pause(d time.Duration) bool {
	left := time.Duration(ln.end - time.Now().UnixNano())
	if left <= 0 || ln.l.stopped.Load() {
		return false
	}
	time.Sleep(min(d, left))
	return time.Now().UnixNano() < ln.end
}

// stoppedAtEnd reports whether the listener stopped because its time was up.
func (ln *listener) stoppedAtEnd() bool {
	return time.Now().UnixNano() >= ln.end
}

package load

import (
	"strconv"
	"time"
)

// HLS player kinds (--hls-player).
const (
	HLSPlayerLL      = "ll"      // low-latency: blocking playlist reloads, then each part
	HLSPlayerClassic = "classic" // classic: plain playlist reloads, whole segments
)

// classicStartBuffer is how far behind the end of the playlist a classic
// player starts, in target durations (RFC 8216 section 6.3.3: not less than
// three).
const classicStartBuffer = 3

// hlsClassic plays HLS like a classic player (RFC 8216 sections 6.3.3 and
// 6.3.4, a player without the low-latency extensions: Safari without LL,
// ffplay, VLC, smart TVs): load the playlist, fetch the init section and the
// whole segments from three target durations before its end, then loop:
// wait, reload the playlist without directives, fetch every new complete
// segment. It waits a target duration after a reload that brought a new
// segment and half of one after a reload that did not, each measured from
// the start of the reload. True if it stayed its whole time.
func (ln *listener) hlsClassic() bool {
	r := ln.r
	hs := ln.newHLSState()

	loaded, ok, stayed := ln.hlsStart(hs, func(pl *playlist) (bool, time.Duration) {
		return len(pl.segs) > 0, time.Duration(classicTarget(pl) / 2)
	})
	if !ok {
		return stayed
	}
	if !ln.fetchSegs(hs, classicStart(&hs.pl)) {
		return ln.stoppedAtEnd()
	}
	next := loaded + classicTarget(&hs.pl) // the first load counts as a change
	for {
		if d := next - time.Now().UnixNano(); d > 0 && !ln.pause(time.Duration(d)) {
			return ln.stoppedAtEnd()
		}
		if time.Now().UnixNano() >= ln.end {
			return true
		}
		loaded = time.Now().UnixNano()
		st, ok := ln.playlist(hs, false, plPart{})
		if !ok {
			return ln.stoppedAtEnd()
		}
		switch {
		case st == 503 || st == 429: // the server sheds load
			r.waited("hls playlist: "+strconv.Itoa(st), nil)
			next = time.Now().UnixNano() + int64(retryWait(hs.retryAfter))
			continue
		case st != 200:
			r.fail("hls playlist: "+strconv.Itoa(st), nil)
			return false
		}
		segs := hs.pl.segs
		i := 0
		for i < len(segs) && segs[i].msn <= hs.seg {
			i++
		}
		if i == len(segs) { // unchanged: no new segment
			if hs.pl.ended {
				r.fail("hls: show ended", nil)
				return false
			}
			next = loaded + classicTarget(&hs.pl)/2
			continue
		}
		next = loaded + classicTarget(&hs.pl)
		if segs[i].msn > hs.seg+1 { // the segment after ours already left the playlist: we fell behind
			r.fail("hls: fell behind the live window", nil)
			i = classicStart(&hs.pl)
		}
		if !ln.fetchSegs(hs, i) {
			return ln.stoppedAtEnd()
		}
	}
}

// classicTarget is the playlist's target duration, ns; without one, its
// longest segment (at least 100 ms).
func classicTarget(pl *playlist) int64 {
	if pl.target > 0 {
		return pl.target
	}
	t := int64(100 * time.Millisecond)
	for _, s := range pl.segs {
		t = max(t, s.dur)
	}
	return t
}

// classicStart is where a classic player starts: the newest segment that
// starts at least three target durations before the end of the playlist
// (RFC 8216 section 6.3.3), or the first one when it is shorter than that.
// With onair's segments, which last their target, the third from the end.
func classicStart(pl *playlist) int {
	want := classicStartBuffer * classicTarget(pl)
	var d int64
	for i := len(pl.segs) - 1; i >= 0; i-- {
		if d += pl.segs[i].dur; d >= want {
			return i
		}
	}
	return 0
}

// fetchSegs fetches the playlist's segments from index i on; false when the
// listener must stop. A segment's audio ends at its program date-time plus
// its duration.
func (ln *listener) fetchSegs(hs *hlsState, i int) bool {
	for _, s := range hs.pl.segs[i:] {
		end := int64(0)
		if s.pdt != 0 {
			end = s.pdt + s.dur
		}
		more := ln.play(hs, s.uri, s.dur, end, "hls segment")
		hs.seg = s.msn
		if !more {
			return false
		}
	}
	return true
}

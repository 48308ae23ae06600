package load

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// granuleNs converts 48 kHz samples to nanoseconds (1e9/48000 = 62500/3).
func granuleNs(samples uint64) int64 { return int64(samples) * 62500 / 3 }

const flagEOS = 0x04

// frameNs is the duration of one program frame: the newest audio of a page
// or part was mixed one frame before the sample clock at its end.
const frameNs = int64(program.FrameDuration)

// ogg streams the progressive Ogg/Opus response until the listener's time is
// up; true if it stayed the whole time.
func (ln *listener) ogg() bool {
	r, hc := ln.r, ln.hc
	var rh respHead
	var bd body
	for {
		b := hc.begin("GET ")
		b = append(b, ln.oggPath...)
		ln.reqAt = time.Now().UnixNano()
		if err := hc.end(b, false); err != nil {
			ln.failIO("ogg", err)
			return false
		}
		if err := hc.readHead(&rh); err != nil {
			ln.failIO("ogg", err)
			return false
		}
		bd.start(&rh)
		if rh.status == 200 {
			break
		}
		msg, err := hc.readBody(&bd, nil, 4<<10)
		if err != nil {
			ln.failIO("ogg", err)
			return false
		}
		if rh.status != 429 && rh.status != 503 {
			r.fail("ogg: "+strconv.Itoa(rh.status), errors.New(string(msg)))
			return false
		}
		// Rate-limited, or no program yet: wait as told, like a player.
		r.waited("ogg: "+strconv.Itoa(rh.status), errors.New(string(msg)))
		if !ln.pause(retryWait(rh.retryAfter)) || (rh.close && !ln.redial()) {
			return ln.stoppedAtEnd()
		}
	}
	hc.bytes = int64(hc.w - hc.r) // count the stream from here
	ln.connectedNow()

	var p PageParser
	g0, haveG0 := rh.granule, rh.hasGranule
	capNs, haveCap := rh.capMs*int64(time.Millisecond), rh.hasCap && rh.hasGranule
	if !haveCap && r.tgs[0].path == "" && !ln.l.stopped.Load() { // --url: any Ogg server, no such headers
		r.fail("ogg: no capture-time headers (no glass-to-glass latency)", nil)
	}
	var (
		first   = true
		prevSeq uint32
		prevG   uint64
		lastDur uint64
		ended   bool
	)
	for {
		data, err := hc.next(&bd)
		if err != nil {
			if ln.l.stopped.Load() {
				return time.Now().UnixNano() >= ln.end
			}
			switch {
			case errors.Is(err, io.EOF) && ended:
				r.fail("ogg: show ended", nil)
			case errors.Is(err, io.EOF):
				ln.lost = true
				r.fail("ogg: premature end", err)
			default:
				ln.failIO("ogg", err)
			}
			return false
		}
		now := hc.readAt
		for len(data) > 0 {
			n, ev := p.Feed(data)
			data = data[n:]
			if ev == PageLostSync {
				r.fail("ogg: bad page", nil)
				continue
			}
			if ev != PageDone {
				continue
			}
			h := &p.Page
			if h.Flags&flagEOS != 0 {
				ended = true
			}
			if !h.Audio() {
				continue
			}
			g := h.Granule
			var dur uint64
			switch {
			case first:
				first = false
				if !haveG0 || g < g0 {
					g0, haveCap = g, false
				}
				dur = g - g0
			case g <= prevG:
				r.fail("ogg: granule went back", nil)
				continue
			case h.Seq == prevSeq+1:
				dur = g - prevG
				lastDur = dur
			default: // pages missing: the server skipped this listener forward
				dur = g - prevG
				if lastDur > 0 && lastDur < dur {
					dur = lastDur
				}
				r.skippedNs.Add(granuleNs(g - prevG - dur))
				r.fail("ogg: pages skipped", nil)
			}
			prevSeq, prevG = h.Seq, g
			var mixEnd int64
			if haveCap {
				mixEnd = capNs + granuleNs(g-g0)
			}
			ln.audio(now, granuleNs(dur), mixEnd)
			if mixed := mixEnd - frameNs; haveCap && mixed >= ln.reqAt {
				r.h.g2g.Record(ln.k, (now-mixed)/1000) // not the start-up burst: see ln.reqAt
			}
		}
		if now >= ln.end {
			return true
		}
	}
}

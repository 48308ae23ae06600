package load

import (
	"context"
	"errors"
	"net"
	"time"
)

// Read buffer sizes: an Ogg listener needs little more than a batch of
// pages; an HLS listener holds a whole playlist.
const (
	oggBufSize = 4 << 10
	hlsBufSize = 8 << 10
)

// listener is one listener's state for the length of its goroutine.
type listener struct {
	r       *run
	k, g    int // local and global index
	l       *lstate
	hc      *hconn
	at      target // the server the connection is to
	t0      int64  // Unix ns the listener arrived
	end     int64  // Unix ns it leaves
	oggPath string // the stream's path and query (ticket included)
	hlsPath string
	ticket  string   // the ticket held, renewed on a failover
	alts    []target // the alternate edges of the last join answer
	edge    *edgeStats
	// reqAt is when the stream was first asked for. Audio mixed before it
	// is the start-up buffer (Ogg's burst, HLS's PART-HOLD-BACK parts): it
	// counts for time to first audio and stalls, not for glass-to-glass
	// latency, which measures live delivery.
	reqAt     int64
	st        StallTracker
	streaming bool // it got a stream, once
	connected bool // it has one now
	segStart  int64
	spanNs    int64 // time streaming, all streams together
	bytes     int64 // bytes of all its streams
	lastAudio int64 // wall time of the newest audio
	lastMix   int64 // mix time of the end of the newest audio (0: unknown)

	// Failover (failover.go).
	lost     bool // the stream was lost (an I/O error, a premature end)
	failing  bool // between a loss and the first new audio after it
	dedupe   bool // the first audio after a loss may repeat what was heard
	lostEdge *edgeStats
	lossFrom int64 // the last audio before the loss (or the loss, if none)
	attempt  int
	dialing  string // what a connect is for, in errors ("": connect)
}

func (r *run) listen(k, g int) {
	defer r.wg.Done()
	r.started.Add(1)
	ln := &listener{r: r, k: k, g: g, l: &r.ls[k], t0: r.ls[k].arrival, end: r.ls[k].end.Load(),
		at: r.tgs[g%len(r.tgs)]}
	ln.st.Threshold = int64(r.cfg.StallThreshold)
	bufSize := oggBufSize
	if r.cfg.Protocol == ProtoHLS {
		bufSize = hlsBufSize
	}
	ln.hc = newHconn(nil, ln.at.host, bufSize)
	if !ln.arrive() {
		ln.l.stop()
		return
	}
	ok := ln.stream()
	for !ok && (ln.lost || ln.failing) && !ln.stoppedAtEnd() {
		ln.loss()
		if r.cfg.NoReconnect || !ln.rejoin() {
			break
		}
		ok = ln.stream()
	}
	ln.finish(ok)
	ln.l.stop()
}

// arrive connects and joins on the listener's own target; when that cannot
// be reached (its edge is down), on the next targets in turn, each once and
// at once (not with --no-reconnect).
func (ln *listener) arrive() bool {
	r := ln.r
	tries := len(r.tgs)
	if r.cfg.NoReconnect {
		tries = 1
	}
	for i := range tries {
		ln.lost = false
		if ln.connectTo(r.tgs[(ln.g+i)%len(r.tgs)]) {
			if ln.at.path == "" {
				if ln.join(false) {
					return true
				}
				if !ln.lost {
					return false
				}
				continue
			}
			ln.oggPath = ln.at.path // --url: no join API
			ln.setEdge(ln.at)
			r.h.join.Record(ln.k, (time.Now().UnixNano()-ln.t0)/1000)
			r.joined.Add(1)
			return true
		}
		if !ln.lost {
			return false
		}
	}
	return false
}

// stream plays the stream the join answered; true if the listener stayed
// its whole time.
func (ln *listener) stream() bool {
	switch {
	case ln.r.cfg.Protocol == ProtoOgg:
		return ln.ogg()
	case ln.r.cfg.HLSPlayer == HLSPlayerClassic:
		return ln.hlsClassic()
	default:
		return ln.hls()
	}
}

// dial connects to ln.at from the listener's source address.
func (ln *listener) dial() (net.Conn, error) {
	r := ln.r
	t := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, ln.end))
	defer cancel()
	c, err := dial(ctx, ln.at.addr, r.sources.At(ln.g), r.cfg.ConnectTimeout)
	if err != nil {
		if !ln.l.stopped.Load() {
			what := ln.dialing
			if what == "" {
				what = "connect"
			}
			ln.lost = true
			ln.fail(what+": "+errClass(err), err)
		}
		return nil, err
	}
	if !ln.l.attach(c) {
		return nil, errStopped
	}
	r.h.connect.Record(ln.k, time.Since(t).Microseconds())
	return c, nil
}

var errStopped = errors.New("listener stopped")

// redial replaces the connection after the server closed it.
func (ln *listener) redial() bool {
	return ln.connectTo(ln.at)
}

// connectTo replaces the connection with one to t.
func (ln *listener) connectTo(t target) bool {
	if ln.hc.c != nil {
		ln.hc.c.Close()
	}
	ln.at = t
	c, err := ln.dial()
	if err != nil {
		return false
	}
	ln.hc.c, ln.hc.r, ln.hc.w, ln.hc.host = c, 0, 0, t.host
	return true
}

// fail counts an error of the listener's; while it fails over, the kind
// says so.
func (ln *listener) fail(kind string, err error) {
	if ln.failing {
		kind = "rejoin " + kind
	}
	ln.r.fail(kind, err)
}

// failIO counts an I/O error unless it is our own doing (the listener's time
// was up and the sweeper cut it). The stream is lost: the listener may fail
// over.
func (ln *listener) failIO(phase string, err error) {
	if ln.l.stopped.Load() {
		return
	}
	ln.lost = true
	ln.fail(phase+": "+errClass(err), err)
}

// setEdge charges what follows to the edge of t.
func (ln *listener) setEdge(t target) {
	if ln.edge == nil || ln.edge.name != t.addr {
		ln.edge = ln.r.edges.get(t.addr)
	}
}

// connectedNow marks a stream established.
func (ln *listener) connectedNow() {
	if ln.connected {
		return
	}
	ln.streaming, ln.connected = true, true
	ln.segStart = time.Now().UnixNano()
	ln.hc.reads, ln.hc.reqs = 0, 0
	ln.r.connected.Add(1)
	ln.r.streams.Add(1)
	ln.edge.listeners.Add(1)
	ln.l.edge.Store(ln.edge.idx)
}

// endSegment closes the accounts of the stream in progress at now (it was
// lost, or the listener leaves).
func (ln *listener) endSegment(now int64) {
	if !ln.connected {
		return
	}
	r, hc, e := ln.r, ln.hc, ln.edge
	ln.connected = false
	r.connected.Add(-1)
	ln.l.edge.Store(0)
	span := max(min(now, ln.end)-ln.segStart, 0)
	ln.spanNs += span
	ln.bytes += hc.bytes
	r.listenerNs.Add(span)
	r.bytes.Add(hc.bytes)
	r.reads.Add(hc.reads)
	r.requests.Add(hc.reqs)
	e.bytes.Add(hc.bytes)
	e.listenerNs.Add(span)
	hc.bytes, hc.reads, hc.reqs = 0, 0, 0
}

// audio accounts for dur ns of audio arriving at now, whose newest sample
// was mixed at mixEnd (Unix ns; 0: unknown).
func (ln *listener) audio(now, dur, mixEnd int64) {
	r := ln.r
	if ln.dedupe && mixEnd > 0 && ln.lastMix > 0 {
		if mixEnd <= ln.lastMix+dedupeSlack {
			r.fo.repeatedNs.Add(dur)
			return // heard before the loss: the new edge's start-up burst
		}
		if d := mixEnd - ln.lastMix; d < dur {
			r.fo.repeatedNs.Add(dur - d)
			dur = d
		} else if d > dur+dedupeSlack {
			r.fo.missedNs.Add(d - dur)
		}
	}
	ln.dedupe = false
	ln.lastMix = max(ln.lastMix, mixEnd)
	if !ln.st.Started() {
		r.gotAudio.Add(1)
		r.h.first.Record(ln.k, (now-ln.t0)/1000)
	}
	stalled := ln.st.Stalled
	if ln.st.Audio(now, dur) {
		ln.stalled(1, ln.st.Stalled-stalled)
	}
	if ln.failing {
		ln.recovered(now)
	}
	ln.lastAudio = now
	ln.l.deadline.Store(ln.st.Deadline())
}

// stalled charges n stall events of ns in all: to the edge streaming, or
// to the edge lost when a failover caused them.
func (ln *listener) stalled(n int, ns int64) {
	r, e := ln.r, ln.edge
	r.stallEvents.Add(int64(n))
	if ln.failing {
		r.fo.stalls.Add(int64(n))
		e = ln.lostEdge
	}
	if e != nil {
		e.stalls.Add(int64(n))
		e.stalledNs.Add(ns)
	}
}

// finish closes the listener's accounts. ok: it stayed its whole time.
func (ln *listener) finish(ok bool) {
	r := ln.r
	stop := min(time.Now().UnixNano(), ln.end)
	ln.endSegment(stop)
	ln.l.deadline.Store(0)
	if ln.streaming {
		stalls, stalled := ln.st.Stalls, ln.st.Stalled
		ln.st.Finish(stop)
		if n := ln.st.Stalls - stalls; n > 0 {
			ln.stalled(n, ln.st.Stalled-stalled)
		}
	}
	if ln.failing {
		r.fo.failingNow.Add(-1)
		r.fo.gaveUp.Add(1)
		r.fail("rejoin: gave up (no edge took the listener back before its stay ended)", nil)
	}
	if !ln.streaming {
		return
	}
	if ok {
		r.completed.Add(1)
		ln.edge.completed.Add(1)
	}
	if ln.st.Started() {
		r.h.stalls.Record(ln.k, int64(ln.st.Stalls))
		r.h.stalled.Record(ln.k, ln.st.Stalled/1000)
		if ln.spanNs > int64(time.Second) {
			r.h.rate.Record(ln.k, ln.bytes*int64(time.Second)/ln.spanNs)
		}
	}
}

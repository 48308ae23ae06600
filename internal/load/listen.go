package load

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/gate"
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
	t0      int64  // Unix ns the listener arrived
	end     int64  // Unix ns it leaves
	oggPath string // the stream's path and query (ticket included)
	hlsPath string
	// reqAt is when the stream was first asked for. Audio mixed before it
	// is the start-up buffer (Ogg's burst, HLS's PART-HOLD-BACK parts): it
	// counts for time to first audio and stalls, not for glass-to-glass
	// latency, which measures live delivery.
	reqAt       int64
	st          StallTracker
	streamStart int64
	streaming   bool
}

func (r *run) listen(k, g int) {
	defer r.wg.Done()
	r.started.Add(1)
	ln := &listener{r: r, k: k, g: g, l: &r.ls[k], t0: time.Now().UnixNano(), end: r.ls[k].end.Load()}
	ln.st.Threshold = int64(r.cfg.StallThreshold)
	bufSize := oggBufSize
	if r.cfg.Protocol == ProtoHLS {
		bufSize = hlsBufSize
	}
	c, err := ln.dial()
	if err != nil {
		return
	}
	ln.hc = newHconn(c, r.tg.host, bufSize)
	if r.tg.path != "" { // --url: no join API
		ln.oggPath = r.tg.path
		r.h.join.Record(ln.k, (time.Now().UnixNano()-ln.t0)/1000)
		r.joined.Add(1)
	} else if !ln.join() {
		ln.l.stop()
		return
	}
	ok := false
	switch r.cfg.Protocol {
	case ProtoOgg:
		ok = ln.ogg()
	case ProtoHLS:
		if r.cfg.HLSPlayer == HLSPlayerClassic {
			ok = ln.hlsClassic()
		} else {
			ok = ln.hls()
		}
	}
	ln.finish(ok)
	ln.l.stop()
}

// dial connects from the listener's source address.
func (ln *listener) dial() (net.Conn, error) {
	r := ln.r
	t := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, ln.end))
	defer cancel()
	c, err := dial(ctx, r.tg.addr, r.sources.At(ln.g), r.cfg.ConnectTimeout)
	if err != nil {
		if !ln.l.stopped.Load() {
			r.fail("connect: "+errClass(err), err)
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
	ln.hc.c.Close()
	c, err := ln.dial()
	if err != nil {
		return false
	}
	ln.hc.c, ln.hc.r, ln.hc.w = c, 0, 0
	return true
}

// failIO counts an I/O error unless it is our own doing (the listener's time
// was up and the sweeper cut it).
func (ln *listener) failIO(phase string, err error) {
	if ln.l.stopped.Load() {
		return
	}
	ln.r.fail(phase+": "+errClass(err), err)
}

type joinAnswer struct {
	Ticket string `json:"ticket"`
	Ogg    string `json:"ogg"`
	HLS    string `json:"hls"`
	// Answers other than 200 (the gate): the waiting room's place in line,
	// a rate limit's wait, a proof-of-work challenge.
	QueueToken string `json:"queue_token"`
	RetryAfter int    `json:"retry_after"`
	Challenge  string `json:"challenge"`
	Difficulty int    `json:"difficulty"`
}

// maxPoWBits bounds the proof of work a listener will do (2^24 hashes is
// seconds of CPU): a harder challenge is counted, not solved.
const maxPoWBits = 24

// join asks for a ticket, on the listener's own connection, like a
// browser would: it waits its turn when the server says 429 or 503 (with
// Retry-After) or puts it in the waiting room (202), and solves a proof of
// work when asked (401). Each of those is counted; the join latency is the
// whole time from arrival to ticket.
func (ln *listener) join() bool {
	r, hc := ln.r, ln.hc
	var queue, pow string
	for {
		b := hc.begin("POST ")
		b = append(b, "/api/v1/spaces/"...)
		b = append(b, r.cfg.Space...)
		b = append(b, "/join"...)
		if err := hc.end(b, true, header("Onair-Queue", queue), header("Onair-PoW", pow)); err != nil {
			ln.failIO("join", err)
			return false
		}
		var rh respHead
		if err := hc.readHead(&rh); err != nil {
			ln.failIO("join", err)
			return false
		}
		var bd body
		bd.start(&rh)
		raw, err := hc.readBody(&bd, nil, 64<<10)
		if err != nil {
			ln.failIO("join", err)
			return false
		}
		var ja joinAnswer
		jerr := json.Unmarshal(raw, &ja)
		if rh.close && rh.status != 200 && !ln.redial() {
			return false
		}
		pow = ""
		switch rh.status {
		case 200:
		case 202, 429, 503:
			kind := "join: " + strconv.Itoa(rh.status)
			if rh.status == 202 {
				kind, queue = "join: 202 waiting room", ja.QueueToken
			}
			r.waited(kind, errors.New(string(raw)))
			wait := rh.retryAfter
			if wait <= 0 {
				wait = ja.RetryAfter
			}
			if !ln.pause(time.Duration(min(max(wait, 1), 30)) * time.Second) {
				r.fail("join: time up while waiting", nil)
				return false
			}
			continue
		case 401:
			if ja.Challenge == "" || ja.Difficulty > maxPoWBits {
				r.fail("join: 401", errors.New(string(raw)))
				return false
			}
			r.waited("join: 401 proof of work (solved)", nil)
			pow = ja.Challenge + ":" + solvePoW(ja.Challenge, ja.Difficulty)
			continue
		default:
			r.fail("join: "+strconv.Itoa(rh.status), errors.New(string(raw)))
			return false
		}
		if jerr != nil || ja.Ticket == "" {
			r.fail("join: bad answer", errors.New(string(raw)))
			return false
		}
		ln.oggPath, ln.hlsPath = requestURI(ja.Ogg), requestURI(ja.HLS)
		r.h.join.Record(ln.k, (time.Now().UnixNano()-ln.t0)/1000)
		r.joined.Add(1)
		if rh.close {
			return ln.redial()
		}
		return true
	}
}

// header formats a request header line, or "" when there is no value.
func header(name, value string) string {
	if value == "" {
		return ""
	}
	return name + ": " + value
}

// solvePoW finds a nonce such that SHA-256(challenge ":" nonce) starts with
// difficulty zero bits: what onair's join asks of every client under attack.
func solvePoW(challenge string, difficulty int) string {
	powSlots <- struct{}{}
	defer func() { <-powSlots }()
	return gate.Solve(challenge, difficulty)
}

// requestURI returns the path and query of an absolute URL: the server's
// public URL may name another host than the one we load.
func requestURI(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.RequestURI()
}

// connectedNow marks the stream established.
func (ln *listener) connectedNow() {
	ln.streaming = true
	ln.streamStart = time.Now().UnixNano()
	ln.hc.reads, ln.hc.reqs = 0, 0
	ln.r.connected.Add(1)
}

// audio accounts for dur ns of audio arriving at now.
func (ln *listener) audio(now, dur int64) {
	r := ln.r
	if !ln.st.Started() {
		r.gotAudio.Add(1)
		r.h.first.Record(ln.k, (now-ln.t0)/1000)
	}
	if ln.st.Audio(now, dur) {
		r.stallEvents.Add(1)
	}
	ln.l.deadline.Store(ln.st.Deadline())
}

// finish closes the listener's accounts. ok: it stayed its whole time.
func (ln *listener) finish(ok bool) {
	r := ln.r
	now := time.Now().UnixNano()
	if !ln.streaming {
		return
	}
	r.connected.Add(-1)
	ln.l.deadline.Store(0)
	stop := min(now, ln.end)
	before := ln.st.Stalls
	ln.st.Finish(stop)
	r.stallEvents.Add(int64(ln.st.Stalls - before))
	if ok {
		r.completed.Add(1)
	}
	span := max(stop-ln.streamStart, 0)
	r.listenerNs.Add(span)
	r.bytes.Add(ln.hc.bytes)
	r.reads.Add(ln.hc.reads)
	r.requests.Add(ln.hc.reqs)
	if ln.st.Started() {
		r.h.stalls.Record(ln.k, int64(ln.st.Stalls))
		r.h.stalled.Record(ln.k, ln.st.Stalled/1000)
		if span > int64(time.Second) {
			r.h.rate.Record(ln.k, ln.hc.bytes*int64(time.Second)/span)
		}
	}
}

package load

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

type joinAnswer struct {
	Ticket string `json:"ticket"`
	Ogg    string `json:"ogg"`
	HLS    string `json:"hls"`
	// Edge names the edge the media URLs point at (empty: one process);
	// Alternates are the base URLs of other edges that carry the space.
	Edge       string   `json:"edge"`
	Alternates []string `json:"alternates"`
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

// maxRedirects bounds the 307s one join follows.
const maxRedirects = 5

// join asks for a ticket, on the listener's own connection, like a
// browser would: it follows a 307 to another edge (POST again there), waits
// its turn when the server says 429 or 503 (with Retry-After) or puts it in
// the waiting room (202), and solves a proof of work when asked (401). Each
// of those is counted; the join latency is the whole time from arrival to
// ticket. renew: a failover's re-join, with the ticket held (a renewal: no
// queue, no proof of work), where a 503 or any other refusal sends the
// listener on to the next edge rather than waiting.
func (ln *listener) join(renew bool) bool {
	r, hc := ln.r, ln.hc
	path := "/api/v1/spaces/" + r.cfg.Space + "/join"
	var queue, pow, held string
	if renew {
		held = ln.ticket
	}
	redirects := 0
	for {
		b := hc.begin("POST ")
		b = append(b, path...)
		if err := hc.end(b, true, header("Onair-Queue", queue), header("Onair-PoW", pow), header("Onair-Ticket", held)); err != nil {
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
		if rh.status == 307 || rh.status == 308 {
			if redirects++; redirects > maxRedirects {
				ln.fail("join: more than 5 redirects", errors.New(rh.location))
				return false
			}
			if path = ln.follow(rh.location, rh.close); path == "" {
				return false
			}
			continue
		}
		var ja joinAnswer
		jerr := json.Unmarshal(raw, &ja)
		waits := rh.status == 202 || rh.status == 429 || rh.status == 503
		closed := rh.close && rh.status != 200
		if closed && !waits && !ln.redial() {
			return false
		}
		pow = ""
		switch st := rh.status; {
		case st == 200:
		case renew && st != 202 && st != 401 && st != 429: // this edge cannot take us back: on to the next
			ln.fail("join: "+strconv.Itoa(st), errors.New(string(raw)))
			return false
		case st == 202 || st == 429 || st == 503:
			kind := "join: " + strconv.Itoa(st)
			if st == 202 {
				kind, queue = "join: 202 waiting room", ja.QueueToken
			}
			r.waited(kind, errors.New(string(raw)))
			wait := rh.retryAfter
			if wait <= 0 {
				wait = ja.RetryAfter
			}
			if !ln.pause(time.Duration(min(max(wait, 1), 30)) * time.Second) {
				ln.fail("join: time up while waiting", nil)
				return false
			}
			// A server that closed the connection of one it told to wait
			// (the waiting room does, for waits of seconds) is asked again
			// on a new one, as a browser would: no socket held meanwhile.
			if closed && !ln.redial() {
				return false
			}
			continue
		case st == 401:
			if ja.Challenge == "" || ja.Difficulty > maxPoWBits {
				ln.fail("join: 401", errors.New(string(raw)))
				return false
			}
			r.waited("join: 401 proof of work (solved)", nil)
			pow = ja.Challenge + ":" + solvePoW(ja.Challenge, ja.Difficulty)
			continue
		default:
			ln.fail("join: "+strconv.Itoa(rh.status), errors.New(string(raw)))
			return false
		}
		if jerr != nil || ja.Ticket == "" {
			ln.fail("join: bad answer", errors.New(string(raw)))
			return false
		}
		if !renew && r.cfg.Patience > 0 { // in at last: its stay starts now
			ln.end = time.Now().UnixNano() + int64(r.cfg.Duration)
			ln.l.end.Store(ln.end)
		}
		if !ln.answered(&ja, rh.close) {
			return false
		}
		if !renew {
			r.h.join.Record(ln.k, (time.Now().UnixNano()-ln.t0)/1000)
			r.joined.Add(1)
		}
		return true
	}
}

// follow takes a join's redirect: it connects to the server the location
// names (unless it is the one the connection is to, and still open) and
// returns the path to POST there; "" if it cannot.
func (ln *listener) follow(location string, closed bool) string {
	t, u, err := ln.r.hosts.answerTarget(ln.at, location)
	if err != nil || location == "" {
		ln.fail("join: bad redirect", errors.New(location))
		return ""
	}
	if (t.addr != ln.at.addr || closed) && !ln.connectTo(t) {
		return ""
	}
	return u.RequestURI()
}

// answered takes a join's 200: the ticket, the alternates, and the stream
// to play. When a cluster answered (the answer names an edge and lists
// alternates) or the media URL is on one of the --target edges, the stream
// is at that URL, perhaps on another edge than the one asked. Otherwise it
// is on the server asked: one process answers with its public URL, which
// may be a name for what we reach another way (a proxy, a TLS terminator);
// so it is too when the URL cannot be followed (https; not loopback,
// without --allow-remote), which is noted once.
func (ln *listener) answered(ja *joinAnswer, closed bool) bool {
	h := ln.r.hosts
	ln.ticket = ja.Ticket
	ln.alts = ln.alts[:0]
	for _, a := range ja.Alternates {
		if t, err := parseBase(a); err == nil && len(ln.alts) < maxTargets && h.check(t.host) == nil {
			ln.alts = append(ln.alts, t)
		}
	}
	ln.oggPath, ln.hlsPath = requestURI(ja.Ogg), requestURI(ja.HLS)
	media := ja.Ogg
	if ln.r.cfg.Protocol == ProtoHLS {
		media = ja.HLS
	}
	t := ln.at
	if u, err := url.Parse(media); err == nil && ja.Edge != "" && (len(ja.Alternates) > 0 || ln.r.isTarget(hostTarget(u).addr)) {
		if mt, _, err := h.answerTarget(ln.at, media); err == nil {
			t = mt
		} else {
			h.cannotFollow(err)
		}
	}
	ln.setEdge(t)
	switch {
	case t.addr != ln.at.addr:
		ln.dialing = "media connect" // the answer's edge, not the one that answered
		defer func() { ln.dialing = "" }()
		return ln.connectTo(t)
	case closed:
		return ln.redial()
	}
	return true
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

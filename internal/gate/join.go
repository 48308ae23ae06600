package gate

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Admit decides a join for space: true when the caller may issue a ticket.
// Otherwise it has answered: 401 with a proof-of-work challenge (under
// attack), or 202 with the caller's place in line, ETA and Retry-After.
//
// A queue token is valid at every edge sharing the token key; a served one
// is spent in this edge's spent set, and a shared line marks its number
// claimed, so it admits once across the cluster (a local line, or a shared
// one fallen back: once per edge). Solved challenges likewise (Spender).
func (g *Gate) Admit(w http.ResponseWriter, r *http.Request, space string) bool {
	now := time.Now()
	t, num, queued, proven := g.place(r, space, now)
	// A queue token was only ever given after any proof of work asked for,
	// so waiting in line never costs a second one.
	if !queued && !proven {
		if g.UnderAttack() && !g.solved(r, space, now) {
			ch := g.newChallenge(space, g.difficulty(), now)
			g.count("join", "challenged", "pow")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "the service is under attack: solve the proof of work, then join again",
				"code": "pow", "challenge": ch.Token, "difficulty": ch.Difficulty, "expires_ms": ch.Expires})
			return false
		}
		t = g.line.Join(space, now)
	}
	if t.Position > 0 && t.ETA <= shortWait.Seconds() {
		// Almost in: a moment's wait here beats a round trip of Retry-After's
		// whole seconds.
		time.Sleep(time.Duration(t.ETA*float64(time.Second)) + 5*time.Millisecond)
		now = time.Now()
		// A place whose line went meanwhile (a keeper lost) is not a place
		// in: its holder is answered with it, and draws again on return.
		if again := g.line.Check(space, t.Number, now); !again.Stale {
			t = again
		}
	}
	if t.Position == 0 && queued && (t.Claimed || !g.spend(num, now)) {
		// A place in line is used once: a served token shared or replayed
		// is a newcomer again.
		g.CountFrom(r, "join", "rejected", "queue_token_spent")
		t, queued = g.line.Join(space, now), false
	}
	if t.Position == 0 {
		g.count("join", "admitted", map[bool]string{false: "direct", true: "queue"}[queued])
		http.SetCookie(w, &http.Cookie{Name: QueueCookie(space), Path: "/", MaxAge: -1})
		return true
	}
	g.count("join", "queued", "capacity")
	tok := g.sign.seal(kindQueue, space, t.Number, unixMilli(now.Add(queueTTL)))
	retry := min(max(int(math.Ceil(t.ETA/2)), 1), 30)
	http.SetCookie(w, &http.Cookie{Name: QueueCookie(space), Value: tok, Path: "/", MaxAge: int(queueTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	if retry >= closeWaitsOf {
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"position": t.Position, "eta_s": math.Round(t.ETA*10) / 10,
		"queue_token": tok, "retry_after": retry, "error": "the show is full right now: you are in line"})
	return false
}

// place is where the caller's queue token puts it in line: queued with its
// number, or, for a number of a line that is gone (a keeper that failed
// over, an edge's fallback), drawn again in this one: proven (it passed any
// proof of work when it first joined) but once per edge, or a stale token
// would draw numbers without end.
func (g *Gate) place(r *http.Request, space string, now time.Time) (t Ticket, num uint64, queued, proven bool) {
	num, queued = g.queued(r, space, now)
	if !queued {
		return Ticket{}, 0, false, false
	}
	t = g.line.Check(space, num, now)
	if !t.Stale {
		return t, num, true, false
	}
	if !g.spend(num, now) {
		g.CountFrom(r, "join", "rejected", "queue_token_spent")
		return Ticket{}, 0, false, false
	}
	g.count("join", "redrawn", "stale_line")
	return g.line.Join(space, now), 0, false, true
}

// spend marks queue number n used at this edge; false if it was already.
// Its memory lasts as long as a queue token can.
func (g *Gate) spend(n uint64, now time.Time) bool {
	return g.spent.spend(n|queueBit, now.Add(queueTTL).UnixMilli())
}

// closeWaitsOf is the Retry-After (s) from which a waiter's connection is
// closed with its answer: a crowd told to come back in seconds would
// otherwise hold a socket each meanwhile, and open files are what an edge
// runs out of first (a new connection per poll costs less than a held one
// costs the listeners it keeps out).
const closeWaitsOf = 3

// shortWait is the longest wait a join is held for instead of queued.
const shortWait = 500 * time.Millisecond

// queueTTL is how long a queue token is valid; every answer to a waiter
// gives it a fresh one.
const queueTTL = time.Hour

// queueBit keeps spent queue numbers apart from spent challenge ids in the
// one spent set.
const queueBit = 1 << 63

// queued reads the caller's place in line from a valid, unexpired queue token.
func (g *Gate) queued(r *http.Request, space string, now time.Time) (uint64, bool) {
	tok := queueParam(r, space)
	if tok == "" {
		return 0, false
	}
	f, err := g.sign.open(tok, kindQueue, space, 2)
	if err != nil || now.UnixMilli() > int64(f[1]) {
		g.CountFrom(r, "join", "rejected", "queue_token")
		return 0, false
	}
	return f[0], true
}

// solved checks the request's proof of work.
func (g *Gate) solved(r *http.Request, space string, now time.Time) bool {
	c, n := powParam(r)
	if c == "" {
		return false
	}
	if g.checkSolution(space, c, n, now) {
		g.count("pow", "passed", "solved")
		return true
	}
	g.CountFrom(r, "pow", "rejected", "bad_solution")
	return false
}

// difficulty rises with the crowd waiting and the attack's weight.
func (g *Gate) difficulty() int {
	d := g.cfg.PoWBase
	if w, r := float64(g.line.Waiting()), g.line.Rate(); w > 30*r {
		d += 2
	}
	if g.det.rate() > 1000 {
		d += 2
	}
	return min(d, g.cfg.PoWMax)
}

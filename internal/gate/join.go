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
func (g *Gate) Admit(w http.ResponseWriter, r *http.Request, space string) bool {
	now := time.Now()
	num, queued := g.queued(r, space)
	// A queue token was only ever given after any proof of work asked for,
	// so waiting in line never costs a second one.
	if !queued && g.UnderAttack() && !g.solved(r, space, now) {
		ch := g.newChallenge(space, g.difficulty(), now)
		g.count("join", "challenged", "pow")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "the service is under attack: solve the proof of work, then join again",
			"code": "pow", "challenge": ch.Token, "difficulty": ch.Difficulty, "expires_ms": ch.Expires})
		return false
	}
	var t Ticket
	if queued {
		t = g.admit.Check(num, now)
	} else {
		t = g.admit.Join(now)
	}
	if t.Position > 0 && t.ETA <= shortWait.Seconds() {
		// Almost in: a moment's wait here beats a round trip of Retry-After's
		// whole seconds.
		time.Sleep(time.Duration(t.ETA*float64(time.Second)) + 5*time.Millisecond)
		now = time.Now()
		t = g.admit.Check(t.Number, now)
	}
	if t.Position == 0 {
		// A place in line is used once: a served token shared or replayed
		// is a newcomer again.
		if queued && !g.spent.spend(num|queueBit, now.Add(time.Hour).UnixMilli()) {
			g.CountFrom(r, "join", "rejected", "queue_token_spent")
			t, queued = g.admit.Join(now), false
		}
	}
	if t.Position == 0 {
		g.count("join", "admitted", map[bool]string{false: "direct", true: "queue"}[queued])
		http.SetCookie(w, &http.Cookie{Name: QueueCookie(space), Path: "/", MaxAge: -1})
		return true
	}
	g.count("join", "queued", "capacity")
	tok := g.sign.seal(kindQueue, space, t.Number)
	retry := min(max(int(math.Ceil(t.ETA/2)), 1), 30)
	http.SetCookie(w, &http.Cookie{Name: QueueCookie(space), Value: tok, Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeJSON(w, http.StatusAccepted, map[string]any{"position": t.Position, "eta_s": math.Round(t.ETA*10) / 10,
		"queue_token": tok, "retry_after": retry, "error": "the show is full right now: you are in line"})
	return false
}

// shortWait is the longest wait a join is held for instead of queued.
const shortWait = 500 * time.Millisecond

// queueBit keeps spent queue numbers apart from spent challenge ids in the
// one spent set.
const queueBit = 1 << 63

// queued reads the caller's place in line from a valid queue token.
func (g *Gate) queued(r *http.Request, space string) (uint64, bool) {
	tok := queueParam(r, space)
	if tok == "" {
		return 0, false
	}
	f, err := g.sign.open(tok, kindQueue, space, 1)
	if err != nil {
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
	if w, r := float64(g.admit.Waiting()), g.admit.Rate(); w > 30*r {
		d += 2
	}
	if g.det.rate() > 1000 {
		d += 2
	}
	return min(d, g.cfg.PoWMax)
}

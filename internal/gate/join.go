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
	if g.UnderAttack() && !g.solved(r, space, now) {
		ch := g.newChallenge(space, g.difficulty(), now)
		g.count("join", "challenged", "pow")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "the service is under attack: solve the proof of work, then join again",
			"code": "pow", "challenge": ch.Token, "difficulty": ch.Difficulty, "expires_ms": ch.Expires})
		return false
	}
	t, fresh := g.place(r, space, now)
	if t.Position == 0 {
		g.count("join", "admitted", map[bool]string{true: "direct", false: "queue"}[fresh])
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

// place is the caller's place in line: the number in its queue token when
// it has a valid one, a new number otherwise (fresh).
func (g *Gate) place(r *http.Request, space string, now time.Time) (Ticket, bool) {
	if tok := queueParam(r, space); tok != "" {
		if f, err := g.sign.open(tok, kindQueue, space, 1); err == nil {
			return g.admit.Check(f[0], now), false
		}
		g.count("join", "rejected", "queue_token")
	}
	return g.admit.Join(now), true
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
	g.count("pow", "rejected", "bad_solution")
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

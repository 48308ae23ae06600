package server

import (
	"net/http"
	"sync"
	"time"
)

// reactionSet is the few emoji a listener may send; anything else is refused.
var reactionSet = []string{"👏", "❤️", "😂", "🔥", "👍"}

// reactEvery is how often one listener (one ticket) may react.
const reactEvery = time.Second

// reactions counts each space's reactions per whole second; the stage
// document shows the last complete second, so a crowd's reactions cost one
// counter increment each and nothing per listener to read.
type reactions struct {
	mu   sync.Mutex
	by   map[string]*reactionSecond // space → counts
	last map[uint64]time.Time       // listener → last reaction
}

type reactionSecond struct {
	sec        int64          // the second now being counted
	now, prior map[string]int // counts of that second and of the one before
}

func newReactions() *reactions {
	return &reactions{by: make(map[string]*reactionSecond), last: make(map[uint64]time.Time)}
}

// add counts one reaction; false when the listener reacted too recently.
func (r *reactions) add(space string, listener uint64, emoji string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.last[listener]) < reactEvery {
		return false
	}
	if len(r.last) > 100000 { // bounded: forget who reacted over a second ago
		for l, at := range r.last {
			if now.Sub(at) >= reactEvery {
				delete(r.last, l)
			}
		}
	}
	r.last[listener] = now
	rs := r.roll(space, now)
	rs.now[emoji]++
	return true
}

// lastSecond returns the counts of the last complete second.
func (r *reactions) lastSecond(space string, now time.Time) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by[space] == nil {
		return nil
	}
	out := map[string]int{}
	for k, v := range r.roll(space, now).prior {
		out[k] = v
	}
	return out
}

func (r *reactions) roll(space string, now time.Time) *reactionSecond {
	sec := now.Unix()
	rs := r.by[space]
	if rs == nil {
		rs = &reactionSecond{sec: sec, now: map[string]int{}, prior: map[string]int{}}
		r.by[space] = rs
	}
	switch {
	case sec == rs.sec:
	case sec == rs.sec+1:
		rs.sec, rs.prior, rs.now = sec, rs.now, map[string]int{}
	default:
		rs.sec, rs.prior, rs.now = sec, map[string]int{}, map[string]int{}
	}
	return rs
}

type reactReq struct {
	Emoji string `json:"emoji"`
}

// handleReact takes one listener's reaction (a valid ticket, one a second).
func (s *Server) handleReact(w http.ResponseWriter, r *http.Request) {
	sp, ok := s.loadSpace(w, r)
	if !ok {
		return
	}
	c, ok := s.checkTicket(w, r, sp.ID)
	if !ok {
		return
	}
	var req reactReq
	if !decodeJSON(w, r, &req) {
		return
	}
	known := false
	for _, e := range reactionSet {
		known = known || e == req.Emoji
	}
	if !known {
		writeError(w, http.StatusBadRequest, "bad_emoji", "emoji: one of 👏 ❤️ 😂 🔥 👍")
		return
	}
	if !s.reactions.add(sp.ID, c.Listener, req.Emoji, time.Now()) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "too_soon", "one reaction a second")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

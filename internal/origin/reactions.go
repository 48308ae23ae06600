package origin

import (
	"net/http"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
)

// reactionSet is the few emoji a listener may send; anything else is refused.
var reactionSet = []string{"👏", "❤️", "😂", "🔥", "👍"}

// reactEvery is how often one listener (one ticket) may react.
const reactEvery = time.Second

// reactWindow is how many whole seconds the stage document sums: longer
// than a page's poll plus a cached copy's age, so every page sees every
// reaction at least once.
const reactWindow = 3

// reactions counts each space's reactions per whole second; the stage
// document shows the sum of the last reactWindow complete seconds, so a
// crowd's reactions cost one counter increment each and nothing per
// listener to read.
type reactions struct {
	mu   sync.Mutex
	by   map[string]*reactionRing // space → counts
	last map[uint64]time.Time     // listener → last reaction
}

// reactionRing holds the counts of the current second and the window before.
type reactionRing struct {
	secs   [reactWindow + 1]int64
	counts [reactWindow + 1]map[string]int
}

func newReactions() *reactions {
	return &reactions{by: make(map[string]*reactionRing), last: make(map[uint64]time.Time)}
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
	rg := r.by[space]
	if rg == nil {
		rg = &reactionRing{}
		r.by[space] = rg
	}
	sec := now.Unix()
	i := sec % int64(len(rg.secs))
	if rg.secs[i] != sec || rg.counts[i] == nil {
		rg.secs[i], rg.counts[i] = sec, map[string]int{}
	}
	rg.counts[i][emoji]++
	return true
}

// lastSeconds sums the counts of the reactWindow complete seconds before now.
func (r *reactions) lastSeconds(space string, now time.Time) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	rg := r.by[space]
	if rg == nil {
		return nil
	}
	var out map[string]int
	sec := now.Unix()
	for i, at := range rg.secs {
		if at < sec && at >= sec-reactWindow {
			for k, v := range rg.counts[i] {
				if out == nil {
					out = map[string]int{}
				}
				out[k] += v
			}
		}
	}
	return out
}

type reactReq struct {
	Emoji string `json:"emoji"`
}

// handleReact takes one listener's reaction (a valid ticket, one a second).
func (s *Origin) handleReact(w http.ResponseWriter, r *http.Request) {
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return
	}
	c, ok := s.CheckTicket(w, r, sp.ID)
	if !ok {
		return
	}
	var req reactReq
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	known := false
	for _, e := range reactionSet {
		known = known || e == req.Emoji
	}
	if !known {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_emoji", "emoji: one of 👏 ❤️ 😂 🔥 👍")
		return
	}
	if !s.reactions.add(sp.ID, c.Listener, req.Emoji, time.Now()) {
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, http.StatusTooManyRequests, "too_soon", "one reaction a second")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

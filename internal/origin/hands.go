package origin

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// Raised hands are per node and in memory: a request to speak lasts
// minutes, and a listener whose node restarts raises it again.
const (
	handsCap   = 100              // hands waiting per space: the hosts' list stays readable
	handEvery  = 10 * time.Second // a listener raises at most once per this
	handTTL    = 10 * time.Minute // an unanswered hand is lowered after this
	handAnswer = 10 * time.Minute // an answer stays readable by its listener this long
)

var (
	errHandsFull   = errors.New("too many hands are raised in this space; try again later")
	errHandTooSoon = errors.New("you raised your hand a moment ago; wait a few seconds")
	errNoHand      = errors.New("no such raised hand")
)

// hand is one listener's request to speak.
type hand struct {
	Ref      string    `json:"id"` // what hosts see and act on
	Name     string    `json:"name"`
	Status   string    `json:"status"` // waiting, accepted, dismissed
	RaisedAt time.Time `json:"raised_at"`
	key      string    // the listener's own capability to read the answer
	listener uint64
	answered time.Time
	studio   string // the speaker link, once accepted
}

// hands holds the raised hands of every space on this node.
type hands struct {
	mu    sync.Mutex
	by    map[string]map[string]*hand // space → key → hand
	last  map[uint64]time.Time        // listener → last raise
	sweep time.Time
}

func newHands() *hands {
	return &hands{by: make(map[string]map[string]*hand), last: make(map[uint64]time.Time)}
}

// raise records a listener's hand; raising again replaces their waiting one.
func (h *hands) raise(space string, listener uint64, name string, now time.Time) (*hand, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked(now)
	if now.Sub(h.last[listener]) < handEvery {
		return nil, errHandTooSoon
	}
	waiting := 0
	for k, o := range h.by[space] {
		if o.listener == listener && o.Status == "waiting" {
			delete(h.by[space], k)
			continue
		}
		if o.Status == "waiting" {
			waiting++
		}
	}
	if waiting >= handsCap {
		return nil, errHandsFull
	}
	if h.by[space] == nil {
		h.by[space] = make(map[string]*hand)
	}
	hd := &hand{Ref: store.RandomToken(6), Name: name, Status: "waiting", RaisedAt: now,
		key: store.RandomToken(16), listener: listener}
	h.by[space][hd.key] = hd
	h.last[listener] = now
	return hd, nil
}

// byKey returns a copy of the listener's hand.
func (h *hands) byKey(space, key string) (hand, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hd := h.by[space][key]; hd != nil {
		return *hd, true
	}
	return hand{}, false
}

// lower takes the listener's own hand down.
func (h *hands) lower(space, key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by[space][key] == nil {
		return false
	}
	delete(h.by[space], key)
	return true
}

// answer settles a waiting hand by its ref; accept, when set, runs under
// the lock and returns the speaker link the listener will be shown.
func (h *hands) answer(space, ref, status string, accept func(name string) (string, error)) (hand, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hd := range h.by[space] {
		if hd.Ref != ref || hd.Status != "waiting" {
			continue
		}
		if accept != nil {
			link, err := accept(hd.Name)
			if err != nil {
				return *hd, err
			}
			hd.studio = link
		}
		hd.Status, hd.answered = status, time.Now()
		return *hd, nil
	}
	return hand{}, errNoHand
}

// waitingList is the space's waiting hands, oldest first.
func (h *hands) waitingList(space string) []hand {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []hand{}
	for _, hd := range h.by[space] {
		if hd.Status == "waiting" {
			out = append(out, *hd)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RaisedAt.Before(out[j].RaisedAt) })
	return out
}

// waiting counts the space's waiting hands, for the stage document.
func (h *hands) waiting(space string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, hd := range h.by[space] {
		if hd.Status == "waiting" {
			n++
		}
	}
	return n
}

// expireLocked drops stale hands and rate-limit entries, at most once a
// second, so the tables stay bounded by what is recent.
func (h *hands) expireLocked(now time.Time) {
	if now.Sub(h.sweep) < time.Second {
		return
	}
	h.sweep = now
	for space, m := range h.by {
		for k, hd := range m {
			if (hd.Status == "waiting" && now.Sub(hd.RaisedAt) > handTTL) ||
				(hd.Status != "waiting" && now.Sub(hd.answered) > handAnswer) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(h.by, space)
		}
	}
	for l, at := range h.last {
		if now.Sub(at) >= handEvery {
			delete(h.last, l)
		}
	}
}

package edge

import (
	"net/http"
	"slices"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/web"
)

// publicSpace is what anyone may see of a space: no tokens.
type publicSpace struct {
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	State     store.State `json:"state"`
	StartsAt  time.Time   `json:"starts_at"`
	StartedAt time.Time   `json:"started_at,omitzero"`
	AutoStart bool        `json:"auto_start"`
	// StartDelayMS is actual minus scheduled start, once live.
	StartDelayMS *int64 `json:"start_delay_ms,omitempty"`
	Listeners    int64  `json:"listeners"`
	Replay       string `json:"replay,omitempty"`
}

func (s *Edge) public(sp store.Space) publicSpace {
	p := publicSpace{ID: sp.ID, Title: sp.Title, State: sp.State, StartsAt: sp.StartsAt,
		StartedAt: sp.StartedAt, AutoStart: sp.AutoStart, Listeners: s.listeners(sp.ID)}
	if !sp.StartedAt.IsZero() {
		d := sp.StartDelay().Milliseconds()
		p.StartDelayMS = &d
	}
	if sp.State == store.Ended {
		p.Replay = "/replay/" + sp.ID + ".opus"
	}
	return p
}

// publicSpaces lists live and scheduled spaces (ended ones stay reachable by id).
func (s *Edge) publicSpaces() ([]publicSpace, error) {
	spaces, err := s.Dir.Spaces()
	out := []publicSpace{}
	for _, sp := range spaces {
		if sp.State != store.Ended {
			out = append(out, s.public(sp))
		}
	}
	return out, err
}

func (s *Edge) handlePublicList(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not list spaces")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"spaces": list})
}

func (s *Edge) handlePublicGet(w http.ResponseWriter, r *http.Request) {
	if sp, ok := s.LoadSpace(w, r); ok {
		httpapi.WriteJSON(w, http.StatusOK, s.public(sp))
	}
}

// indexPage is what / shows: live spaces first, then the scheduled ones by
// start time.
type indexPage struct {
	Live, Scheduled []publicSpace
	Blank           publicSpace // renders the card template index.js fills
}

func (s *Edge) handleIndexPage(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		s.log.Error("list spaces", "err", err)
		web.Render(s.log, w, http.StatusInternalServerError, "error.html", nil, web.Public)
		return
	}
	var p indexPage
	for _, sp := range list {
		if sp.State == store.Live {
			p.Live = append(p.Live, sp)
		} else {
			p.Scheduled = append(p.Scheduled, sp)
		}
	}
	// The store lists spaces by id; people look for what starts next.
	byStart := func(a, b publicSpace) int { return a.StartsAt.Compare(b.StartsAt) }
	slices.SortStableFunc(p.Live, byStart)
	slices.SortStableFunc(p.Scheduled, byStart)
	web.Render(s.log, w, http.StatusOK, "index.html", p, web.Public)
}

func (s *Edge) handleSpacePage(w http.ResponseWriter, r *http.Request) {
	sp, err := s.Dir.Space(r.PathValue("id"))
	if err != nil {
		web.Render(s.log, w, http.StatusNotFound, "notfound.html", nil, web.Public)
		return
	}
	web.Render(s.log, w, http.StatusOK, "space.html", s.public(sp), s.spacePolicy(sp.ID))
}

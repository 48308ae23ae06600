package origin

import (
	"net/http"
	"time"

	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/web"
)

// studioPermissions lets the studio (and nothing it could embed) ask for the
// microphone, and nothing else.
const studioPermissions = "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"

// studioPage is what /studio/{id} renders before the host token is known:
// only what the public listener page shows too. The token never reaches the
// server in the page request: it travels in the URL fragment or a form field,
// and the page sends it with each API call.
type studioPage struct {
	ID        string
	Title     string
	State     store.State
	StartsAt  time.Time
	StartedAt time.Time
	PageURL   string // the public listener page, to share
	Found     bool
}

// handleStudio serves the host studio, on the host port only: join as a
// speaker over WHIP, go live, end the show, watch the speakers' levels.
func (s *Origin) handleStudio(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := studioPage{ID: id, Title: "Studio"}
	status := http.StatusOK
	switch sp, err := s.st.Space(id); {
	case err == nil:
		p = studioPage{ID: sp.ID, Title: sp.Title, State: sp.State, StartsAt: sp.StartsAt,
			StartedAt: sp.StartedAt, PageURL: s.cfg.PublicURL + "/s/" + sp.ID, Found: true}
	case err == store.ErrNotFound:
		status = http.StatusNotFound
	default:
		s.log.Error("studio: read space", "space", id, "err", err)
		status = http.StatusInternalServerError
	}
	web.Render(s.log, w, status, "studio.html", p, s.studioPolicy())
}

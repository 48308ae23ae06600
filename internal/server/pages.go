package server

import (
	"embed"
	"html/template"
	"net/http"
	"time"

	"github.com/onair-live/onair/internal/store"
)

//go:embed web/*.html
var webFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).ParseFS(webFS, "web/*.html"))

// publicSpace is what anyone may see of a space: no tokens.
type publicSpace struct {
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	State     store.State `json:"state"`
	StartsAt  time.Time   `json:"starts_at"`
	Listeners int64       `json:"listeners"`
	Replay    string      `json:"replay,omitempty"`
}

func (s *Server) public(sp store.Space) publicSpace {
	p := publicSpace{ID: sp.ID, Title: sp.Title, State: sp.State, StartsAt: sp.StartsAt,
		Listeners: s.hub.Listeners(sp.ID)}
	if sp.State == store.Ended {
		p.Replay = "/replay/" + sp.ID + ".opus"
	}
	return p
}

// publicSpaces lists live and scheduled spaces (ended ones stay reachable by id).
func (s *Server) publicSpaces() ([]publicSpace, error) {
	spaces, err := s.st.Spaces()
	out := []publicSpace{}
	for _, sp := range spaces {
		if sp.State != store.Ended {
			out = append(out, s.public(sp))
		}
	}
	return out, err
}

func (s *Server) handlePublicList(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "store", "could not list spaces")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"spaces": list})
}

func (s *Server) handlePublicGet(w http.ResponseWriter, r *http.Request) {
	if sp, ok := s.loadSpace(w, r); ok {
		writeJSON(w, http.StatusOK, s.public(sp))
	}
}

func (s *Server) handleIndexPage(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		http.Error(w, "could not list spaces", http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "index.html", map[string]any{"Spaces": list})
}

func (s *Server) handleSpacePage(w http.ResponseWriter, r *http.Request) {
	sp, err := s.st.Space(r.PathValue("id"))
	if err != nil {
		s.render(w, http.StatusNotFound, "notfound.html", nil)
		return
	}
	s.render(w, http.StatusOK, "space.html", s.public(sp))
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

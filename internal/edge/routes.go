package edge

import (
	"net/http"
	"strings"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/web"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpsRoutes is an edge's second port: what its operator and Prometheus
// read, nothing a speaker or a listener uses.
func (s *Edge) OpsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /gate", s.handleGateStatus)
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

// Routes is the public port: listeners.
func (s *Edge) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndexPage)
	mux.HandleFunc("GET /s/{id}", s.handleSpacePage)
	mux.HandleFunc("GET /static/{file...}", web.HandleStatic)
	mux.HandleFunc("GET /api/v1/spaces", s.handlePublicList)
	mux.HandleFunc("GET /api/v1/spaces/{id}", s.handlePublicGet)
	mux.HandleFunc("POST /api/v1/spaces/{id}/join", s.joinCORS(s.handleJoin))
	mux.HandleFunc("OPTIONS /api/v1/spaces/{id}/join", s.handleJoinPreflight)
	s.stageRoutes(mux)
	mux.HandleFunc("GET /live/{file}", s.handleLive)
	mux.HandleFunc("POST /whep/{id}", s.handleWHEP)
	mux.HandleFunc("OPTIONS /whep/{id}", s.handleWHEPOptions)
	mux.HandleFunc("OPTIONS /whep/{id}/{session}", s.handleWHEPOptions)
	mux.HandleFunc("DELETE /whep/{id}/{session}", s.handleWHEPDelete)
	mux.HandleFunc("PATCH /whep/{id}/{session}", httpapi.NoTrickle)
	mux.HandleFunc("GET /hls/{id}/index.m3u8", s.handlePlaylist)
	mux.HandleFunc("GET /hls/{id}/main.m3u8", s.handleMultivariant)
	mux.HandleFunc("GET /hls/{id}/{file}", s.handleMedia)
	replay, replayHLS := s.replayHandlers()
	mux.HandleFunc("GET /replay/{file}", replay)
	mux.HandleFunc("GET /replay/{id}/{file}", replayHLS)
	mux.HandleFunc("GET /healthz", s.health)
	if s.rlog != nil { // public and archivable: anyone may keep checkpoints (page budget)
		mux.Handle(receipts.Prefix, s.rlog.Handler())
	}
	mux.HandleFunc("/", httpapi.NotFound)
	return s.gated(mux)
}

// gated puts the per-source budgets in front of the public routes: joins
// (and raised hands, which are asked like one), media and pages each have
// their own, so a flood of one does not spend the others'.
func (s *Edge) gated(mux http.Handler) http.Handler {
	join := s.gate.Limit(gate.ClassJoin, mux)
	media := s.gate.Limit(gate.ClassMedia, mux)
	page := s.gate.Limit(gate.ClassPage, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case r.Method == http.MethodPost && (strings.HasSuffix(p, "/join") || strings.HasSuffix(p, "/hands")):
			join.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/live/"), strings.HasPrefix(p, "/hls/"), strings.HasPrefix(p, "/whep/"), strings.HasPrefix(p, "/replay/"):
			media.ServeHTTP(w, r)
		case p == "/healthz":
			mux.ServeHTTP(w, r)
		default:
			page.ServeHTTP(w, r)
		}
	})
}

// handleGateStatus is the gate's state, on the ops port.
func (s *Edge) handleGateStatus(w http.ResponseWriter, _ *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, s.gate.Status())
}

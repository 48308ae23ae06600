package server

import (
	"net/http"
	"strings"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/report"
	"github.com/onair-live/onair/internal/web"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// hostRoutes is the host port: speakers and operators only. Listener traffic
// never reaches this mux, so a crowd cannot delay a show's start.
func (s *Server) hostRoutes() http.Handler {
	if !s.cfg.Role.stage() {
		return s.opsRoutes()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/spaces", s.handleCreate)
	mux.HandleFunc("GET /api/v1/spaces", s.handleList)
	mux.HandleFunc("GET /api/v1/spaces/{id}", s.handleGet)
	mux.HandleFunc("POST /api/v1/spaces/{id}/start", s.handleStart)
	mux.HandleFunc("POST /api/v1/spaces/{id}/end", s.handleEnd)
	mux.HandleFunc("POST /api/v1/spaces/{id}/invites", s.handleInvite)
	mux.HandleFunc("GET /api/v1/spaces/{id}/invites", s.handleInvites)
	mux.HandleFunc("DELETE /api/v1/spaces/{id}/invites/{invite}", s.handleRevoke)
	mux.HandleFunc("POST /api/v1/spaces/{id}/speakers/{name}/mute", s.handleMute)
	mux.HandleFunc("DELETE /api/v1/spaces/{id}/speakers/{name}", s.handleRemove)
	mux.HandleFunc("GET /api/v1/spaces/{id}/hands", s.handleHands)
	mux.HandleFunc("POST /api/v1/spaces/{id}/hands/{hand}/accept", s.handleAccept)
	mux.HandleFunc("POST /api/v1/spaces/{id}/hands/{hand}/dismiss", s.handleDismiss)
	mux.HandleFunc("PUT /ingest/{id}", s.handleIngest)
	mux.HandleFunc("POST /ingest/{id}", s.handleIngest)
	mux.HandleFunc("SOURCE /ingest/{id}", s.handleIngest) // Icecast's method before PUT
	mux.HandleFunc("PUT /{mount}", s.handleMount)
	mux.HandleFunc("SOURCE /{mount}", s.handleMount)
	mux.HandleFunc("POST /whip/{id}", s.handleWHIP)
	mux.HandleFunc("DELETE /whip/{id}/{session}", s.handleWHIPDelete)
	mux.HandleFunc("PATCH /whip/{id}/{session}", httpapi.NoTrickle)
	mux.HandleFunc("GET /studio/{id}", s.handleStudio)
	mux.HandleFunc("GET /static/{file...}", web.HandleStatic)
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /api/v1/origins", s.handleOrigins)
	mux.HandleFunc("GET /gate", s.handleGateStatus)
	mux.HandleFunc("POST /api/v1/gate/mode", s.handleGateMode)
	mux.HandleFunc("GET /dashboard", s.handleDashboard)
	mux.HandleFunc("GET /dashboard/charts.js", handleChartsJS(report.ChartsJS))
	mux.HandleFunc("GET /dashboard/draw.js", handleChartsJS(report.DrawJS))
	mux.HandleFunc("GET /api/v1/receipts/live", s.handleLiveFigures)
	mux.HandleFunc("GET /api/v1/receipts/report", s.handleReceiptsReport)
	if !s.cfg.Role.listeners() {
		// An origin has no public port: edges fetch replays here, and anyone
		// may keep its receipts' checkpoints.
		mux.HandleFunc("GET /replay/{file}", s.handleReplay)
		mux.HandleFunc("GET /replay/{id}/{file}", s.handleReplayHLS)
		if s.rlog != nil {
			mux.Handle(receipts.Prefix, s.rlog.Handler())
		}
	}
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

// opsRoutes is an edge's second port: what its operator and Prometheus
// read, nothing a speaker or a listener uses.
func (s *Server) opsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /gate", s.handleGateStatus)
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

// publicRoutes is the public port: listeners.
func (s *Server) publicRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndexPage)
	mux.HandleFunc("GET /s/{id}", s.handleSpacePage)
	mux.HandleFunc("GET /static/{file...}", web.HandleStatic)
	mux.HandleFunc("GET /api/v1/spaces", s.handlePublicList)
	mux.HandleFunc("GET /api/v1/spaces/{id}", s.handlePublicGet)
	mux.HandleFunc("POST /api/v1/spaces/{id}/join", s.joinCORS(s.handleJoin))
	mux.HandleFunc("OPTIONS /api/v1/spaces/{id}/join", s.handleJoinPreflight)
	s.stageHandlers(func(p string, h func(http.ResponseWriter, *http.Request)) { mux.HandleFunc(p, s.onOrigin(h)) })
	mux.HandleFunc("GET /live/{file}", s.handleLive)
	mux.HandleFunc("POST /whep/{id}", s.handleWHEP)
	mux.HandleFunc("OPTIONS /whep/{id}", s.handleWHEPOptions)
	mux.HandleFunc("OPTIONS /whep/{id}/{session}", s.handleWHEPOptions)
	mux.HandleFunc("DELETE /whep/{id}/{session}", s.handleWHEPDelete)
	mux.HandleFunc("PATCH /whep/{id}/{session}", httpapi.NoTrickle)
	mux.HandleFunc("GET /hls/{id}/index.m3u8", s.handlePlaylist)
	mux.HandleFunc("GET /hls/{id}/main.m3u8", s.handleMultivariant)
	mux.HandleFunc("GET /hls/{id}/{file}", s.handleMedia)
	mux.HandleFunc("GET /replay/{file}", s.replayHandler(s.handleReplay))
	mux.HandleFunc("GET /replay/{id}/{file}", s.replayHandler(s.handleReplayHLS))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	if s.rlog != nil { // public and archivable: anyone may keep checkpoints (page budget)
		mux.Handle(receipts.Prefix, s.rlog.Handler())
	}
	mux.HandleFunc("/", httpapi.NotFound)
	return s.gated(mux)
}

// gated puts the per-source budgets in front of the public routes: joins
// (and raised hands, which are asked like one), media and pages each have
// their own, so a flood of one does not spend the others'.
func (s *Server) gated(mux http.Handler) http.Handler {
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

// handleHealth says whether the node can do its job: an edge that lost
// the bus cannot feed listeners, and says so (a load balancer drains it).
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if !s.busUp() {
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no_bus", "role": string(s.cfg.Role),
			"error": "the program bus (NATS) is unreachable: joins are refused until it is back"})
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "role": string(s.cfg.Role)})
}

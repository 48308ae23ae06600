package origin

import (
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/report"
	"github.com/onair-live/onair/internal/web"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Routes is the host port, behind a standby's guard and, on a cluster,
// open to the studio pages of the other origins (studio_origins.go).
func (s *Origin) Routes() http.Handler { return s.originCORS(s.standbyGuard(s.hostRoutes())) }

// hostRoutes is the host port: speakers and operators only. Listener traffic
// never reaches this mux, so a crowd cannot delay a show's start.
func (s *Origin) hostRoutes() http.Handler {
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
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /api/v1/origins", s.handleOrigins)
	mux.HandleFunc("GET /gate", s.handleGateStatus)
	mux.HandleFunc("POST /api/v1/gate/mode", s.handleGateMode)
	mux.HandleFunc("GET /dashboard", s.handleDashboard)
	mux.HandleFunc("GET /dashboard/charts.js", handleChartsJS(report.ChartsJS))
	mux.HandleFunc("GET /dashboard/draw.js", handleChartsJS(report.DrawJS))
	mux.HandleFunc("GET /api/v1/receipts/live", s.handleLiveFigures)
	mux.HandleFunc("GET /api/v1/receipts/report", s.handleReceiptsReport)
	if s.cfg.Clustered {
		// An origin has no public port: edges fetch replays here, and anyone
		// may keep its receipts' checkpoints.
		mux.HandleFunc("GET /replay/{file}", s.HandleReplay)
		mux.HandleFunc("GET /replay/{id}/{file}", s.HandleReplayHLS)
		if s.rlog != nil {
			mux.Handle(receipts.Prefix, s.rlog.Handler())
		}
	}
	mux.HandleFunc("/", httpapi.NotFound)
	return mux
}

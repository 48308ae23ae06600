package origin

import (
	"bytes"
	"net/http"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/report"
	"github.com/onair-live/onair/internal/verdict"
	"github.com/onair-live/onair/internal/web"
)

// handleDashboard serves the operator's dashboard page (host port). The
// page holds no figures: it asks /api/v1/receipts/live with the admin key.
func (s *Origin) handleDashboard(w http.ResponseWriter, r *http.Request) {
	web.Render(s.log, w, http.StatusOK, "dashboard.html", nil, web.Host)
}

// handleChartsJS serves the chart scripts the report inlines.
func handleChartsJS(js []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(js)
	}
}

// liveFigures is the dashboard's once-a-second answer.
type liveFigures struct {
	Node    string      `json:"node"`
	Data    report.Data `json:"data"`
	Verdict string      `json:"verdict"` // over the last 15 minutes
	Gate    any         `json:"gate"`
	Reason  string      `json:"reason"`
	Last    struct {
		Listeners int64 `json:"listeners"`
	} `json:"last"`
}

// handleLive answers the dashboard: the node's last 15 minutes of records
// as chart series, the verdict over them, and the gate now (admin key).
func (s *Origin) handleLiveFigures(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	recs, events := s.tel.Recent(time.Now().Unix() - 900)
	entries := make([]verdict.Entry, len(recs))
	for i, rec := range recs {
		entries[i] = verdict.Entry{Node: s.tel.Name, Index: -1, Record: rec}
	}
	secs := verdict.Merge(entries)
	rep := verdict.Judge(secs)
	out := liveFigures{Node: s.tel.Name, Data: report.Build(secs, events, rep), Verdict: rep.Verdict, Gate: s.gate.Status()}
	if n := len(recs); n > 0 {
		out.Reason = recs[n-1].Gate.Reason
		out.Last.Listeners = recs[n-1].Listeners.Total
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// handleReceiptsReport renders the HTML report of this node's own log, up
// to now (admin key): what the dashboard links to.
func (s *Origin) handleReceiptsReport(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	if s.rlog == nil {
		httpapi.WriteError(w, http.StatusNotFound, "no_receipts", "this node keeps no receipts log (--receipts=false)")
		return
	}
	if err := s.rlog.Checkpoint(); err != nil { // the report reaches the last second, not the last checkpoint
		s.log.Error("receipts: checkpoint", "err", err)
	}
	g, err := verdict.Gather(r.Context(), verdict.Query{Sources: []string{s.receiptsDir}, Keys: []string{s.rlog.VerifierKey()}})
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "receipts", err.Error())
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.FromGathered(g, "onair receipts report · "+s.tel.Name)); err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "report", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="receipts-report.html"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

package line

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricDecisions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_line_decisions_total", Help: "Places in line an edge drew or checked, by the line that decided: shared (the keeper's) or local (the edge's fallback, while the keeper does not answer)."},
		[]string{"line"})
	metricRetries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_line_keeper_timeouts_total", Help: "Requests to the keeper of the shared line that timed out within the edge's patience: draws asked again, checks answered with the same place and a second's wait."})
	metricFallbacks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_line_fallbacks_total", Help: "Times an edge lost the keeper of the shared line and fell back to its own line."})
	metricRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_line_keeper_requests_total", Help: "Requests the keeper of the shared lines answered, by kind (draw, check, ping)."}, []string{"kind"})
	metricDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_line_dropped_total", Help: "Line messages dropped: malformed, foreign (MAC), stale (too old), no_reply and bad_state (a saved line) at the keeper; bad_reply at an edge."}, []string{"reason"})
	metricRefused = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_line_keeper_refused_total", Help: "Requests for a new space the keeper refused (it holds MaxSpaces lines already): the edge decided them locally."})
	metricResumed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_line_resumed_total", Help: "Lines a keeper resumed from the counters another keeper saved."})
	metricSaveErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_line_save_errors_total", Help: "Failed saves of the lines' counters to the KV bucket (retried next period)."})
	metricSpaces = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_line_spaces", Help: "Spaces whose waiting line the keeper holds."})
)

var (
	sharedDecisions = metricDecisions.WithLabelValues("shared")
	localDecisions  = metricDecisions.WithLabelValues("local")
)

func drop(reason string) { metricDropped.WithLabelValues(reason).Inc() }

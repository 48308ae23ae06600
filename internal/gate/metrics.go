package gate

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricDecisions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_gate_decisions_total", Help: "Every gate decision, by stage (conn, join, media, page, pow, ticket), outcome (admitted, queued, challenged, passed, rejected) and reason."},
		[]string{"stage", "outcome", "reason"})
	metricModeChanges = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_gate_mode_changes_total", Help: "Gate mode changes: operator modes, or the detector's verdict (true/false)."}, []string{"to"})
	metricUnderAttack = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_gate_under_attack", Help: "1 while joins need proof of work."})
	metricRate = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_gate_admissions_per_second", Help: "Joins admitted per second (the admission controller's rate)."})
	metricWaiting = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_gate_waiting", Help: "Joins in the waiting room."})
)

func numCPU() int { return runtime.GOMAXPROCS(0) }

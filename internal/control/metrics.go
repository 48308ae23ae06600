package control

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var metricDropped = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_control_dropped_total",
	Help: "Control-plane entries and load reports dropped as not trusted, by reason (malformed, version, forged, foreign)."},
	[]string{"reason"})

package mix

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricSpeakers = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_mixer_speakers", Help: "Speakers attached to mixers on this origin."})
	metricTick = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "onair_mixer_tick_seconds", Help: "CPU time of one 20 ms mixer tick (decode, sum, limit, encode).",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2, 12)})
	metricSkippedTicks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_mixer_skipped_ticks_total", Help: "Ticks skipped because a mixer fell over a second behind real time."})
	metricEncodeErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_mixer_encode_errors_total", Help: "Program frames libopus failed to encode."})
)

package record

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// While a show is live these grow every page: a flat bytes counter with a
// live space is a recording that stopped (an alert).
var (
	metricBytes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_recording_bytes_total", Help: "Bytes of program written to recordings (Ogg/Opus)."})
	metricErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_recording_errors_total", Help: "Times a recording file stopped because a write or sync failed (the show went on; the file resumes once writing works again)."})
	metricDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_recording_dropped_frames_total",
		Help: "Program frames left out of recordings because the disk fell 30 s behind (writes or fsyncs stalling); the show never waits for the disk."})
	metricStopped = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "onair_recording_stopped",
		Help: "Recording files not being written because writing failed (a full disk, say); each resumes once a retry succeeds."})
)

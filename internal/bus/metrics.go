package bus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricPublished = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_bus_frames_published_total", Help: "Program frames published on the bus by this process."})
	metricDelivered = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_bus_frames_delivered_total", Help: "Program frames delivered to this process's bus subscribers."})
	metricGaps = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_bus_gaps_total", Help: "Holes in a bus subscription's frame sequence numbers."})
	metricLost = promauto.NewCounter(prometheus.CounterOpts{
		Name: "onair_bus_frames_lost_total", Help: "Program frames missing from bus subscriptions (the frames in the gaps)."})
	metricDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_bus_messages_dropped_total", Help: "Messages on onair bus subjects dropped as not valid, by reason (malformed, version, unsendable)."},
		[]string{"reason"})
	metricJoins = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "onair_bus_joins_total", Help: "Mid-show subscriptions by how their recent frames came (state, empty, failed)."},
		[]string{"result"})
	metricLatency = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "onair_bus_latency_seconds", Help: "Time from a frame's publish on the origin to its receipt by a subscriber (clustered bus).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)})
)

var metricConnEvents = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_bus_connection_events_total", Help: "NATS connection events of the clustered bus (disconnect, reconnect, error)."},
	[]string{"event"})

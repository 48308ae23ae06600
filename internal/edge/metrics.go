package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricHLS counts HLS requests this node answered, by kind and status
// code: with a cache in front, the origin should see about one part
// request per part, whatever the audience.
var metricHLS = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_hls_requests_total", Help: "HLS requests answered, by kind (playlist, blocking_playlist, part, segment, init) and status code.",
}, []string{"kind", "code"})

// metricRouted counts joins by where their media URLs point: this edge
// (self) or another with more headroom (other).
var metricRouted = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_joins_routed_total", Help: "Joins answered with media URLs on this edge (self) or another edge with more headroom (other).",
}, []string{"to"})

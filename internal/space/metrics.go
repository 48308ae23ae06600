package space

import (
	"sync"
	"time"

	"github.com/onair-live/onair/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricStartDelay is what a host waits for: from "start" to the first
// program frame reaching the recording (the show is on air).
var metricStartDelay = promauto.NewHistogram(prometheus.HistogramOpts{
	Name: "onair_space_start_delay_seconds", Help: "From a space's start to its first program frame recorded.",
	Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}})

// spaceCollector counts the spaces of this origin's managers by state at
// scrape time, and those due but not started (an alert: nobody pressed
// start, or the host never came).
type spaceCollector struct {
	mu       sync.Mutex
	managers map[*Manager]struct{}
}

var (
	spaces     = &spaceCollector{managers: make(map[*Manager]struct{})}
	descSpaces = prometheus.NewDesc("onair_spaces", "Spaces on this origin, by state (scheduled, live, ended).",
		[]string{"state"}, nil)
	descOverdue = prometheus.NewDesc("onair_spaces_overdue",
		"Scheduled spaces whose start time has passed without going live.", nil, nil)
)

func init() { prometheus.MustRegister(spaces) }

func (c *spaceCollector) add(m *Manager) {
	c.mu.Lock()
	c.managers[m] = struct{}{}
	c.mu.Unlock()
}

func (c *spaceCollector) remove(m *Manager) {
	c.mu.Lock()
	delete(c.managers, m)
	c.mu.Unlock()
}

func (c *spaceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSpaces
	ch <- descOverdue
}

func (c *spaceCollector) Collect(ch chan<- prometheus.Metric) {
	count := map[store.State]float64{store.Scheduled: 0, store.Live: 0, store.Ended: 0}
	overdue := 0.0
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for m := range c.managers {
		list, err := m.st.Spaces()
		if err != nil {
			continue
		}
		for _, sp := range list {
			count[sp.State]++
			if sp.State == store.Scheduled && !sp.StartsAt.IsZero() && sp.StartsAt.Before(now) {
				overdue++
			}
		}
	}
	for state, n := range count {
		ch <- prometheus.MustNewConstMetric(descSpaces, prometheus.GaugeValue, n, string(state))
	}
	ch <- prometheus.MustNewConstMetric(descOverdue, prometheus.GaugeValue, overdue)
}

package line

import "github.com/onair-live/onair/internal/control"

// EdgeCapacity is a keeper's Capacity from the control plane's fresh load
// reports (pass Plane.Reports): the sum of the healthy edges' admit rates,
// and whether every one of them is full. With no healthy edge, nobody can
// be let in anywhere: the lines stop.
func EdgeCapacity(reports func() []control.Report) func() (float64, bool) {
	return func() (float64, bool) {
		rate, edges, full := 0.0, 0, 0
		for _, r := range reports() {
			if r.Role != "edge" || !r.Healthy {
				continue
			}
			edges++
			rate += r.AdmitRate
			if r.Capacity > 0 && r.Total() >= r.Capacity {
				full++
			}
		}
		return rate, full == edges
	}
}

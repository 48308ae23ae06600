package line

import "github.com/onair-live/onair/internal/control"

// EdgeCapacity is a keeper's Capacity from the control plane's fresh load
// reports (pass Plane.Reports): the sum of the admit rates of the healthy
// edges that draw from the shared lines (not of one admitting from its
// own line: see Client.Local), and whether every healthy edge is full.
// Before any edge has reported (a cluster just started, or every report
// lost with a NATS server), the lines move at a lone node's start rate
// rather than stop: the edge that asks is there, and its own controller
// still bounds what it lets in.
func EdgeCapacity(reports func() []control.Report) func() (float64, bool) {
	return func() (float64, bool) {
		rate, edges, full := 0.0, 0, 0
		for _, r := range reports() {
			if r.Role != "edge" || !r.Healthy {
				continue
			}
			edges++
			if !r.LineLocal {
				rate += r.AdmitRate
			}
			if r.Capacity > 0 && r.Total() >= r.Capacity {
				full++
			}
		}
		if edges == 0 {
			return unknownRate, false
		}
		return rate, full == edges
	}
}

// unknownRate is the lines' pace while no edge has reported: gate's
// default start rate.
const unknownRate = 500

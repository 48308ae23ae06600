package gate

// Status is the gate's state for the host port's /gate.
type Status struct {
	Mode        Mode    `json:"mode"`
	UnderAttack bool    `json:"under_attack"`
	AdmitRate   float64 `json:"admit_rate"`
	Waiting     uint64  `json:"waiting"`
	Listeners   int     `json:"listeners"`
	Capacity    int     `json:"capacity"`
	CPU         float64 `json:"cpu"`
	Rejects     int64   `json:"rejects_last_second"`
	Difficulty  int     `json:"pow_difficulty"`
	TrackedKeys int     `json:"rate_limit_keys"`
}

// Status reports the gate's state.
func (g *Gate) Status() Status {
	g.mu.Lock()
	l := g.last
	g.mu.Unlock()
	keys := 0
	for _, lim := range g.limits {
		keys += lim[0].Len() + lim[1].Len()
	}
	return Status{Mode: g.mode.Load().(Mode), UnderAttack: g.UnderAttack(), AdmitRate: g.admit.Rate(),
		Waiting: g.admit.Waiting(), Listeners: l.Listeners, Capacity: g.cfg.Capacity, CPU: l.CPU,
		Rejects: g.det.last.Load(), Difficulty: g.difficulty(), TrackedKeys: keys}
}

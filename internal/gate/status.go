package gate

// Status is the gate's state for the host port's /gate.
type Status struct {
	Mode        Mode    `json:"mode"`
	UnderAttack bool    `json:"under_attack"`
	AdmitRate   float64 `json:"admit_rate"` // this node's own
	LineRate    float64 `json:"line_rate"`  // the line's: the node's, or a shared line's
	Waiting     uint64  `json:"waiting"`
	Reclaimed   uint64  `json:"admissions_passed_on"` // unclaimed numbers whose admission went to the next in line
	Listeners   int     `json:"listeners"`
	Capacity    int     `json:"capacity"`
	CPU         float64 `json:"cpu"`
	Rejects     int64   `json:"rejects_last_second"`
	Difficulty  int     `json:"pow_difficulty"`
	TrackedKeys int     `json:"rate_limit_keys"`
}

// Status reports the gate's state.
func (g *Gate) Status() Status {
	l, _ := g.Headroom()
	keys := 0
	for _, lim := range g.limits {
		keys += lim[0].Len() + lim[1].Len()
	}
	return Status{Mode: g.mode.Load().(Mode), UnderAttack: g.UnderAttack(), AdmitRate: g.admit.Rate(), LineRate: g.line.Rate(),
		Waiting: g.line.Waiting(), Reclaimed: g.admit.Reclaimed(), Listeners: l.Listeners, Capacity: g.cfg.Capacity, CPU: l.CPU,
		Rejects: g.det.last.Load(), Difficulty: g.difficulty(), TrackedKeys: keys}
}

// Headroom is the node's last reported load and its capacity, cheaply: for
// decisions made on every join (the degrade ladder), unlike Status.
func (g *Gate) Headroom() (Load, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last, g.cfg.Capacity
}

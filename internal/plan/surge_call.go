package plan

import "time"

// The seam to internal/surge (built beside this package): the planner
// fills its Config and reads its Result through these names, so that
// until the simulator lands they stand alone, and after it they are
// aliases of surge's own types (and simulate is surge.Run).

type surgeWave struct {
	N           int
	Start, Over time.Duration
}

type surgeBots struct {
	N          int
	RatePerBot float64
	SolvesPoW  bool
	Start      time.Duration
	Over       time.Duration
}

type surgeConfig struct {
	Edges           int
	CapacityPerEdge int
	AdmitRateMax    float64
	StartRate       float64
	WarmFor         time.Duration
	CoresPerEdge    float64
	ListenerCostUS  float64
	JoinCostUS      float64
	RejectCostUS    float64
	Crowd           []surgeWave
	Bots            *surgeBots
	Poisson         bool
	Seed            int64
}

type surgeSecond struct {
	At        time.Duration
	Arrivals  int
	Admitted  int
	Line      int
	AdmitRate float64
	Held      int
	Bots      int
}

type surgeResult struct {
	Admitted, Refused, StillWaiting int
	TimeToAdmit                     struct{ P50, P95, P99, Max time.Duration }
	LongestLine                     int
	LongestLineAt                   time.Duration
	WaitedOverMinute                int
	AllAdmittedAt                   time.Duration
	BotRequests, BotAdmitted        int
	BotRejectCPUSeconds             float64
	BotRejectCoresPeak              float64
	UnderAttackAt                   time.Duration
	Timeline                        []surgeSecond
}

// simulate runs the surge model; nil until internal/surge is in.
var simulate func(surgeConfig) (surgeResult, error)

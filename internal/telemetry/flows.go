package telemetry

import (
	"sync/atomic"
	"time"
)

// Flows follows joins through to listening: tickets issued, tickets first
// used for media (the flow completed), how long that took, and how long
// listeners who left had listened. A flash crowd completes its flows; bots
// that only hammer the join API do not.
type Flows struct {
	issued  [flowRing]atomic.Int64 // tickets issued, by Unix second % flowRing
	started [flowRing]atomic.Int64 // of those, first used for media since (by issue second)
	now     atomic.Int64           // tickets first used this second
	toMedia Hist
	left    [5]atomic.Int64 // departures by time listened: <10 s, <1 min, <10 min, <1 h, longer
}

const (
	flowRing = 64
	// flowWindow is how long after its issue a ticket's first use counts
	// toward its second's completion share.
	flowWindow = 10
)

// Issued counts a ticket issued to a new listener at now.
func (f *Flows) Issued(now time.Time) { f.issued[now.Unix()%flowRing].Add(1) }

// Started counts a ticket issued at issued first used for media at now.
func (f *Flows) Started(issued, now time.Time) {
	f.now.Add(1)
	f.toMedia.Observe(now.Sub(issued))
	if age := now.Unix() - issued.Unix(); age >= 0 && age < flowRing-4 {
		f.started[issued.Unix()%flowRing].Add(1)
	}
}

// Left counts a listener who leaves after listening for d.
func (f *Flows) Left(d time.Duration) {
	i := 4
	switch {
	case d < 10*time.Second:
		i = 0
	case d < time.Minute:
		i = 1
	case d < 10*time.Minute:
		i = 2
	case d < time.Hour:
		i = 3
	}
	f.left[i].Add(1)
}

// FlowsRecord is one second of flows.
type FlowsRecord struct {
	Issued     int64     `json:"tickets_issued"`
	Started    int64     `json:"started"`     // tickets first used for media this second
	ToMediaMS  Quantiles `json:"to_media_ms"` // from ticket to first media request
	Left       [5]int64  `json:"left_after"`  // listeners who left, by time listened: <10 s, <1 min, <10 min, <1 h, more
	Cohort     int64     `json:"cohort_t"`    // the second whose tickets the completion share is about
	CohortN    int64     `json:"cohort_issued"`
	Completion float64   `json:"completion"` // share of the cohort's tickets used for media within 10 s (1 when none)
	Challenges [2]int64  `json:"challenges"` // proofs of work issued, solved (this second)
	Queue      [2]int64  `json:"queue"`      // places in line given, and joins admitted from the line
}

// take closes second t (the gate's counts come from the caller).
func (f *Flows) take(t int64) FlowsRecord {
	r := FlowsRecord{Issued: f.issued[t%flowRing].Load(), Started: f.now.Swap(0), ToMediaMS: f.toMedia.Take()}
	for i := range f.left {
		r.Left[i] = f.left[i].Swap(0)
	}
	r.Cohort = t - flowWindow
	c := r.Cohort % flowRing
	r.CohortN = f.issued[c].Load()
	r.Completion = 1
	if r.CohortN > 0 {
		r.Completion = min(1, float64(f.started[c].Load())/float64(r.CohortN))
	}
	// The slots a few seconds ahead are reused next: clear them now, well
	// before anyone counts into them.
	next := (t + 2) % flowRing
	f.issued[next].Store(0)
	f.started[next].Store(0)
	return r
}

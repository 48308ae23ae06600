package gate

import (
	"fmt"
	"sync/atomic"
	"time"
)

// detector watches the share of requests the gate rejects (rate limits,
// bad tickets, bad proofs, connection caps): a flash crowd joins at normal
// per-source rates with valid tickets; an attack does not. It turns under
// attack after a few bad seconds (one, if it is overwhelming) and back
// after a quiet minute.
type detector struct {
	rejects, passes atomic.Int64
	bad             int // consecutive bad seconds
	calm            time.Time
	on              bool
	last            atomic.Int64 // rejects in the last second
	lastShare       float64      // their share of the second's decisions
}

const (
	attackRejects = 200 // rejects per second that look like an attack...
	attackShare   = 0.5 // ...when they are at least this share of requests
	attackSeconds = 3
	// An overwhelming second (this many rejects, nearly all requests) is
	// not waited out: while the detector counted three of them the bots'
	// joins within the per-source limits would be let in.
	floodRejects = 20 * attackRejects
	floodShare   = 0.9
	calmDown     = time.Minute
)

func (d *detector) reject() { d.rejects.Add(1) }
func (d *detector) pass()   { d.passes.Add(1) }
func (d *detector) rate() float64 {
	return float64(d.last.Load())
}

// tick closes one second and returns the verdict.
func (d *detector) tick(now time.Time) bool {
	rej, ok := d.rejects.Swap(0), d.passes.Swap(0)
	d.last.Store(rej)
	d.lastShare = 0
	if rej+ok > 0 {
		d.lastShare = float64(rej) / float64(rej+ok)
	}
	if rej >= attackRejects && float64(rej) >= attackShare*float64(rej+ok) {
		d.bad++
		d.calm = now.Add(calmDown)
	} else {
		d.bad = 0
	}
	flood := rej >= floodRejects && float64(rej) >= floodShare*float64(rej+ok)
	switch {
	case d.bad >= attackSeconds, flood:
		d.on = true
	case d.on && now.After(d.calm):
		d.on = false
	}
	return d.on
}

// why says what the detector saw in its last second, for the receipts.
func (d *detector) why() string {
	state := "attack over (a calm minute)"
	if d.on {
		state = "under attack"
	}
	return fmt.Sprintf("%s: %d rejects in the last second, %.0f%% of decisions", state, d.last.Load(), 100*d.lastShare)
}

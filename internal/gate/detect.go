package gate

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"net/netip"
	"sync/atomic"
	"time"
)

// detector watches the share of requests the gate rejects (rate limits,
// bad tickets, bad proofs, connection caps): a flash crowd joins at normal
// per-source rates with valid tickets; an attack does not. It turns under
// attack after a few bad seconds (one, if it is overwhelming) and back
// after a quiet minute, but only when the rejects come from many networks:
// a flood from one address or a few networks is already contained by the
// per-source limits, and is no reason to make every listener pay a proof
// of work. The networks are counted in a bitmap (linear counting: one
// atomic OR per reject, exact enough in the tens to hundreds).
type detector struct {
	seed            maphash.Seed
	spread          [spreadBits / 64]atomic.Uint64 // networks rejected this second, hashed
	lastSpread      int                            // networks the last second's rejects came from
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
	// attackSpread is how many networks (/24, /48) the rejects of a bad
	// second must come from.
	attackSpread = 32
	spreadBits   = 4096
)

// reject counts a rejected request from network p (an invalid prefix: a
// source not known, which adds to no network).
func (d *detector) reject(p netip.Prefix) {
	d.rejects.Add(1)
	if !p.IsValid() {
		return
	}
	b := maphash.Comparable(d.seed, p) % spreadBits
	w, bit := &d.spread[b/64], uint64(1)<<(b%64)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// networks estimates the networks rejected since the last call, and
// starts counting again.
func (d *detector) networks() int {
	zeros := 0
	for i := range d.spread {
		zeros += 64 - bits.OnesCount64(d.spread[i].Swap(0))
	}
	if zeros == 0 {
		return spreadBits * 8 // saturated: thousands
	}
	return int(math.Round(-spreadBits * math.Log(float64(zeros)/spreadBits)))
}
func (d *detector) pass() { d.passes.Add(1) }
func (d *detector) rate() float64 {
	return float64(d.last.Load())
}

// tick closes one second and returns the verdict.
func (d *detector) tick(now time.Time) bool {
	rej, ok := d.rejects.Swap(0), d.passes.Swap(0)
	d.last.Store(rej)
	d.lastSpread = d.networks()
	spread := d.lastSpread >= attackSpread
	d.lastShare = 0
	if rej+ok > 0 {
		d.lastShare = float64(rej) / float64(rej+ok)
	}
	if spread && rej >= attackRejects && float64(rej) >= attackShare*float64(rej+ok) {
		d.bad++
		d.calm = now.Add(calmDown)
	} else {
		d.bad = 0
	}
	flood := spread && rej >= floodRejects && float64(rej) >= floodShare*float64(rej+ok)
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
	return fmt.Sprintf("%s: %d rejects in the last second from about %d networks, %.0f%% of decisions", state, d.last.Load(), d.lastSpread, 100*d.lastShare)
}

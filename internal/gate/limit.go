// Package gate is the edge's request pipeline, cheapest check first:
// connection caps, rate limits, tickets, admission with a waiting room, proof of work.
package gate

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Limiter is a GCRA rate limiter (the token bucket's one-number form) per
// key, in a table of bounded size: a million distinct sources cost at most
// the table's memory, because an entry whose theoretical arrival time has
// passed is as good as absent and may be evicted freely.
type Limiter struct {
	epoch    time.Time     // times are kept as durations since: see Allow
	interval time.Duration // one request per interval, sustained
	burst    time.Duration // how far ahead of the schedule a key may run (burst × interval)
	shards   [64]limShard
	seed     maphash.Seed
	perShard int
}

type limShard struct {
	mu  sync.Mutex
	tat map[netip.Addr]int64 // theoretical arrival time, ns since the limiter's epoch
}

// NewLimiter allows rate requests per second per key with bursts of burst,
// tracking at most maxKeys keys.
func NewLimiter(rate float64, burst int, maxKeys int) *Limiter {
	l := &Limiter{epoch: time.Now(), interval: time.Duration(float64(time.Second) / rate), seed: maphash.MakeSeed(),
		perShard: max(1, maxKeys/64)}
	l.burst = time.Duration(burst) * l.interval
	for i := range l.shards {
		l.shards[i].tat = make(map[netip.Addr]int64)
	}
	return l
}

// Allow reports whether key (an address, or a prefix's first address) may
// make a request at now; when not, it says how long until it may. Keys are
// addresses, not strings, so the check allocates nothing per request.
// now is taken as its distance from the limiter's epoch, which for two
// readings of time.Now is on the monotonic clock: on Unix time, a step of
// the wall clock back (NTP) would put every schedule that far ahead, and
// refuse every source, the accept budget's single key included, for as long.
func (l *Limiter) Allow(key netip.Addr, now time.Time) (bool, time.Duration) {
	sh := &l.shards[maphash.Comparable(l.seed, key)%64]
	t := int64(now.Sub(l.epoch))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tat[key]
	if !ok || tat < t {
		tat = t
	}
	next := tat + int64(l.interval)
	if wait := next - t - int64(l.burst); wait > 0 {
		return false, time.Duration(wait)
	}
	if !ok && len(sh.tat) >= l.perShard {
		sh.evict(t)
	}
	sh.tat[key] = next
	return true, 0
}

// evict drops entries that are back to idle; if none is, an arbitrary
// quarter of the shard goes (map iteration order is random), which at worst
// gives those keys a fresh burst.
func (sh *limShard) evict(now int64) {
	n := 0
	for k, tat := range sh.tat {
		if tat < now {
			delete(sh.tat, k)
			n++
		}
	}
	if n > 0 {
		return
	}
	drop := len(sh.tat) / 4
	for k := range sh.tat {
		if drop == 0 {
			break
		}
		delete(sh.tat, k)
		drop--
	}
}

// Len is the number of keys tracked.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].tat)
		l.shards[i].mu.Unlock()
	}
	return n
}

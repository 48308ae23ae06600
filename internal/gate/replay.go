package gate

import (
	"hash/maphash"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// A join ticket is stateless: a valid one opens the stream for anyone who
// holds it until it expires. A ticket "replayed" is a valid ticket used by
// someone other than the listener it was issued to: stolen or shared, and
// then used from other networks, typically a botnet streaming with one
// ticket that passed admission (and its proof of work) once. The gate tells
// a listener's networks from a thief's by remembering, per ticket, the
// networks (/24 or /48) it was used from: its issuing join's first, then up
// to TicketNetworks in all (a phone moving from Wi-Fi to mobile data, or a
// dual-stack client, changes network); a use from one more network is a
// replay and is refused. The listener it was issued to is never locked out,
// because its own join's network is the first remembered. The memory is
// bounded (replayKeys entries, about 64 bytes each) and a check is one map
// lookup under a shard lock after the ticket's HMAC; when the table is full,
// expired entries go first, else an arbitrary quarter of a shard, which at
// worst lets a stolen ticket in from TicketNetworks more networks.

// TicketNetworks is how many networks one ticket may be used from.
const TicketNetworks = 4

// replayKeys bounds the tickets remembered.
const replayKeys = 1 << 18

type replayGuard struct {
	seed   maphash.Seed
	once   sync.Once
	shards [64]replayShard
}

type replayShard struct {
	mu sync.Mutex
	m  map[uint64]replayEntry
}

type replayEntry struct {
	until int64                  // Unix s after which the ticket is void anyway
	nets  [TicketNetworks]uint64 // hashes of the networks seen (0: free)
}

// use records that ticket id (valid until until) is used from network p and
// reports whether that is allowed.
func (g *replayGuard) use(id uint64, p netip.Prefix, until, now time.Time) bool {
	g.once.Do(func() { g.seed = maphash.MakeSeed() })
	h := maphash.Comparable(g.seed, p) | 1 // never 0, the free mark
	sh := &g.shards[id%64]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[uint64]replayEntry)
	}
	e, ok := sh.m[id]
	if !ok && len(sh.m) >= replayKeys/64 {
		sh.evict(now.Unix())
	}
	for i, n := range e.nets {
		switch n {
		case h:
			return true
		case 0:
			e.nets[i], e.until = h, max(e.until, until.Unix())
			sh.m[id] = e
			return true
		}
	}
	return false
}

func (sh *replayShard) evict(now int64) {
	n := 0
	for k, e := range sh.m {
		if e.until < now {
			delete(sh.m, k)
			n++
		}
	}
	if n > 0 {
		return
	}
	drop := len(sh.m)/4 + 1
	for k := range sh.m {
		if drop == 0 {
			break
		}
		delete(sh.m, k)
		drop--
	}
}

// TicketFrom records that the ticket of listener id (void after until) is
// used by request r, and reports whether that is allowed: false when the
// ticket was already used from TicketNetworks other networks (a replay).
// The join that issues a ticket calls it first, so the listener's own
// network is always one of them.
func (g *Gate) TicketFrom(r *http.Request, id uint64, until time.Time) bool {
	src := RequestSource(r, g.cfg.TrustedProxies)
	return g.replay.use(id, src.Prefix, until, time.Now())
}

package gate

import (
	"hash/maphash"
	"net/http"
	"net/netip"
	"slices"
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
	until  int64                  // Unix s after which the ticket is void anyway
	nets   [TicketNetworks]uint64 // hashes of the networks seen (0: free)
	joined int64                  // Unix ms of the join that issued the ticket (0: not seen)
	used   bool                   // the ticket has been used for media (its flow completed)
}

// use records that ticket id (valid until until) is used from network p and
// reports whether that is allowed. A join records when the ticket was
// issued; the first media use reports when that was (first), for the
// receipts' flow completion: the same lookup, no second table.
func (g *replayGuard) use(id uint64, p netip.Prefix, until, now time.Time, join bool) (ok, first bool, joined time.Time) {
	g.once.Do(func() { g.seed = maphash.MakeSeed() })
	h := maphash.Comparable(g.seed, p) | 1 // never 0, the free mark
	sh := &g.shards[id%64]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[uint64]replayEntry)
	}
	e, known := sh.m[id]
	if !known && len(sh.m) >= replayKeys/64 {
		sh.evict(now.Unix())
	}
	i := slices.IndexFunc(e.nets[:], func(n uint64) bool { return n == h || n == 0 })
	if i < 0 {
		return false, false, time.Time{}
	}
	dirty := e.nets[i] == 0
	if dirty {
		e.nets[i], e.until = h, max(e.until, until.Unix())
	}
	switch {
	case join && e.joined == 0:
		e.joined, dirty = now.UnixMilli(), true
	case !join && !e.used:
		e.used, dirty, first = true, true, true
		joined = time.UnixMilli(e.joined)
	}
	if dirty {
		sh.m[id] = e
	}
	return true, first, joined
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
	ok, _, _ := g.replay.use(id, src.Prefix, until, time.Now(), true)
	return ok
}

// TicketUsed is TicketFrom for a media request: the first one of a ticket
// completes its join's flow (counted for the receipts, and the listener's
// network becomes one seen listening).
func (g *Gate) TicketUsed(r *http.Request, id uint64, until time.Time) bool {
	src := RequestSource(r, g.cfg.TrustedProxies)
	now := time.Now()
	ok, first, joined := g.replay.use(id, src.Prefix, until, now, false)
	if first {
		if joined.UnixMilli() == 0 {
			joined = now // issued before this process started (a restart): no time to media
		}
		g.tel.Flows.Started(joined, now)
		g.tel.Sources.Listened(src.Prefix)
	}
	return ok
}

// Issued records a ticket a join of space issued (a new listener's, or a
// renewal): the listener's own network becomes the first its ticket may be
// used from, and the receipts count the show's distinct sources and a new
// ticket's flow, which TicketUsed completes. One parse of the source for all.
func (g *Gate) Issued(r *http.Request, space string, id uint64, until time.Time, newcomer bool) {
	src := RequestSource(r, g.cfg.TrustedProxies)
	now := time.Now()
	g.replay.use(id, src.Prefix, until, now, true)
	g.tel.Sources.ShowJoin(space, src.Addr, src.Prefix)
	if newcomer {
		g.tel.Flows.Issued(now)
	}
}

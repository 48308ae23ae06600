package telemetry

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/axiomhq/hyperloglog"
)

// Sources watches who is asking. Every request costs one hash and two
// atomic adds into fixed tables of counters (a count sketch of one row:
// sources that share a slot are counted together, so with more sources
// than slots the rates are overestimated, never missed). Join attempts,
// far fewer, also go into exact per-second sets and per-show HyperLogLogs.
// Its methods are safe for concurrent use.
type Sources struct {
	seed  maphash.Seed
	addrs [addrSlots]atomic.Int64
	pfx   [pfxSlots]pfxSlot
	seen  *SeenBefore

	mu    sync.Mutex
	sec   joinSecond
	shows map[string]*showSources
}

const (
	addrSlots = 1 << 16 // per-address request counts
	pfxSlots  = 1 << 12 // per-prefix request counts, with the prefix
	joinCap   = 1 << 17 // distinct join sources kept exactly per second
	topN      = 5
)

type pfxSlot struct {
	n   atomic.Int64
	key atomic.Uint64 // the last prefix counted here (see prefixKey)
}

type joinSecond struct {
	addrs    map[netip.Addr]struct{}
	prefixes map[uint64]bool // prefix key → seen in an earlier show
	capped   bool
	joins    int64
}

type showSources struct{ addrs, prefixes *hyperloglog.Sketch }

// NewSources returns empty tables; seen (may be nil) says which prefixes
// listened in earlier shows.
func NewSources(seen *SeenBefore) *Sources {
	return &Sources{seed: maphash.MakeSeed(), seen: seen, shows: map[string]*showSources{}}
}

// prefixKey packs a /24 (IPv4) or /48 (IPv6) network into 64 bits: the
// top bit says IPv4, the rest are the network's bits.
func prefixKey(p netip.Prefix) uint64 {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		return 1<<63 | uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]) >> 16 &^ (1 << 63)
}

// keyPrefix is prefixKey's inverse, for showing the top talkers.
func keyPrefix(k uint64) netip.Prefix {
	if k&(1<<63) != 0 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(k >> 16), byte(k >> 8), byte(k)}), 24)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k<<16)
	return netip.PrefixFrom(netip.AddrFrom16(b), 48)
}

// Request counts one request from addr in network pfx.
func (s *Sources) Request(addr netip.Addr, pfx netip.Prefix) {
	s.addrs[maphash.Comparable(s.seed, addr)%addrSlots].Add(1)
	k := prefixKey(pfx)
	sl := &s.pfx[maphash.Comparable(s.seed, k)%pfxSlots]
	sl.n.Add(1)
	if sl.key.Load() != k {
		sl.key.Store(k)
	}
}

// JoinAttempt records a join attempt (any, even one refused at once)
// from addr in network pfx.
func (s *Sources) JoinAttempt(addr netip.Addr, pfx netip.Prefix) {
	k := prefixKey(pfx)
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := &s.sec
	sec.joins++
	if sec.addrs == nil {
		sec.addrs, sec.prefixes = map[netip.Addr]struct{}{}, map[uint64]bool{}
	}
	if len(sec.addrs) >= joinCap {
		sec.capped = true
		return
	}
	sec.addrs[addr] = struct{}{}
	if _, ok := sec.prefixes[k]; !ok {
		sec.prefixes[k] = s.seen.Has(k)
	}
}

// ShowJoin records a join of a space that exists, for the show's distinct
// sources (only known spaces: ids made up by a flood would each cost a
// sketch).
func (s *Sources) ShowJoin(space string, addr netip.Addr, pfx netip.Prefix) {
	var kb [8]byte
	binary.BigEndian.PutUint64(kb[:], prefixKey(pfx))
	ab := addr.AsSlice()
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[space]
	if sh == nil {
		sh = &showSources{addrs: hyperloglog.New14(), prefixes: hyperloglog.New14()}
		s.shows[space] = sh
	}
	sh.addrs.Insert(ab)
	sh.prefixes.Insert(kb[:])
}

// Listened records that a listener from network pfx started listening: the
// network counts as seen before in later shows.
func (s *Sources) Listened(pfx netip.Prefix) { s.seen.Add(prefixKey(pfx)) }

// EndShow forgets a show's sketches.
func (s *Sources) EndShow(space string) {
	s.mu.Lock()
	delete(s.shows, space)
	s.mu.Unlock()
}

// Seen is the filter of networks seen listening (nil when there is none).
func (s *Sources) Seen() *SeenBefore { return s.seen }

// SourcesRecord is one second of who asked.
type SourcesRecord struct {
	JoinAddrs      int64                  `json:"join_addrs"`          // distinct addresses among this second's join attempts
	JoinPrefixes   int64                  `json:"join_prefixes"`       // distinct /24 (/48) networks among them
	Exact          bool                   `json:"exact"`               // false when more than joinCap sources joined in the second
	SeenBefore     int64                  `json:"join_prefixes_seen"`  // of JoinPrefixes, those that listened in an earlier show
	SeenBeforeShr  float64                `json:"seen_before_share"`   // SeenBefore / JoinPrefixes (1 when none joined)
	RequestSources int64                  `json:"request_sources"`     // addresses with requests this second (sketch)
	PerSource      Rates                  `json:"requests_per_source"` // requests per address this second
	Top            []Top                  `json:"top_prefixes"`        // the networks with the most requests
	Shows          map[string]ShowSources `json:"shows,omitempty"`     // per live space, since its first join (HyperLogLog, ±2%)
	SeenFilter     uint32                 `json:"seen_filter_size"`    // networks in the seen-before filter (0: no earlier show to compare with)
}

// Rates is a distribution of per-source request counts in one second.
type Rates struct {
	P50 int64 `json:"p50"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

// Top is one network and its requests in the second.
type Top struct {
	Prefix   string `json:"prefix"`
	Requests int64  `json:"requests"`
}

// ShowSources is a show's distinct join sources so far.
type ShowSources struct {
	Addrs    uint64 `json:"addrs"`
	Prefixes uint64 `json:"prefixes"`
}

// Take closes the second.
func (s *Sources) Take() SourcesRecord {
	var r SourcesRecord
	r.PerSource, r.RequestSources = s.takeRates()
	r.Top = s.takeTop()
	s.mu.Lock()
	sec := s.sec
	s.sec = joinSecond{}
	r.Shows = make(map[string]ShowSources, len(s.shows))
	for id, sh := range s.shows {
		r.Shows[id] = ShowSources{Addrs: sh.addrs.Estimate(), Prefixes: sh.prefixes.Estimate()}
	}
	s.mu.Unlock()
	r.JoinAddrs, r.JoinPrefixes, r.Exact = int64(len(sec.addrs)), int64(len(sec.prefixes)), !sec.capped
	for _, seen := range sec.prefixes {
		if seen {
			r.SeenBefore++
		}
	}
	r.SeenFilter = s.seen.Len()
	r.SeenBeforeShr = 1
	if r.JoinPrefixes > 0 {
		r.SeenBeforeShr = float64(r.SeenBefore) / float64(r.JoinPrefixes)
	}
	return r
}

func (s *Sources) takeRates() (Rates, int64) {
	var counts []int64
	for i := range s.addrs {
		if n := s.addrs[i].Swap(0); n > 0 {
			counts = append(counts, n)
		}
	}
	if len(counts) == 0 {
		return Rates{}, 0
	}
	slices.Sort(counts)
	at := func(p float64) int64 { return counts[int(p*float64(len(counts)-1))] }
	return Rates{P50: at(0.5), P99: at(0.99), Max: counts[len(counts)-1]}, int64(len(counts))
}

func (s *Sources) takeTop() []Top {
	var top []Top
	for i := range s.pfx {
		n := s.pfx[i].n.Swap(0)
		if n == 0 {
			continue
		}
		if len(top) < topN || n > top[len(top)-1].Requests {
			t := Top{Prefix: keyPrefix(s.pfx[i].key.Load()).String(), Requests: n}
			at, _ := slices.BinarySearchFunc(top, n, func(t Top, n int64) int { return int(n - t.Requests) })
			top = slices.Insert(top, at, t)
			if len(top) > topN {
				top = top[:topN]
			}
		}
	}
	return top
}

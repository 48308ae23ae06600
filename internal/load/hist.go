package load

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histograms have fixed log-linear buckets: exact below 32, then 32 buckets
// per power of two (about 3% resolution) up to 2^41. They take the same
// memory whatever the number of samples, merge by adding counts (so child
// processes can be merged exactly) and are safe for concurrent use.
const (
	subBits    = 5
	subCount   = 1 << subBits
	maxShift   = 36 // values above 64<<maxShift (~4.4e12: 51 days in µs) are clamped
	numBuckets = subCount * (maxShift + 2)
)

// bucketOf returns the bucket index of v (negative values count as 0).
func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	if shift > maxShift {
		return numBuckets - 1
	}
	return subCount*(shift+1) + int(uint64(v)>>shift) - subCount
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := i/subCount - 1
	mant := int64(subCount + i%subCount)
	return mant << shift, (mant+1)<<shift - 1
}

// histShards spreads concurrent writers over independent copies so that the
// listeners of a big run do not all hit the same cache lines.
const histShards = 8

type histShard struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
	_      [64]byte
}

// Hist is a concurrent fixed-bucket histogram. Record with a shard hint (the
// listener index) to avoid contention.
type Hist struct {
	shards [histShards]histShard
}

// Record adds one sample v (clamped at 0) using shard hint h.
func (h *Hist) Record(hint int, v int64) {
	if v < 0 {
		v = 0
	}
	s := &h.shards[uint(hint)%histShards]
	s.counts[bucketOf(v)].Add(1)
	s.sum.Add(v)
	for {
		m := s.max.Load()
		if v <= m || s.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Snapshot returns the current counts.
func (h *Hist) Snapshot() HistSnap {
	var s HistSnap
	for b := range numBuckets {
		for i := range h.shards {
			if c := h.shards[i].counts[b].Load(); c != 0 {
				s.add(b, c)
			}
		}
	}
	for i := range h.shards {
		s.Sum += h.shards[i].sum.Load()
		s.Max = max(s.Max, h.shards[i].max.Load())
	}
	return s
}

// HistSnap is a histogram's counts at one time: mergeable and serializable.
// Buckets are sparse: [index, count] pairs in increasing index order.
type HistSnap struct {
	N       uint64      `json:"n"`
	Sum     int64       `json:"sum"`
	Max     int64       `json:"max"`
	Buckets [][2]uint64 `json:"buckets,omitempty"`
}

func (s *HistSnap) add(b int, c uint64) {
	s.N += c
	if n := len(s.Buckets); n > 0 && s.Buckets[n-1][0] == uint64(b) {
		s.Buckets[n-1][1] += c
		return
	}
	s.Buckets = append(s.Buckets, [2]uint64{uint64(b), c})
}

// Merge adds o's counts to s.
func (s *HistSnap) Merge(o HistSnap) {
	var out [][2]uint64
	i, j := 0, 0
	for i < len(s.Buckets) || j < len(o.Buckets) {
		switch {
		case j == len(o.Buckets) || (i < len(s.Buckets) && s.Buckets[i][0] < o.Buckets[j][0]):
			out = append(out, s.Buckets[i])
			i++
		case i == len(s.Buckets) || o.Buckets[j][0] < s.Buckets[i][0]:
			out = append(out, o.Buckets[j])
			j++
		default:
			out = append(out, [2]uint64{s.Buckets[i][0], s.Buckets[i][1] + o.Buckets[j][1]})
			i++
			j++
		}
	}
	s.Buckets = out
	s.N += o.N
	s.Sum += o.Sum
	s.Max = max(s.Max, o.Max)
}

// Quantile returns the value at quantile q (0..1): the middle of the bucket
// holding it, never more than the largest sample.
func (s HistSnap) Quantile(q float64) int64 {
	if s.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.N)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for _, b := range s.Buckets {
		seen += b[1]
		if seen >= rank {
			lo, hi := bucketRange(int(b[0]))
			return min(lo+(hi-lo)/2, s.Max)
		}
	}
	return s.Max
}

// Mean returns the average sample.
func (s HistSnap) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.N)
}

// Summary is what reports show of a histogram, in the metric's unit.
type Summary struct {
	Unit string  `json:"unit"`
	N    uint64  `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Summarize converts a snapshot to a summary, dividing raw values by scale
// (1000 turns µs into ms).
func (s HistSnap) Summarize(unit string, scale float64) Summary {
	f := func(v int64) float64 { return float64(v) / scale }
	return Summary{Unit: unit, N: s.N, Mean: s.Mean() / scale, P50: f(s.Quantile(0.50)),
		P95: f(s.Quantile(0.95)), P99: f(s.Quantile(0.99)), Max: f(s.Max)}
}

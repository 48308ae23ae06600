package telemetry

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/onair-live/onair/internal/receipts"
)

// SeenBefore is the persistent filter of networks whose listeners actually
// listened in earlier shows (a Bloom filter in the data dir: a flash crowd
// of returning listeners comes mostly from networks in it; a botnet's new
// sources do not). Networks that listen during a show are kept apart and
// enter the filter when a show ends (Commit), so "seen before" always means
// an earlier show.
type SeenBefore struct {
	path string

	mu      sync.RWMutex
	before  *bloom.BloomFilter
	pending *bloom.BloomFilter
	added   int // pending networks (with repeats) since the last Commit
}

// Filter size: a million networks at a 0.1% false-positive rate (1.8 MB).
const (
	seenCapacity = 1_000_000
	seenFP       = 0.001
)

// OpenSeenBefore loads the filter at path, or starts an empty one when
// there is none. A file that cannot be read is an error, not silently a
// new filter: it is evidence.
func OpenSeenBefore(path string) (*SeenBefore, error) {
	s := &SeenBefore{path: path, before: bloom.NewWithEstimates(seenCapacity, seenFP),
		pending: bloom.NewWithEstimates(seenCapacity, seenFP)}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := s.before.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("seen-before filter %s: %w", path, err)
	}
	if s.before.Cap() != s.pending.Cap() || s.before.K() != s.pending.K() {
		return nil, fmt.Errorf("seen-before filter %s: unexpected size", path)
	}
	return s, nil
}

func keyBytes(k uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return b[:]
}

// Has reports whether network k listened in an earlier show.
func (s *SeenBefore) Has(k uint64) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.before.Test(keyBytes(k))
}

// Add records that network k listened in the current show.
func (s *SeenBefore) Add(k uint64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.pending.Add(keyBytes(k))
	s.added++
	s.mu.Unlock()
}

// Commit moves the networks of the shows so far into the filter and saves
// it (atomically: a crash leaves the old file or the new one).
func (s *SeenBefore) Commit() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.added > 0 {
		if err := s.before.Merge(s.pending); err != nil {
			s.mu.Unlock()
			return err
		}
		s.pending.ClearAll()
		s.added = 0
	}
	b, err := s.before.MarshalBinary()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return receipts.WriteFileAtomic(s.path, b, 0o644)
}

// Len estimates how many networks the filter holds.
func (s *SeenBefore) Len() uint32 {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.before.ApproximatedSize()
}

package line

import "time"

// spentChallenges are the solved proof-of-work challenges some edge let a
// join through with: one solution is one join across every edge, not one
// per edge. A challenge expires two minutes after it was given, so an id
// is kept that long after its first use; past maxSpent ids (a million,
// 16 MB) the oldest half goes, which at worst lets those be used once more
// at each other edge (each edge's own spent set still holds).
type spentChallenges struct {
	at    map[uint64]time.Time
	order []uint64 // ids in the order spent, for expiry
}

const (
	spentFor = 2 * time.Minute // the gate's challenge TTL
	maxSpent = 1 << 20
)

func (s *spentChallenges) spend(id uint64, now time.Time) reply {
	if s.at == nil {
		s.at = make(map[uint64]time.Time)
	}
	if _, used := s.at[id]; used {
		return reply{status: statusClaimed}
	}
	if len(s.at) >= maxSpent {
		s.drop(len(s.order) / 2)
	}
	s.at[id] = now
	s.order = append(s.order, id)
	return reply{}
}

// expire forgets the ids spent longer ago than any challenge lives.
func (s *spentChallenges) expire(now time.Time) {
	n := 0
	for n < len(s.order) && now.Sub(s.at[s.order[n]]) > spentFor {
		n++
	}
	s.drop(n)
}

func (s *spentChallenges) drop(n int) {
	for _, id := range s.order[:n] {
		delete(s.at, id)
	}
	s.order = s.order[n:]
}

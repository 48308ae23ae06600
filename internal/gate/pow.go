package gate

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// Proof of work: under attack, a join must first solve a challenge: find a
// nonce such that SHA-256(challenge + ":" + nonce) starts with difficulty
// zero bits. A browser pays about a second; a botnet pays that per join.
// Challenges are signed (no state until solved), expire, and are single use.

// challengeTTL is how long a challenge may be worked on.
const challengeTTL = 2 * time.Minute

// Challenge is what a client must solve.
type Challenge struct {
	Token      string `json:"challenge"`
	Difficulty int    `json:"difficulty"` // leading zero bits
	Expires    int64  `json:"expires_ms"`
}

func (g *Gate) newChallenge(space string, difficulty int, now time.Time) Challenge {
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], g.ids.Add(1))
	exp := now.Add(challengeTTL)
	return Challenge{Token: g.sign.seal(kindChallenge, space, binary.BigEndian.Uint64(id[:]), uint64(difficulty), unixMilli(exp)),
		Difficulty: difficulty, Expires: exp.UnixMilli()}
}

// LeadingZeroBits counts the zero bits at the start of SHA-256(challenge ":" nonce).
func LeadingZeroBits(challenge, nonce string) int {
	return zeroBits(sha256.Sum256([]byte(challenge + ":" + nonce)))
}

func zeroBits(sum [32]byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// Solve finds a nonce for a challenge, as a legitimate client does (tests,
// the load generator). It reuses one buffer: no allocation per try.
func Solve(challenge string, difficulty int) string {
	buf := make([]byte, 0, len(challenge)+24)
	buf = append(append(buf, challenge...), ':')
	for i := uint64(0); ; i++ {
		b := strconv.AppendUint(buf, i, 10)
		if zeroBits(sha256.Sum256(b)) >= difficulty {
			return string(b[len(buf):])
		}
	}
}

// checkSolution verifies a solved challenge and spends it.
func (g *Gate) checkSolution(space, challenge, nonce string, now time.Time) bool {
	f, err := g.sign.open(challenge, kindChallenge, space, 3)
	if err != nil || len(nonce) > 32 {
		return false
	}
	id, difficulty, exp := f[0], int(f[1]), int64(f[2])
	if now.UnixMilli() > exp || LeadingZeroBits(challenge, nonce) < difficulty {
		return false
	}
	if !g.spent.spend(id, exp) {
		return false
	}
	if sp, ok := g.line.(Spender); ok {
		return sp.Spend(space, id, now)
	}
	return true
}

// spentSet remembers solved challenges until they expire, so each is used
// once; its size is bounded by the challenges solved in one TTL.
type spentSet struct {
	mu  sync.Mutex
	ids map[uint64]int64 // id → expiry, Unix ms
}

func (s *spentSet) spend(id uint64, exp int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = make(map[uint64]int64)
	}
	if _, used := s.ids[id]; used {
		return false
	}
	if len(s.ids) > 1<<20 {
		now := time.Now().UnixMilli()
		for k, e := range s.ids {
			if e < now {
				delete(s.ids, k)
			}
		}
	}
	s.ids[id] = exp
	return true
}

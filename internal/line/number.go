package line

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

// A number says which line it is a place in: bits 0-39 are its place
// (seq), bits 40-61 a random tag of the line, bit 62 set for a keeper's
// line (clear for an edge's fallback). A line that is asked about another
// line's number says it is stale, and its holder draws again: a keeper that
// failed over, or an edge's fallback, never mistakes numbers of another
// for its own. Bit 63 stays clear (the gate's spent set uses it).
const (
	seqBits = 40
	seqMask = 1<<seqBits - 1
	tagBits = 22
	keptBit = 1 << 62
)

// newTag is a random nonzero line tag, in place, with bit 62 if kept.
func newTag(kept bool) uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	t := binary.BigEndian.Uint64(b[:])&(1<<tagBits-1) | 1
	if kept {
		return keptBit | t<<seqBits
	}
	return t << seqBits
}

// tagged is an Admission whose numbers carry its line's tag.
type tagged struct {
	adm *gate.Admission
	tag uint64
}

func newTagged(cfg gate.AdmitConfig, kept bool, now time.Time) tagged {
	return tagged{adm: gate.NewAdmission(cfg, now), tag: newTag(kept)}
}

func (l tagged) owns(n uint64) bool { return n&^seqMask == l.tag }

func (l tagged) join(now time.Time) gate.Ticket {
	t := l.adm.Join(now)
	t.Number |= l.tag
	return t
}

func (l tagged) check(n uint64, now time.Time) gate.Ticket {
	if !l.owns(n) {
		return gate.Ticket{Number: n, Stale: true}
	}
	t := l.adm.Check(n&seqMask, now)
	t.Number = n
	return t
}

// claimedSet remembers which admitted places (seq) were used, so a served
// queue token admits once across every edge. A bit per place drawn, from
// base on: the places served more than a queue token's life ago are
// dropped, since no token for them can still be valid (a token is only
// ever issued while its place waits).
type claimedSet struct {
	base  uint64 // the place of words[0]'s first bit, a multiple of 64
	words []uint64
}

// claim marks seq used and says whether it was free. A place below base
// is forgotten and reported used.
func (c *claimedSet) claim(seq uint64) bool {
	if seq < c.base {
		return false
	}
	i := (seq - c.base) / 64
	for uint64(len(c.words)) <= i {
		c.words = append(c.words, 0)
	}
	bit := uint64(1) << (seq % 64)
	if c.words[i]&bit != 0 {
		return false
	}
	c.words[i] |= bit
	return true
}

// forget drops the places below seq.
func (c *claimedSet) forget(seq uint64) {
	if seq <= c.base {
		return
	}
	k := (seq - c.base) / 64
	if k >= uint64(len(c.words)) {
		c.words, c.base = c.words[:0], seq&^63
		return
	}
	c.words = c.words[k:]
	c.base += 64 * k
}

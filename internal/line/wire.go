package line

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"math"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

// The wire format, big-endian. Requests go to onair.line.<space> (a ping to
// onair.line); every message starts with a version and a kind byte so a
// later version or a foreign message is told apart and dropped, and ends
// with a MAC under a key derived from the cluster's token key, so nobody
// outside the cluster can draw numbers or answer for the keeper.
//
//	request: version kind(draw|check|ping|spend) sent(i64 Unix ms) number(u64) mac(16)
//	reply:   version kind=reply status number position eta(f64) waiting(u64) rate(f64) mac(16)
//
// A request's MAC covers its subject and body; a reply's covers the
// request's MAC and its own body, so a reply answers one request only.
const (
	wireVersion = 1
	kindDraw    = 1
	kindCheck   = 2
	kindPing    = 3
	kindReply   = 4
	kindSpend   = 5 // a solved proof-of-work challenge's id, spent once across edges

	statusOK      = 0
	statusStale   = 1
	statusClaimed = 2
	statusFull    = 3 // the keeper holds too many lines: decide this one locally

	macLen     = 16
	requestLen = 2 + 8 + 8 + macLen
	replyLen   = 3 + 8 + 8 + 8 + 8 + 8 + macLen

	// freshness bounds how old (or how far ahead, for clocks apart) a
	// request may be: a recorded one replays only within it.
	freshness = 30 * time.Second
)

// Subjects.
const (
	subjectPrefix = "onair.line."
	pingSubject   = "onair.line"
)

var (
	errLength  = errors.New("line: message of the wrong length")
	errVersion = errors.New("line: unknown wire version or kind")
	errField   = errors.New("line: field out of range")
	errMAC     = errors.New("line: MAC does not verify (a foreign message)")
	errStale   = errors.New("line: request too old or too far ahead")
)

type request struct {
	kind   byte
	sent   time.Time
	number uint64
	mac    []byte
}

type reply struct {
	status  byte
	ticket  gate.Ticket
	waiting uint64
	rate    float64
}

// macKey derives the line's MAC key from the cluster's token key, under a
// label of its own.
func macKey(clusterKey []byte) ([]byte, error) {
	if len(clusterKey) < gate.MinTokenKey {
		return nil, errors.New("line: the cluster token key is missing or shorter than 16 bytes")
	}
	return hkdf.Key(sha256.New, clusterKey, nil, "onair line v1", 32)
}

type macer struct{ h hash.Hash }

func newMacer(key []byte) *macer { return &macer{h: hmac.New(sha256.New, key)} }

// sum is HMAC(key, a || b) truncated; a macer is not safe for concurrent use.
func (m *macer) sum(a, b []byte) []byte {
	m.h.Reset()
	m.h.Write(a)
	m.h.Write(b)
	return m.h.Sum(nil)[:macLen]
}

func appendRequest(dst []byte, m *macer, subject string, kind byte, number uint64, now time.Time) []byte {
	start := len(dst)
	dst = append(dst, wireVersion, kind)
	dst = binary.BigEndian.AppendUint64(dst, uint64(now.UnixMilli()))
	dst = binary.BigEndian.AppendUint64(dst, number)
	return append(dst, m.sum([]byte(subject), dst[start:])...)
}

// decodeRequest parses a request's fields; verify checks its MAC.
func decodeRequest(b []byte) (request, error) {
	if len(b) != requestLen {
		return request{}, errLength
	}
	if b[0] != wireVersion || b[1] < kindDraw || b[1] > kindSpend || b[1] == kindReply {
		return request{}, errVersion
	}
	ms := int64(binary.BigEndian.Uint64(b[2:]))
	if ms <= 0 {
		return request{}, errField
	}
	return request{kind: b[1], sent: time.UnixMilli(ms), number: binary.BigEndian.Uint64(b[10:]), mac: b[requestLen-macLen:]}, nil
}

// verify checks a decoded request b (on subject) is the cluster's and fresh.
func verify(m *macer, subject string, b []byte, q request, now time.Time) error {
	if !hmac.Equal(q.mac, m.sum([]byte(subject), b[:requestLen-macLen])) {
		return errMAC
	}
	if d := now.Sub(q.sent); d > freshness || d < -freshness {
		return errStale
	}
	return nil
}

func appendReply(dst []byte, m *macer, reqMAC []byte, r reply) []byte {
	start := len(dst)
	dst = append(dst, wireVersion, kindReply, r.status)
	dst = binary.BigEndian.AppendUint64(dst, r.ticket.Number)
	dst = binary.BigEndian.AppendUint64(dst, r.ticket.Position)
	dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(r.ticket.ETA))
	dst = binary.BigEndian.AppendUint64(dst, r.waiting)
	dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(r.rate))
	return append(dst, m.sum(reqMAC, dst[start:])...)
}

// decodeReply parses and checks the keeper's reply to the request whose
// MAC is reqMAC.
func decodeReply(m *macer, reqMAC, b []byte) (reply, error) {
	if len(b) != replyLen {
		return reply{}, errLength
	}
	if b[0] != wireVersion || b[1] != kindReply {
		return reply{}, errVersion
	}
	if !hmac.Equal(b[replyLen-macLen:], m.sum(reqMAC, b[:replyLen-macLen])) {
		return reply{}, errMAC
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[3+8*i:]) }
	f := func(i int) float64 { return math.Float64frombits(u(i)) }
	r := reply{status: b[2], ticket: gate.Ticket{Number: u(0), Position: u(1), ETA: f(2)}, waiting: u(3), rate: f(4)}
	if r.status > statusFull || !finite(r.ticket.ETA) || !finite(r.rate) {
		return reply{}, errField
	}
	r.ticket.Stale, r.ticket.Claimed = r.status == statusStale, r.status == statusClaimed
	return r, nil
}

// finite is a non-negative, finite float: an ETA or a rate.
func finite(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

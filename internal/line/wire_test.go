package line

import (
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

var testKey = []byte("the cluster's shared secret, 32B")

func testMacer(t testing.TB, key []byte) *macer {
	k, err := macKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return newMacer(k)
}

// A request and its reply round-trip; any byte changed, a reply to
// another request, another cluster's key, or an old request are refused.
func TestWireRoundTripAndRefusals(t *testing.T) {
	m, other := testMacer(t, testKey), testMacer(t, []byte("another cluster's secret, 32B..."))
	now := time.Now()
	subj := subjectPrefix + "show"
	req := appendRequest(nil, m, subj, kindCheck, keptBit|42, now)
	q, err := decodeRequest(req)
	if err != nil || q.kind != kindCheck || q.number != keptBit|42 || q.sent.UnixMilli() != now.UnixMilli() {
		t.Fatalf("request: %+v %v", q, err)
	}
	if err := verify(m, subj, req, q, now); err != nil {
		t.Fatal(err)
	}
	for name, fail := range map[string]error{
		"another subject": verify(m, subjectPrefix+"other", req, q, now),
		"another cluster": verify(other, subj, req, q, now),
		"replayed late":   verify(m, subj, req, q, now.Add(freshness+time.Second)),
	} {
		if fail == nil {
			t.Errorf("%s: request verified", name)
		}
	}
	r := reply{status: statusClaimed, ticket: gate.Ticket{Number: keptBit | 42, Position: 3, ETA: 1.5}, waiting: 9, rate: 2}
	rep := appendReply(nil, m, q.mac, r)
	got, err := decodeReply(m, q.mac, rep)
	if err != nil || got.ticket.Position != 3 || got.ticket.ETA != 1.5 || !got.ticket.Claimed || got.waiting != 9 || got.rate != 2 {
		t.Fatalf("reply: %+v %v", got, err)
	}
	other2 := appendRequest(nil, m, subj, kindDraw, 0, now)
	if _, err := decodeReply(m, other2[requestLen-macLen:], rep); err == nil {
		t.Error("a reply to another request accepted")
	}
	for i := range rep {
		bad := append([]byte(nil), rep...)
		bad[i] ^= 0x10
		if _, err := decodeReply(m, q.mac, bad); err == nil {
			t.Errorf("reply with byte %d changed accepted", i)
		}
	}
	for i := range req {
		bad := append([]byte(nil), req...)
		bad[i] ^= 0x10
		if q, err := decodeRequest(bad); err == nil && verify(m, subj, bad, q, now) == nil {
			t.Errorf("request with byte %d changed accepted", i)
		}
	}
	if _, err := macKey([]byte("short")); err == nil {
		t.Error("a short cluster key accepted")
	}
}

// FuzzDecodeRequest: any bytes on onair.line.* decode to a well-formed
// request or an error, and none but the cluster's own verify.
func FuzzDecodeRequest(f *testing.F) {
	m := testMacer(f, testKey)
	// A fixed clock: the fuzzing workers must make the same good request.
	now := time.UnixMilli(1_800_000_000_000)
	good := appendRequest(nil, m, subjectPrefix+"sp", kindDraw, 0, now)
	f.Add(good)
	f.Add(appendRequest(nil, m, pingSubject, kindPing, 0, now))
	f.Add([]byte{wireVersion, 9})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := decodeRequest(b)
		if err != nil {
			return
		}
		if len(b) != requestLen || q.kind < kindDraw || q.kind > kindSpend || q.kind == kindReply || len(q.mac) != macLen {
			t.Fatalf("decoded a malformed request %x: %+v", b, q)
		}
		if verify(m, subjectPrefix+"sp", b, q, now) == nil && string(b) != string(good) {
			t.Fatalf("a request the cluster never made verified: %x", b)
		}
	})
}

// FuzzDecodeReply: any bytes decode to a sane reply or an error, and only
// one the keeper signed for this request is accepted.
func FuzzDecodeReply(f *testing.F) {
	m := testMacer(f, testKey)
	reqMAC := appendRequest(nil, m, subjectPrefix+"sp", kindDraw, 0, time.UnixMilli(1_800_000_000_000))[requestLen-macLen:]
	good := appendReply(nil, m, reqMAC, reply{ticket: gate.Ticket{Number: 5, Position: 2, ETA: 0.4}, waiting: 2, rate: 5})
	f.Add(good)
	f.Add(make([]byte, replyLen))
	f.Add([]byte{wireVersion, kindReply, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReply(m, reqMAC, b)
		if err != nil {
			return
		}
		if string(b) != string(good) {
			t.Fatalf("a reply the keeper never signed accepted: %x", b)
		}
		if r.status > statusFull || !finite(r.ticket.ETA) || !finite(r.rate) {
			t.Fatalf("insane reply %+v", r)
		}
	})
}

// FuzzDecodeState: a saved line's value decodes to sane counters or an
// error, and only one the cluster saved is accepted.
func FuzzDecodeState(f *testing.F) {
	m := testMacer(f, testKey)
	key := stateKey("sp")
	good := appendState(nil, m, key, lineState{tag: keptBit | 5<<seqBits, next: 10, served: 4, settled: 2, pace: 3})
	f.Add(good)
	f.Add(make([]byte, stateLen))
	f.Add([]byte{stateVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(m, key, b)
		if err != nil {
			return
		}
		if string(b) != string(good) {
			t.Fatalf("a saved line the cluster never saved accepted: %x", b)
		}
		if s.settled > s.served || s.served > s.next || s.tag&keptBit == 0 {
			t.Fatalf("insane counters %+v", s)
		}
	})
}

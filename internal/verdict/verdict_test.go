package verdict

import (
	"testing"

	"github.com/onair-live/onair/internal/telemetry"
)

// show makes n seconds of records from t0, each shaped by fn(i).
func show(t0 int64, n int, fn func(i int, r *telemetry.Record)) []Entry {
	var out []Entry
	for i := range n {
		r := telemetry.Record{V: 1, Kind: "second", T: t0 + int64(i), Requests: map[string]telemetry.Outcomes{}}
		r.Listeners.Total = 50
		r.Requests["join"] = telemetry.Outcomes{Passed: 1}
		r.Sources.JoinAddrs, r.Sources.JoinPrefixes = 1, 1
		r.Flows.Completion = 1
		r.Node.CPU = 0.1
		fn(i, &r)
		out = append(out, Entry{Node: "n1", Index: int64(i), Record: r})
	}
	return out
}

// crowd is a second of returning listeners arriving: 200 joins from 200
// addresses in 150 networks, most seen before, nearly all then listening.
func crowd(r *telemetry.Record) {
	r.Requests["join"] = telemetry.Outcomes{Passed: 200}
	r.Joins.Admitted = 200
	r.Sources.JoinAddrs, r.Sources.JoinPrefixes, r.Sources.SeenBefore, r.Sources.SeenFilter = 200, 150, 120, 5000
	r.Flows.Issued, r.Flows.Started, r.Flows.CohortN, r.Flows.Completion = 200, 190, 200, 0.95
	r.Listeners.Arrived = 190
}

// botnet is a second of 2,000 join requests from 300 new addresses, most
// refused, plus forged tickets, and the tickets it got never used.
func botnet(r *telemetry.Record) {
	j := r.Requests["join"]
	r.Requests["join"] = telemetry.Outcomes{Passed: j.Passed + 200, Rejected: j.Rejected + 1800}
	r.Tickets = map[string]int64{"forged": 500}
	r.Sources.JoinAddrs += 300
	r.Sources.JoinPrefixes += 280
	r.Sources.SeenFilter = 5000
	r.Joins.Challenged += 150
	r.Flows.CohortN += 100
	r.Flows.Completion = float64(r.Flows.Started) / float64(r.Flows.CohortN)
}

func judge(e []Entry) Report { return Judge(Merge(e)) }

func oneWindow(t *testing.T, rep Report, class string, onset int64) Window {
	t.Helper()
	if len(rep.Windows) != 1 {
		t.Fatalf("%d windows, want 1: %+v", len(rep.Windows), rep.Windows)
	}
	w := rep.Windows[0]
	if w.Class != class || rep.Verdict != class {
		t.Fatalf("class %s (verdict %s), want %s: %s", w.Class, rep.Verdict, class, w.Summary)
	}
	if w.Onset < onset || w.Onset > onset+30 {
		t.Fatalf("onset %d, want within 30 s of %d", w.Onset, onset)
	}
	if w.Confidence <= 0.5 || len(w.Evidence) == 0 || len(w.Evidence[0].Refs) == 0 {
		t.Fatalf("weak window: %+v", w)
	}
	return w
}

const t0 = 1_800_000_000

func TestQuietShowIsNormal(t *testing.T) {
	rep := judge(show(t0, 300, func(int, *telemetry.Record) {}))
	if rep.Verdict != Normal || len(rep.Windows) != 0 || len(rep.Gaps) != 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestFlashCrowdOfReturningListeners(t *testing.T) {
	rep := judge(show(t0, 300, func(i int, r *telemetry.Record) {
		if i >= 100 && i < 140 {
			crowd(r)
		}
	}))
	oneWindow(t, rep, FlashCrowd, t0+100)
}

func TestBotnet(t *testing.T) {
	rep := judge(show(t0, 300, func(i int, r *telemetry.Record) {
		if i >= 100 && i < 160 {
			botnet(r)
		}
	}))
	w := oneWindow(t, rep, DDoS, t0+100)
	if w.Evidence[0].Says != SaysAttack {
		t.Fatalf("evidence %+v", w.Evidence)
	}
}

func TestBotnetAndCrowdIsMixed(t *testing.T) {
	rep := judge(show(t0, 300, func(i int, r *telemetry.Record) {
		if i >= 100 && i < 160 {
			crowd(r)
			botnet(r)
		}
	}))
	oneWindow(t, rep, Mixed, t0+100)
}

func TestListenersFailingWithoutAttackIsCapacityFailure(t *testing.T) {
	rep := judge(show(t0, 300, func(i int, r *telemetry.Record) {
		if i >= 100 && i < 130 {
			r.Fanout.StallsCut, r.Fanout.Lag.P99 = 12, 4000
		}
	}))
	oneWindow(t, rep, CapacityFailure, t0+100)
}

func TestGapsAreNamed(t *testing.T) {
	e := show(t0, 100, func(int, *telemetry.Record) {})
	e = append(e[:40], e[50:]...)
	rep := judge(e)
	if len(rep.Gaps) != 1 || rep.Gaps[0] != [2]int64{t0 + 40, t0 + 49} || rep.Seconds != 100 {
		t.Fatalf("gaps %v over %d s", rep.Gaps, rep.Seconds)
	}
}

func TestNodesAreSummed(t *testing.T) {
	a := show(t0, 10, func(_ int, r *telemetry.Record) { r.Listeners.Total = 3 })
	b := show(t0, 10, func(_ int, r *telemetry.Record) { r.Listeners.Total = 4; r.Node.CPU = 0.7 })
	for i := range b {
		b[i].Node = "n2"
	}
	secs := Merge(append(a, b...))
	if len(secs) != 10 || secs[0].Listeners != 7 || secs[0].Nodes != 2 || secs[0].CPU != 0.7 || len(secs[0].Refs) != 2 {
		t.Fatalf("%+v", secs[0])
	}
}

package surge

import (
	"math"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
)

// botSurge is a warm cluster of 4 edges (20,000 joins/s) taking a crowd
// of 100,000 over 20 s, and a botnet of 2,000 addresses at 20 joins/s
// each (10,000/s at each edge) from 5 s on.
func botSurge(solves bool) Config {
	cfg := fixed(4, 20000)
	cfg.RejectCostUS, cfg.JoinCostUS = 50, 300
	cfg.Crowd = []Wave{{N: 100000, Over: 20 * time.Second}}
	cfg.Bots = &Bots{N: 2000, RatePerBot: 20, SolvesPoW: solves, Start: 5 * time.Second, Over: 30 * time.Second}
	return cfg
}

// A botnet that does not solve the proof of work: the per-address budget
// answers 90% of its joins 429, 80% of an edge's decisions with the
// crowd's: three bad seconds, not a flood, so proof of work is on at
// every edge after the third; from then its joins are answered 401 and
// it gets no ticket. What it got before is those three seconds of its
// joins within budget; rejecting it costs each edge RejectCostUS per
// request, and the crowd's time to admit stays bounded by its proof of
// work (2 bits over the base while the edge rejects 1,000+ a second: 4 s
// in a browser on average).
func TestBotnetWithoutPoWIsShutOut(t *testing.T) {
	cfg := botSurge(false)
	r := run(t, cfg)
	if r.UnderAttackAt != 8*time.Second {
		t.Errorf("under attack at %v, want the third bad second's end after the bots came (8 s)", r.UnderAttackAt)
	}
	withinBudget := 2000 * joinRatePerIP * 3 // the joins the budgets let through in three seconds
	if r.BotAdmitted != withinBudget {
		t.Errorf("%d bot joins let in; want the three seconds' within budget (%v)", r.BotAdmitted, withinBudget)
	}
	for _, s := range r.Timeline[8:35] {
		if s.UnderAttack != 4 || s.Difficulty != powBase+2 {
			t.Errorf("%v: %d edges under attack at %d bits; want all 4, at %d", s.At, s.UnderAttack, s.Difficulty, powBase+2)
		}
	}
	wantCPU := float64(r.BotRequests-r.BotAdmitted) * cfg.RejectCostUS / 1e6 / 4
	near(t, "CPU-seconds per edge rejecting the botnet", r.BotRejectCPUSeconds, wantCPU, 0.01*wantCPU)
	near(t, "cores per edge at the attack's height", r.BotRejectCoresPeak, 10000*cfg.RejectCostUS/1e6, 0.01)
	if !powBounded(r, 4*time.Second) {
		t.Errorf("the crowd: %d admitted, waits %+v; want all, bounded by a proof of work of 4 s on average", r.Admitted, r.TimeToAdmit)
	}
	if r.BotRequests != 2000*20*30 || r.BotRateLimited < r.BotRequests*89/100 {
		t.Errorf("%d bot requests (%d answered 429)", r.BotRequests, r.BotRateLimited)
	}
	t.Logf("crowd waits %+v; bots: %d requests, %d in, %d challenged", r.TimeToAdmit, r.BotRequests, r.BotAdmitted, r.BotChallenged)
}

// A botnet that solves the proof of work in 10 ms is bounded by its
// per-address budget (2/s), not by the work: once proof of work is on, a
// join is a challenge asked for and a solution sent, so half its budget
// joins; the crowd is still admitted within its own proof of work.
func TestBotnetWithPoWIsBoundedByTheBudget(t *testing.T) {
	r := run(t, botSurge(true))
	want := 2000 * joinRatePerIP * (3 + 27.0/2) // three seconds at budget, 27 at half
	near(t, "bot joins let in", float64(r.BotAdmitted), want, 0.01*want)
	if !powBounded(r, 4*time.Second) {
		t.Errorf("the crowd: %d admitted, waits %+v", r.Admitted, r.TimeToAdmit)
	}
}

// powBounded: all 100,000 in, within what a proof of work of mean m costs
// (exponential: on average m at most, p99 ln 100 × m), half a second over.
func powBounded(r Result, m time.Duration) bool {
	slack := 500 * time.Millisecond
	return r.Admitted == 100000 && r.TimeToAdmit.Mean <= m+slack &&
		r.TimeToAdmit.P99 <= time.Duration(math.Log(100)*float64(m))+slack
}

// Without proof of work (normal mode), bots within their budget draw
// places they never claim. The line passes them on after the claim
// window (claimLog.audit), so it moves at the rate of listeners let in:
// the crowd's wait stays bounded by that window and the polls, where a
// line that kept the bots' places would grow at their rate for good.
func TestUnclaimedBotPlacesArePassedOn(t *testing.T) {
	cfg := fixed(2, 1000)
	cfg.Mode = gate.Normal
	cfg.Crowd = []Wave{{N: 60 * 500, Over: 60 * time.Second}}
	cfg.Bots = &Bots{N: 500, RatePerBot: 2, Over: 60 * time.Second} // 1,000 places a second, never claimed
	r := run(t, cfg)
	if r.Admitted != 30000 || r.BotAdmitted > 1000 {
		t.Errorf("%d admitted, %d bots let in", r.Admitted, r.BotAdmitted)
	}
	// 1,500 draws/s into 1,000/s, a third of them the crowd's: were the
	// bots' places kept, the crowd would get in at 333/s of its 500/s and
	// the last would wait 30 s.
	if r.TimeToAdmit.Max > claimWindow*time.Second+5*time.Second || math.IsNaN(r.BotRejectCPUSeconds) {
		t.Errorf("the crowd waited up to %v: the unclaimed places were not passed on", r.TimeToAdmit.Max)
	}
	t.Logf("crowd waits %+v, the gate's line up to %d", r.TimeToAdmit, r.LongestGateLine)
}

// A proof of work's time is exponential about its mean (the tries until a
// hash has d zero bits are geometric): under attack with no line, the
// crowd's time to admit is the solve's spread, p50 ln 2 and p99 ln 100
// times the mean, not the mean for everyone.
func TestProofOfWorkTimesSpread(t *testing.T) {
	cfg := fixed(2, 10000)
	cfg.Mode, cfg.PoWSolve = gate.UnderAttack, 2*time.Second
	cfg.Crowd = []Wave{{N: 10000, Over: 10 * time.Second}}
	r := run(t, cfg)
	mean := cfg.PoWSolve.Seconds()
	near(t, "mean time to admit (s)", r.TimeToAdmit.Mean.Seconds(), mean, 0.05*mean)
	near(t, "p50 (s)", r.TimeToAdmit.P50.Seconds(), math.Ln2*mean, 0.1*mean)
	near(t, "p95 (s)", r.TimeToAdmit.P95.Seconds(), math.Log(20)*mean, 0.15*mean)
	near(t, "p99 (s)", r.TimeToAdmit.P99.Seconds(), math.Log(100)*mean, 0.25*mean)
}

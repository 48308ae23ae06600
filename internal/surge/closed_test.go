package surge

import (
	"math"
	"testing"
	"time"
)

// fixed is a warm cluster of edges whose line moves at exactly mu joins/s:
// each edge's controller is pinned (start = max), and the keeper's line
// is their sum.
func fixed(edges int, mu float64) Config {
	per := mu / float64(edges)
	return Config{Edges: edges, AdmitRateMax: per, StartRate: per, WarmFor: time.Minute}
}

func run(t *testing.T, cfg Config) Result {
	t.Helper()
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4g, want %.4g ± %.2g", what, got, want, tol)
	} else {
		t.Logf("%s = %.4g (closed form %.4g)", what, got, want)
	}
}

// lag is the most the gate's Retry-After schedule adds to the line's own
// wait at a constant rate: a waiter back with up to half a second to go
// waits it out (shortWait) and is let in 5 ms after its ETA, which
// rounds its place up by one; one further off comes back after
// ceil(ETA/2) s, at worst half a second late.
func lag(mu float64) float64 { return shortWait + holdSlack + 1/mu + 0.02 }

// Arrivals at λ into a line served at μ < λ: the line grows at λ-μ, and
// the last of N waits N/μ - N/λ.
func TestOverloadedLineGrowsAtTheExcess(t *testing.T) {
	const n, lambda, mu = 20000, 200.0, 100.0
	cfg := fixed(2, mu)
	cfg.Crowd = []Wave{{N: n, Over: time.Duration(n / lambda * float64(time.Second))}}
	r := run(t, cfg)
	near(t, "the last one's line wait (s)", r.LineWait.Max.Seconds(), n/mu-n/lambda, 0.05)
	near(t, "the longest line", float64(r.LongestLine), n*(1-mu/lambda), n*0.001)
	near(t, "when it was longest (s)", r.LongestLineAt.Seconds(), n/lambda, 0.05)
	for i := 9; i < 99; i += 10 { // the line at each 10 s while they come
		s := r.Timeline[i]
		near(t, "the line at "+s.At.String(), float64(s.Line), s.At.Seconds()*(lambda-mu), 0.01*s.At.Seconds()*(lambda-mu)+mu*lag(mu))
	}
	if extra := (r.TimeToAdmit.Max - r.LineWait.Max).Seconds(); extra < 0 || extra > lag(mu) {
		t.Errorf("time to admit %v against the line's %v: the polls added %.3f s, want 0..%.3f", r.TimeToAdmit.Max, r.LineWait.Max, extra, lag(mu))
	}
	near(t, "all admitted at (s)", r.AllAdmittedAt.Seconds(), n/mu, lag(mu))
	if r.Admitted != n || r.Held != n {
		t.Errorf("admitted %d, held %d, want %d", r.Admitted, r.Held, n)
	}
}

// Arrivals at λ < μ never wait: the line's bank (a second of rate) lets
// each in as it comes.
func TestUnderloadedLineHasNoWait(t *testing.T) {
	cfg := fixed(3, 300)
	cfg.Crowd = []Wave{{N: 15000, Over: 100 * time.Second}}
	r := run(t, cfg)
	if r.TimeToAdmit.Max > time.Millisecond || r.LongestGateLine > 1 {
		t.Errorf("at 150/s into 300/s: waits up to %v, line up to %d numbers; want none", r.TimeToAdmit.Max, r.LongestGateLine)
	}
	if r.Admitted != 15000 || r.AllAdmittedAt > 100*time.Second+20*time.Millisecond {
		t.Errorf("admitted %d, the last at %v", r.Admitted, r.AllAdmittedAt)
	}
}

// A flash crowd of N all at once, served at μ: waits uniform on [0, N/μ].
// One that comes after the line stood idle a while finds a second of rate
// banked (Admission.advance's burst): those B are in at once, and the
// rest wait uniformly on [0, (N-B)/μ].
func TestFlashCrowdWaitsAreUniform(t *testing.T) {
	const n, mu = 10000, 100.0
	for _, tc := range []struct {
		start time.Duration
		bank  float64
	}{{0, 0}, {5 * time.Second, mu}} {
		cfg := fixed(1, mu)
		cfg.Crowd = []Wave{{N: n, Start: tc.start}}
		r := run(t, cfg)
		w, b := r.LineWait, tc.bank
		near(t, "line wait p50 (s)", w.P50.Seconds(), (n/2-b)/mu, 0.05)
		near(t, "line wait p95 (s)", w.P95.Seconds(), (0.95*n-b)/mu, 0.05)
		near(t, "line wait p99 (s)", w.P99.Seconds(), (0.99*n-b)/mu, 0.05)
		near(t, "line wait max (s)", w.Max.Seconds(), (n-b)/mu, 0.05)
		near(t, "time to admit p99 (s)", r.TimeToAdmit.P99.Seconds(), (0.99*n-b)/mu+lag(mu)/2, lag(mu)/2)
		over := (n - b - 60*mu) // those whose wait passed a minute
		near(t, "waited over a minute", float64(r.WaitedOverMinute), over, 0.01*n)
	}
}

// Poisson arrivals at ρ = λ/μ < 1 into a line without a bank is M/D/1:
// the mean wait is ρ/(2μ(1-ρ)). (The model's fluid numbers wait up to
// 1/(8μ) too long when they find the line idle, a (1-ρ) share of them:
// hence the busy lines here; the keeper's floor of 20/s sets μ ≥ 20.)
func TestPoissonLineIsMD1(t *testing.T) {
	for _, tc := range []struct{ lambda, mu float64 }{{80, 100}, {45, 50}} {
		cfg := fixed(1, tc.mu)
		cfg.Burst, cfg.Poisson, cfg.Seed, cfg.Step = -1, true, 7, 2*time.Millisecond
		cfg.Crowd = []Wave{{N: 40000, Over: time.Duration(40000 / tc.lambda * float64(time.Second))}}
		r := run(t, cfg)
		rho := tc.lambda / tc.mu
		want := rho / (2 * tc.mu * (1 - rho))
		near(t, "M/D/1 mean wait (s)", r.LineWait.Mean.Seconds(), want, 0.05*want)
	}
}

// A cold cluster ramps: the keeper has no report for its first one and a
// half seconds (500/s), then each edge's controller adds 100/s a second
// from its start rate: after the first reports (t = 1.5 s) the line has
// served 750 + E(50m² + 550m) by 1.5 + m s. A flash crowd's wait at share
// q of it is when that reaches qN.
func TestFlashCrowdFollowsTheRamp(t *testing.T) {
	const n, e = 200000, 10
	ramp := func(q float64) float64 {
		x := q * n
		if x <= 750 {
			return x / 500
		}
		a, b, c := 50.0*e, 550.0*e, 750-x
		m := math.Floor((-b + math.Sqrt(b*b-4*a*c)) / (2 * a))
		served := 750 + e*(50*m*m+550*m)
		return 1.5 + m + (x-served)/(e*(500+100*(m+1)))
	}
	r := run(t, Config{Edges: e, Crowd: []Wave{{N: n}}})
	near(t, "line wait p50 (s)", r.LineWait.P50.Seconds(), ramp(0.5), 0.02)
	near(t, "line wait p99 (s)", r.LineWait.P99.Seconds(), ramp(0.99), 0.02)
	near(t, "line wait max (s)", r.LineWait.Max.Seconds(), ramp(1), 0.02)
	// The waiters' ETAs are at the rate of when they asked, which the
	// ramp overtakes: they come back later than their turn, but never
	// past the 30 s Retry-After cap, and the hold lets the last ones in
	// on time.
	for _, q := range []struct {
		name      string
		got, line time.Duration
	}{{"p50", r.TimeToAdmit.P50, r.LineWait.P50}, {"p99", r.TimeToAdmit.P99, r.LineWait.P99}} {
		if q.got < q.line || q.got > q.line+maxRetry*time.Second {
			t.Errorf("time to admit %s %v against the line's %v", q.name, q.got, q.line)
		}
		t.Logf("time to admit %s %v (the line's %v)", q.name, q.got, q.line)
	}
}

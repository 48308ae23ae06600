package verdict

// The rules, after Jung, Krishnamurthy and Rabinovich ("Flash crowds and
// denial of service attacks", WWW 2002) and the work that followed them:
// a flash crowd is many clients, mostly from networks that came before,
// each asking at a normal rate and completing what it came for; an attack
// is sources that are new or concentrated, asking at abnormal rates, with
// invalid credentials, challenges left unsolved and flows left unfinished;
// a capacity failure is listeners failing with neither signature. Each rule
// below is one measurable signal of one second, with its threshold; a
// signal is only judged when there is enough in the second to judge it.

// Says is what a signal points to.
type Says string

// What signals say.
const (
	SaysAttack  Says = "attack"
	SaysCrowd   Says = "crowd"
	SaysFailure Says = "failure"
)

type signal struct {
	name      string
	says      Says
	threshold float64
	above     bool // holds when the value is >= threshold (else <=)
	unit      string
	what      string
	value     func(s *Second) (v float64, judged bool)
}

func ratio(a, b int64) float64 { return float64(a) / float64(b) }

// Minimum counts for a share to be judged in a second.
const (
	minJoins    = 20
	minPrefixes = 10
	minCohort   = 10
)

// The figures some signals of both sides judge.
func seenShare(s *Second) (float64, bool) {
	return ratio(s.SeenPrefixes, max(s.JoinPrefixes, 1)), s.SeenFilter && s.JoinPrefixes >= minPrefixes
}

func joinsPerAddr(s *Second) (float64, bool) {
	return ratio(s.JoinReqs, max(s.JoinAddrs, 1)), s.JoinReqs >= minJoins
}

func completion(s *Second) (float64, bool) {
	return s.CohortStarted / float64(max(s.CohortN, 1)), s.CohortN >= minCohort
}

var signals = []signal{
	{name: "rejected_share", says: SaysAttack, threshold: 0.5, above: true, unit: "share",
		what: "share of join attempts, connections and bad-ticket media requests the gate refused",
		value: func(s *Second) (float64, bool) {
			d := s.JoinReqs + s.BadTickets + s.ConnRefused
			return ratio(s.JoinRejected+s.BadTickets+s.ConnRefused, max(d, 1)), d >= minJoins
		}},
	{name: "invalid_tickets", says: SaysAttack, threshold: 20, above: true, unit: "/s",
		what:  "media requests with a forged, expired, other-space or replayed ticket",
		value: func(s *Second) (float64, bool) { return float64(s.BadTickets), true }},
	{name: "unsolved_challenges", says: SaysAttack, threshold: 0.7, above: true, unit: "share",
		what: "share of proof-of-work challenges issued and not solved",
		value: func(s *Second) (float64, bool) {
			return 1 - min(1, ratio(s.Solved, max(s.Challenged, 1))), s.Challenged >= minJoins
		}},
	{name: "new_sources", says: SaysAttack, threshold: 0.3, above: false, unit: "share",
		what:  "share of joining networks (/24, /48) whose listeners listened in an earlier show",
		value: seenShare},
	{name: "abnormal_rate", says: SaysAttack, threshold: 3, above: true, unit: "joins/address",
		what:  "join attempts per joining address in the second (a listener joins once, a waiting one every few seconds)",
		value: joinsPerAddr},
	{name: "unfinished_flows", says: SaysAttack, threshold: 0.5, above: false, unit: "share",
		what:  "share of the tickets issued 10 s earlier that were used to listen",
		value: completion},

	{name: "seen_before", says: SaysCrowd, threshold: 0.5, above: true, unit: "share",
		what:  "share of joining networks whose listeners listened in an earlier show",
		value: seenShare},
	{name: "normal_rate", says: SaysCrowd, threshold: 2, above: false, unit: "joins/address",
		what:  "join attempts per joining address in the second",
		value: joinsPerAddr},
	{name: "flows_complete", says: SaysCrowd, threshold: 0.8, above: true, unit: "share",
		what:  "share of the tickets issued 10 s earlier that were used to listen",
		value: completion},
	{name: "arrivals", says: SaysCrowd, threshold: 10, above: true, unit: "/s",
		what:  "listeners who started listening",
		value: func(s *Second) (float64, bool) { return float64(s.Started), true }},

	{name: "stalls", says: SaysFailure, threshold: 1, above: true, unit: "/s",
		what:  "listeners cut for stalling, plus pages slow listeners were skipped past",
		value: func(s *Second) (float64, bool) { return float64(s.StallsCut + s.Skipped), s.Listeners > 0 }},
	{name: "lag", says: SaysFailure, threshold: 2000, above: true, unit: "ms",
		what:  "fan-out lag p99 (age of the newest audio in a write to a listener)",
		value: func(s *Second) (float64, bool) { return s.LagP99, s.Listeners > 0 }},
	{name: "program_late", says: SaysFailure, threshold: 500, above: true, unit: "ms",
		what:  "how late the mixers ran their 20 ms ticks (p99): a starved node's program is late for every listener",
		value: func(s *Second) (float64, bool) { return s.MixLateP99, true }},
	{name: "ticks_skipped", says: SaysFailure, threshold: 1, above: true, unit: "/s",
		what:  "mixer ticks skipped for being over a second behind (audio lost for every listener)",
		value: func(s *Second) (float64, bool) { return float64(s.MixSkipped), true }},
	{name: "cpu_pinned", says: SaysFailure, threshold: 0.95, above: true, unit: "share",
		what:  "the busiest node's CPU, a share of its cores",
		value: func(s *Second) (float64, bool) { return s.CPU, true }},
}

func (g signal) holds(v float64) bool {
	if g.above {
		return v >= g.threshold
	}
	return v <= g.threshold
}

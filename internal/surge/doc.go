// Package surge is a discrete-event model of a join surge through onair's
// gate: arrivals, the edges' admission, the one waiting line per space, and a botnet beside the crowd.
//
// It runs in fixed steps (Config.Step, 10 ms) with whole seconds as the
// control period, as the real nodes do, and counts listeners in FIFO
// cohorts (the arrivals of one step, split as the line reaches them)
// rather than one event per listener, so a surge of millions runs in a
// fraction of a second while every listener's wait is still known to
// within a step. Each part stands for the real code named here; what is
// simplified says so.
//
//   - The line (line.go) is the keeper's gate.Admission for the space
//     (internal/line keeper.go, internal/gate admit.go): a number per join,
//     a served mark moving at the line's rate, a bank of one second of
//     rate while nobody waits (Admission.advance's burst), withdrawn and
//     stopped while every edge is full (Admission.Pause via
//     KeeperConfig.Capacity = line.EdgeCapacity), and numbers nobody claims
//     within the claim window (10 s) passed on to the next in line
//     (claimLog.audit). The keeper's period (1 s, Keeper.steer) sets its
//     rate to the sum of the edges' reported admit rates (line.EdgeCapacity,
//     called here on the reports the model makes), 500/s before any edge
//     has reported, clamped to the keeper's [20, 1,000,000].
//   - The edges (edges.go) each run a real gate.Admission as their
//     controller (Gate.control): once a second, additive increase while
//     CPU is under 85% and the edge is not full, multiplicative decrease
//     otherwise; they report their rate, listeners and CPU
//     (server.noteSecond → control.Report), and admitted listeners go to
//     the edge control.Choose picks by control.Headroom (power of two
//     choices), here as the exact expected share of each edge rather than
//     a draw per listener.
//   - The crowd (waiting.go) follows Gate.Admit: a join draws a number and
//     is in if the served mark is past it; one due within 0.5 s is held
//     and let in (shortWait); everyone else gets 202 with Retry-After
//     ceil(ETA/2) in [1, 30] s and comes back with the queue token then,
//     which is where a waiter's time to admit exceeds the line's. Under
//     attack a newcomer first pays a proof of work (difficulty 16 + 2 when
//     the line is 30 s long, + 2 when the edge rejects 1,000/s: Gate.difficulty),
//     a browser taking Config.PoWSolve per 2^16 hashes.
//   - The botnet (attack.go) meets Gate.Limit's per-address (2/s) and
//     per-/24 (50/s) join budgets at the edge each bot sticks to, answered
//     429; the detector (detect.go's detector.tick, per edge: three bad
//     seconds or one flood second, from 32+ networks, off after a calm
//     minute) turns proof of work on in auto mode; a bot that does not
//     solve it gets 401 for every join; one that does is bounded by its
//     hash rate. Bots never come back with a queue token: their places go
//     unclaimed and are passed on.
//
// Result.LineWait is when the line served each number, TimeToAdmit when
// its holder, back at its Retry-After, got in: at a steady rate they
// differ by at most half a second; a line that speeds up (a cold
// cluster's ramp) makes waiters come back up to 30 s after their turn,
// since their ETA was reckoned at the rate of when they asked.
//
// Simplified: the cluster's shared line is always up (a lone node's own
// line, paused by its own controller without the keeper's delay, and an
// edge's fallback when the keeper is gone, are not modelled); CPU is the
// listeners' cost plus each request's, at most all the cores (work past
// them is taken as done, with no queue before the CPU); a listener's proof
// of work takes an exponential time about its mean (in 13 parts), a bot's
// its mean, and a challenge does not expire (2 min) while it is solved;
// joins reach the edges evenly (a DNS or load balancer's spread) and each
// bot sticks to one edge; the per-source budgets are
// their sustained rates (the first burst of 10 per address is left out);
// legitimate listeners each have their own address; the edges' and the
// keeper's periods are in a fixed phase (edges at each second, the keeper
// half a second later, reading that second's reports); a step's arrivals
// are spread evenly within it; unclaimed numbers are settled per step's
// block of draws; nobody leaves once in; queue tokens (1 h) do not expire;
// the line's request-reply over NATS costs no time; one space.
package surge

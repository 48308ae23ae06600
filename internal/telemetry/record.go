package telemetry

// Record is one second of one node: the JSON entry the receipts log keeps
// (kind "second"). T is the Unix second it covers, [T, T+1). Counts are of
// that second; listeners, the line and the mode are as at its end.
type Record struct {
	V         int                 `json:"v"`
	Kind      string              `json:"kind"`
	T         int64               `json:"t"`
	Node      NodeStats           `json:"node"`
	Joins     Joins               `json:"joins"`
	Tickets   map[string]int64    `json:"tickets_rejected"` // media requests refused for their ticket, by reason
	Requests  map[string]Outcomes `json:"requests"`         // by class: join, media, page
	Conns     Conns               `json:"conns"`
	Listeners Listeners           `json:"listeners"`
	Fanout    Fanout              `json:"fanout"`
	Mixer     Mixer               `json:"mixer"`
	Gate      GateState           `json:"gate"`
	Sources   SourcesRecord       `json:"sources"`
	Flows     FlowsRecord         `json:"flows"`
	Decisions map[string]int64    `json:"decisions"` // every gate decision, "stage/outcome/reason"
	// Peers is what this node saw of the other nodes' clocks (a cluster):
	// their load reports taken in from the bus this second, by node. A pair
	// of nodes' figures for each other bound their clocks' offset
	// (internal/verdict/clock.go). Absent on one process and in older logs.
	Peers map[string]PeerClock `json:"peers,omitempty"`
}

// PeerClock is one peer's load reports taken in during a second: how many,
// and the least of (this node's clock on receipt − the time the report
// says it was made, by the peer's clock), in ms. That difference is the
// report's travel time plus how far this node's clock is ahead of the
// peer's; the least of it has the least travel time in it.
type PeerClock struct {
	Reports int64   `json:"reports"`
	MinMS   float64 `json:"min_ms"`
}

// Joins is the join API's outcomes.
type Joins struct {
	Admitted   int64            `json:"admitted"`   // new listeners let in (directly or from the line)
	FromQueue  int64            `json:"from_queue"` // of Admitted, those who waited in line
	Renewed    int64            `json:"renewed"`    // listeners already in, given a new ticket
	Queued     int64            `json:"queued"`     // answered with a place in line
	Challenged int64            `json:"challenged"` // answered with a proof of work to solve
	Solved     int64            `json:"solved"`     // proofs of work that checked out
	Rejected   map[string]int64 `json:"rejected"`   // by reason: rate_ip, rate_prefix, bad_solution, queue_token, ...
}

// Outcomes is how one class of requests fared at the gate.
type Outcomes struct {
	Passed   int64 `json:"passed"`
	Rejected int64 `json:"rejected"`
}

// Conns is the public port's accept loop.
type Conns struct {
	Accepted int64            `json:"accepted"`
	Refused  map[string]int64 `json:"refused"` // by reason: per_ip, per_prefix, accept_rate
}

// Listeners is who listens, by protocol, at the end of the second, and
// who came and went during it.
type Listeners struct {
	Ogg      int64 `json:"ogg"`
	LLHLS    int64 `json:"llhls"`
	HLS      int64 `json:"hls"` // classic (segment) HLS players
	WHEP     int64 `json:"whep"`
	Total    int64 `json:"total"`
	Arrived  int64 `json:"arrived"`
	Departed int64 `json:"departed"`
}

// Fanout is what the edge sent and how well.
type Fanout struct {
	BytesOut     int64     `json:"bytes_out"`     // progressive Ogg bytes written
	HLSBytesOut  int64     `json:"hls_bytes_out"` // HLS playlist and media bytes written
	Lag          Quantiles `json:"lag_ms"`        // age of the newest audio in each write to a listener
	StallsCut    int64     `json:"stalls_cut"`    // listeners cut for taking nothing for the stall limit
	SkippedPages int64     `json:"skipped_pages"` // pages slow listeners lost by being skipped forward
	WHEPDropped  int64     `json:"whep_dropped"`  // frames WHEP senders dropped behind
}

// Mixer is how the node's mixers kept time: the program's own clock.
type Mixer struct {
	Late    Quantiles `json:"late_ms"`       // how late each wake-up ran its first due 20 ms tick
	Skipped int64     `json:"skipped_ticks"` // ticks skipped for being over a second behind (audio lost)
}

// GateState is the gate as the second ends.
type GateState struct {
	Mode        string  `json:"mode"`         // the operator's setting: normal, under_attack, auto
	UnderAttack bool    `json:"under_attack"` // joins need proof of work
	Reason      string  `json:"reason"`       // why the gate is in its state (set when it changed)
	Changed     bool    `json:"changed"`      // the state changed during this second
	AdmitRate   float64 `json:"admit_rate"`
	Waiting     uint64  `json:"waiting"`
	Difficulty  int     `json:"pow_difficulty"`
	Capacity    int     `json:"capacity"`
}

// Event is a show event on the origin (kind "event"): one entry each, as it
// happens, so a start is in the log to the millisecond.
type Event struct {
	V     int    `json:"v"`
	Kind  string `json:"kind"`
	T     int64  `json:"t"`
	TMS   int64  `json:"t_ms"` // Unix ms
	Node  string `json:"node"`
	Space string `json:"space"`
	// Event is one of scheduled, start, first_frame, first_record_byte,
	// speaker_in, speaker_out, end.
	Event       string `json:"event"`
	Speaker     string `json:"speaker,omitempty"`
	ScheduledMS int64  `json:"scheduled_ms,omitempty"` // the announced start, Unix ms
	// DelayMS is the start delay, actual minus scheduled (start and
	// first_frame events of a scheduled show).
	DelayMS *int64 `json:"delay_ms,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

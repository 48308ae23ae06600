package load

import (
	"net/url"
	"strings"
	"time"
)

// Claim is the summary of a run that onair load signs with its own key and
// posts to the target, which logs it in its receipts: a capacity claim
// anyone can check against the server's own records of the same seconds.
type Claim struct {
	V               int            `json:"v"`
	Tool            string         `json:"tool"`
	Target          string         `json:"target"`
	Space           string         `json:"space,omitempty"`
	Protocol        string         `json:"protocol"`
	HLSPlayer       string         `json:"hls_player,omitempty"`
	Shape           string         `json:"shape"`
	WindowS         float64        `json:"window_s,omitempty"`
	DurationS       float64        `json:"duration_s"`
	StartT          int64          `json:"start_t"` // unix seconds
	EndT            int64          `json:"end_t"`
	ElapsedS        float64        `json:"elapsed_s"`
	Listeners       ListenerCounts `json:"listeners"`
	Stalls          StallReport    `json:"stalls"`
	Errors          int64          `json:"errors"`
	JoinP99Ms       float64        `json:"join_p99_ms"`
	FirstAudioP99Ms float64        `json:"first_audio_p99_ms"`
	G2GP50Ms        float64        `json:"glass_to_glass_p50_ms"`
	Attack          bool           `json:"attack,omitempty"` // the run also attacked (bots, floods)
	// A run over several edges posts a claim to each edge that served
	// listeners: the figures above are the whole run's, Edge is this edge's
	// share, Edges how many edges served listeners.
	Edge  *EdgeReport `json:"edge,omitempty"`
	Edges int         `json:"edges,omitempty"`
}

// Claim sums the report up for signing.
func (rep *Report) Claim() Claim {
	c := rep.Config
	var errs int64
	for _, n := range rep.Errors {
		errs += n
	}
	return Claim{V: 1, Tool: "onair load", Target: c.Target, Space: c.Space, Protocol: c.Protocol, HLSPlayer: c.HLSPlayer,
		Shape: c.Shape, WindowS: c.Window.Seconds(), DurationS: c.Duration.Seconds(),
		StartT: rep.Start.Unix(), EndT: rep.Start.Add(time.Duration(rep.ElapsedS * float64(time.Second))).Unix(),
		ElapsedS: rep.ElapsedS, Listeners: rep.Listeners, Stalls: rep.Stalls, Errors: errs,
		JoinP99Ms: rep.Metrics["join_ms"].P99, FirstAudioP99Ms: rep.Metrics["first_audio_ms"].P99,
		G2GP50Ms: rep.Metrics["glass_to_glass_ms"].P50, Attack: rep.Attack != nil}
}

// Claims are the claims to post, each with its Target: one per edge that
// served listeners, each carrying its own share (Edge) of the run; a run
// whose listeners all streamed from the one --target posts today's single
// claim to it. A run where no listener streamed posts one claim to the
// first target, so that the failure is on record too.
func (rep *Report) Claims() []Claim {
	c := rep.Claim()
	var served []EdgeReport
	for _, e := range rep.Edges {
		if e.Listeners > 0 {
			served = append(served, e)
		}
	}
	first, _, _ := strings.Cut(c.Target, ",")
	if len(served) == 0 {
		c.Target = first
		return []Claim{c}
	}
	if len(served) == 1 && c.Target == first && hostOf(first) == served[0].Edge {
		return []Claim{c}
	}
	out := make([]Claim, 0, len(served))
	for _, e := range served {
		ec := c
		ec.Target, ec.Edge, ec.Edges = "http://"+e.Edge, &e, len(served)
		out = append(out, ec)
	}
	return out
}

// hostOf is the host:port of a base URL, port 80 when it names none.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return hostTarget(u).addr
}

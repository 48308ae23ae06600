// Package plan turns measured per-node figures into a deployment for N
// listeners, and says which limit binds at each tier.
package plan

import (
	"fmt"
	"sort"
)

// Protocols a listener may use: classic HLS, LL-HLS (both through a CDN
// and an origin shield), progressive Ogg and WHEP (both straight from an
// edge).
var Protocols = []string{"hls", "ll-hls", "ogg", "whep"}

// direct says whether a protocol's listeners hold a connection on an onair
// edge (the others are served by a cache in front).
func direct(p string) bool { return p == "ogg" || p == "whep" }

// Figure is one per-node number the plan rests on, with where it comes from.
type Figure struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Source: a file and run, "built-in default from <file> measured
	// <date>", or "extrapolated: <why>".
	Source       string `json:"source"`
	Extrapolated bool   `json:"extrapolated,omitempty"`
	// Run identifies the measured run (an onair load report) the figure
	// came from, so that its signed claim can be found in a receipts log.
	Run *Run `json:"run,omitempty"`
}

// Run is what identifies an onair load run: its claim carries the same.
type Run struct {
	File      string `json:"file"`
	Protocol  string `json:"protocol"`
	StartT    int64  `json:"start_t"`
	Target    string `json:"target"`
	Listeners int    `json:"listeners"`
}

// Figures are the per-node figures by name (see Names for what each is).
type Figures map[string]Figure

// Names lists every figure the plan uses, with what it means.
var Names = map[string]string{
	"fd_cap":           "open files a process may hold (a setting of the machine)",
	"edge_idle_cores":  "an edge's CPU with no listener (mixer-free: bus subscription, packagers, receipts)",
	"edge_base_mib":    "an edge's RSS with no listener",
	"join_us":          "edge CPU per join admitted (HTTP, ticket, first burst)",
	"reject_us":        "edge CPU per request the gate refuses",
	"draw_us":          "origin CPU per join drawn from the shared waiting line",
	"draws_max":        "joins a second the origin's line keeper takes, measured",
	"origin_cores":     "origin CPU per live show (mix, encode, record, publish), flat in listeners",
	"bus_edge_cores":   "origin CPU per edge subscribed to the program",
	"nats_msg_us":      "NATS server CPU per message delivered to a subscriber",
	"load_us":          "load generator CPU per listener-second (only when it shares the cores: --colocated)",
	"cdn_hit":          "share of HLS requests a CDN answers from its cache",
	"onair_request_us": "onair CPU per HLS request that reaches it (behind the shield)",
}

func init() {
	for _, p := range Protocols {
		where := "an edge"
		if !direct(p) {
			where = "the origin shield (nginx) in front"
		}
		Names["cpu."+p] = "CPU µs per " + p + " listener-second at " + where
		Names["rss."+p] = "RSS KiB per " + p + " listener at " + where
		Names["files."+p] = "open files per " + p + " listener at " + where
		Names["bytes."+p] = "bytes per " + p + " listener-second (the bitrate and its overhead)"
		if !direct(p) {
			Names["requests."+p] = "requests per " + p + " player-second"
			Names["shield_reach."+p] = "requests reaching onair per part per shield node (nginx collapses the rest)"
		}
	}
}

// Get is the figure's value; a figure missing from the set is a bug in the
// defaults (every name has one).
func (f Figures) Get(name string) float64 {
	fig, ok := f[name]
	if !ok {
		panic("plan: no figure " + name)
	}
	return fig.Value
}

// Sorted lists the figures' names in order.
func (f Figures) Sorted() []string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Merge overlays measured figures on f (the defaults), and returns the set.
func (f Figures) Merge(measured Figures) Figures {
	out := Figures{}
	for k, v := range f {
		out[k] = v
	}
	for k, v := range measured {
		out[k] = v
	}
	return out
}

// Extrapolated lists the figures not measured, with why.
func (f Figures) Extrapolated() []string {
	var out []string
	for _, n := range f.Sorted() {
		if fig := f[n]; fig.Extrapolated {
			out = append(out, fmt.Sprintf("%s = %g %s (%s): %s", n, fig.Value, fig.Unit, Names[n], fig.Source))
		}
	}
	return out
}

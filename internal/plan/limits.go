package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limit is what one resource of a node lets it carry, with the arithmetic.
type Limit struct {
	Name       string  `json:"name"`     // CPU, memory, open files, NIC
	PerNode    float64 `json:"per_node"` // in the tier's unit; +Inf: not a limit here
	Arithmetic string  `json:"arithmetic"`
}

// Node is one machine of a tier: what it has, at what headroom.
type Node struct {
	Cores    float64 `json:"cores"`
	MemGiB   float64 `json:"mem_gib"`
	NICGbit  float64 `json:"nic_gbit"`
	Headroom float64 `json:"headroom"`
}

// binding is the limit that a node reaches first: the smallest capacity
// (the first in order on a tie).
func binding(ls []Limit) (string, float64) {
	best, name := math.Inf(1), ""
	for _, l := range ls {
		if l.PerNode < best {
			best, name = l.PerNode, l.Name
		}
	}
	return name, best
}

// listenerLimits are what an edge of n holds of protocol p's listeners.
func listenerLimits(f Figures, n Node, p string) []Limit {
	h := n.Headroom
	idle, base := f.Get("edge_idle_cores"), f.Get("edge_base_mib")
	cpu, rss, files, bytes := f.Get("cpu."+p), f.Get("rss."+p), f.Get("files."+p), f.Get("bytes."+p)
	cpuCap := (n.Cores*h - idle) * 1e6 / cpu
	memCap := (n.MemGiB*h*1024 - base) * 1024 / rss
	fdCap := f.Get("fd_cap") * h / files
	nicCap := n.NICGbit * 1e9 / 8 * h / bytes
	return []Limit{
		{"CPU", floor0(cpuCap), fmt.Sprintf("(%s cores × %s - %s idle) × 1e6 / %s µs per listener-second = %s",
			g(n.Cores), pct(h), g(idle), g(cpu), count(cpuCap))},
		{"memory", floor0(memCap), fmt.Sprintf("(%s GiB × %s - %s MiB base) / %s KiB per listener = %s",
			g(n.MemGiB), pct(h), g(base), g(rss), count(memCap))},
		{"open files", floor0(fdCap), fmt.Sprintf("%s files × %s / %s per listener = %s",
			count(f.Get("fd_cap")), pct(h), g(files), count(fdCap))},
		{"NIC", floor0(nicCap), fmt.Sprintf("%s Gbit/s × %s / (%s B/s per listener × 8) = %s",
			g(n.NICGbit), pct(h), count(bytes), count(nicCap))},
	}
}

// shieldLimits are the requests a second an origin shield (nginx) of n
// answers for protocol p's players.
func shieldLimits(f Figures, n Node, p string) []Limit {
	h := n.Headroom
	perReq := f.Get("cpu."+p) / f.Get("requests."+p)
	bytesReq := f.Get("bytes."+p) / f.Get("requests."+p)
	cpuCap := n.Cores * h * 1e6 / perReq
	nicCap := n.NICGbit * 1e9 / 8 * h / bytesReq
	notHere := "a CDN in front holds the players' connections: the shield sees its few"
	return []Limit{
		{"CPU", floor0(cpuCap), fmt.Sprintf("%s cores × %s × 1e6 / (%s µs per player-second / %s requests) = %s requests/s",
			g(n.Cores), pct(h), g(f.Get("cpu."+p)), g(f.Get("requests."+p)), count(cpuCap))},
		{"memory", math.Inf(1), notHere},
		{"open files", math.Inf(1), notHere},
		{"NIC", floor0(nicCap), fmt.Sprintf("%s Gbit/s × %s / (%s B per request × 8) = %s requests/s",
			g(n.NICGbit), pct(h), count(bytesReq), count(nicCap))},
	}
}

func floor0(x float64) float64 {
	if x < 0 || math.IsNaN(x) {
		return 0
	}
	return math.Floor(x)
}

// g prints a figure as short as it reads.
func g(x float64) string {
	if math.Abs(x) >= 10000 && x == math.Trunc(x) {
		return count(x)
	}
	return strconv.FormatFloat(x, 'g', 5, 64)
}

func pct(h float64) string { return strconv.FormatFloat(h*100, 'g', 3, 64) + "%" }

// count prints a whole number with thousands separators.
func count(x float64) string {
	if math.IsInf(x, 1) {
		return "unlimited"
	}
	neg := x < 0
	s := strconv.FormatInt(int64(math.Abs(math.Floor(x))), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ceilDiv is the nodes needed for load at cap per node.
func ceilDiv(load, cap float64) int {
	if load <= 0 {
		return 0
	}
	if cap <= 0 {
		return math.MaxInt32
	}
	return int(math.Ceil(load / cap))
}

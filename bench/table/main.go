// Command table turns the JSON reports of a bench run ("onair load --json",
// one file per target, crowd and run, named TARGET-N.json, or
// TARGET-N.rI.json for the I-th of several runs) into the side-by-side
// table: listeners held stall-free, the server's CPU per listener-second and
// RSS per listener, the join rate, and onair's ratios to the others. It
// prints the table and writes it as Markdown (--md).
//
// The reports are grouped by target and crowd size (the report's own
// listener count). A group of several runs is one row: the median of its
// runs' CPU, RSS, join rate and idle CPU, the lowest "held stall-free" of
// its runs (the worst run), and the spread of its CPU (lowest–highest run);
// the ratios divide the medians. With one run per group the table is as it
// always was.
//
// CPU per listener-second is taken at full load (the seconds of the
// timeline with at least 99% of the peak connected) and net of the server's
// idle CPU: what each listener adds, without what the server spends with no
// listener at all (onair's mixer, encoder, packagers and recorder). The idle
// rate comes from TARGET-N[.rI].idle when present ("TICKS HZ SECONDS": CPU
// ticks over that many seconds just before the run), else from the
// report's own one-second measurement.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/onair-live/onair/internal/load"
)

// order is the row order within a crowd size; onair is the numerator of the ratios.
var order = []string{"onair", "onair-noreceipts", "icecast2", "baseline"}

// row is one run's figures.
type row struct {
	target    string
	n         int
	run       int // I of TARGET-N.rI.json; 0 for TARGET-N.json
	file      string
	held      int64   // got audio and never stalled
	cpu       float64 // µs of server CPU per listener-second
	cpuFull   bool    // cpu is at full load, net of idle (else the whole run)
	idle      float64 // the server's CPU with no listener, ms per second
	rss       float64 // KiB of server RSS per listener
	joinRate  float64 // listeners/s reaching first audio
	notes     []string
	completed int64
}

// group is the runs of one target with one crowd size, and their figures:
// medians, but held stall-free is the worst run's.
type group struct {
	target         string
	n              int
	runs           []row // by run number
	held           int64 // the lowest of the runs
	cpu, rss       float64
	joinRate, idle float64
	cpuMin, cpuMax float64
}

const usage = `usage: table [--md FILE] [--title LINE] TARGET-N.json ... | TARGET-N.rI.json ...

Prints the side-by-side table of bench/run's reports ("onair load --json"),
one row per target and crowd size, onair's ratios to the others. Several runs
of one target and crowd (TARGET-N.r1.json, TARGET-N.r2.json, ...) make one
row: the median of their CPU, RSS, join rate and idle CPU, the lowest of their
"held stall-free", and a column with the spread of their CPU (lowest-highest).
The idle CPU comes from TARGET-N[.rI].idle beside each report when present.

`

func main() {
	md := flag.String("md", "", "also write the table as Markdown to this file")
	title := flag.String("title", "", "a line saying what was run (shown above the table)")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	var rows []row
	for _, f := range flag.Args() {
		r, err := read(f)
		if err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	groups := groupRuns(rows)
	cells := cellsOf(groups)
	if *title != "" {
		fmt.Println(*title)
		fmt.Println()
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range cells {
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	tw.Flush()
	writeNotes(os.Stdout, groups)
	if *md != "" {
		var sb strings.Builder
		if *title != "" {
			fmt.Fprintf(&sb, "%s\n\n", *title)
		}
		for i, c := range cells {
			fmt.Fprintf(&sb, "| %s |\n", strings.Join(c, " | "))
			if i == 0 {
				fmt.Fprintf(&sb, "|%s\n", strings.Repeat("---:|", len(c)))
			}
		}
		writeNotes(&sb, groups)
		if err := os.WriteFile(*md, []byte(sb.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// runSuffix matches the ".rI" of TARGET-N.rI.json.
var runSuffix = regexp.MustCompile(`\.r([0-9]+)$`)

// nameOf splits a report's file name, TARGET-N.json or TARGET-N.rI.json,
// into its target and run number (0 without ".rI").
func nameOf(file string) (target string, run int) {
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	if m := runSuffix.FindStringSubmatch(name); m != nil {
		run, _ = strconv.Atoi(m[1])
		name = strings.TrimSuffix(name, m[0])
	}
	target = name
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		target = name[:i]
	}
	return target, run
}

func read(file string) (row, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return row{}, err
	}
	var rep load.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return row{}, err
	}
	target, run := nameOf(file)
	r := row{target: target, n: rep.Config.Listeners, run: run, file: file, completed: rep.Listeners.Completed,
		held: rep.Listeners.GotAudio - rep.Stalls.Listeners, joinRate: joinRate(rep.Timeline)}
	if s := rep.Server; s != nil {
		r.idle = s.IdleCPUPerSecondMs
		if idle, ok := readIdle(strings.TrimSuffix(file, ".json") + ".idle"); ok {
			r.idle = idle
		}
		ls, cpu, secs := fullLoad(rep.Timeline)
		r.cpuFull = ls > 0
		if r.cpuFull {
			r.cpu = (cpu - r.idle/1e3*secs) * 1e6 / ls
		} else {
			r.cpu = s.CPUPerListenerSecondUs
			r.notes = append(r.notes, "CPU over the whole run (never at full load for two seconds)")
		}
		r.rss = s.RSSPerListenerKiB
		if s.Error != "" {
			r.notes = append(r.notes, "server sampling: "+s.Error)
		}
	} else {
		r.notes = append(r.notes, "no server figures (no --server-pid)")
	}
	if r.completed < r.held {
		r.notes = append(r.notes, fmt.Sprintf("%d of them left early (cut by the server)", r.held-r.completed))
	}
	if rep.Stalls.Listeners > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d stalls on %d listeners, %.1f s stalled in all", rep.Stalls.Events, rep.Stalls.Listeners, rep.Stalls.Seconds))
	}
	if missed := int64(rep.Config.Listeners) - rep.Listeners.GotAudio; missed > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d listeners never got audio", missed))
	}
	for _, k := range sortedKeys(rep.Errors) {
		r.notes = append(r.notes, fmt.Sprintf("error %d × %s", rep.Errors[k], k))
	}
	for _, k := range sortedKeys(rep.Waits) {
		r.notes = append(r.notes, fmt.Sprintf("wait %d × %s", rep.Waits[k], k))
	}
	return r, nil
}

// readIdle reads an idle measurement: "TICKS HZ SECONDS" → ms per second.
func readIdle(file string) (float64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	var ticks, hz, secs float64
	if _, err := fmt.Sscan(string(b), &ticks, &hz, &secs); err != nil || hz <= 0 || secs <= 0 {
		log.Printf("%s: want TICKS HZ SECONDS", file)
		return 0, false
	}
	return ticks / hz / secs * 1e3, true
}

// fullLoad sums, over the seconds of the timeline with at least 99% of the
// peak connected at both ends, the listener-seconds, the server's CPU
// seconds and the time (as "onair load" does for its own figures).
func fullLoad(tl []load.TimelinePoint) (ls, cpu, secs float64) {
	var peak int64
	for _, p := range tl {
		peak = max(peak, p.Connected)
	}
	full := func(p load.TimelinePoint) bool {
		return peak > 0 && float64(p.Connected) >= 0.99*float64(peak) && p.ServerRSSKiB > 0
	}
	for i := 1; i < len(tl); i++ {
		a, b := tl[i-1], tl[i]
		if full(a) && full(b) {
			dt := b.T - a.T
			ls += float64(a.Connected+b.Connected) / 2 * dt
			cpu += b.ServerCPUS - a.ServerCPUS
			secs += dt
		}
	}
	return ls, cpu, secs
}

// joinRate is how fast listeners reached first audio: 99% of those that got
// any, divided by the time from the start of the run until they had (the
// timeline is sampled every second; linear in between).
func joinRate(tl []load.TimelinePoint) float64 {
	if len(tl) == 0 {
		return 0
	}
	final := tl[len(tl)-1].GotAudio
	for _, p := range tl {
		final = max(final, p.GotAudio)
	}
	want := 0.99 * float64(final)
	if final == 0 {
		return 0
	}
	prev := load.TimelinePoint{}
	for _, p := range tl {
		if g := float64(p.GotAudio); g >= want {
			t := p.T
			if d := g - float64(prev.GotAudio); d > 0 {
				t = prev.T + (p.T-prev.T)*(want-float64(prev.GotAudio))/d
			}
			if t <= 0 {
				return 0
			}
			return want / t
		}
		prev = p
	}
	return 0
}

// groupRuns gathers the runs by target and crowd size, in table order
// (crowd, then onair, icecast2, baseline), and takes their figures.
func groupRuns(rows []row) []group {
	var groups []group
	for _, r := range rows {
		i := slices.IndexFunc(groups, func(g group) bool { return g.target == r.target && g.n == r.n })
		if i < 0 {
			groups = append(groups, group{target: r.target, n: r.n})
			i = len(groups) - 1
		}
		groups[i].runs = append(groups[i].runs, r)
	}
	slices.SortStableFunc(groups, func(a, b group) int {
		if a.n != b.n {
			return a.n - b.n
		}
		return slices.Index(order, a.target) - slices.Index(order, b.target)
	})
	for i := range groups {
		g := &groups[i]
		slices.SortStableFunc(g.runs, func(a, b row) int { return a.run - b.run })
		figure := func(f func(row) float64) []float64 {
			v := make([]float64, len(g.runs))
			for j, r := range g.runs {
				v[j] = f(r)
			}
			return v
		}
		cpus := figure(func(r row) float64 { return r.cpu })
		g.cpu, g.cpuMin, g.cpuMax = median(cpus), slices.Min(cpus), slices.Max(cpus)
		g.rss = median(figure(func(r row) float64 { return r.rss }))
		g.joinRate = median(figure(func(r row) float64 { return r.joinRate }))
		g.idle = median(figure(func(r row) float64 { return r.idle }))
		g.held = g.runs[0].held
		for _, r := range g.runs {
			g.held = min(g.held, r.held)
		}
	}
	return groups
}

// median is the middle value, or the mean of the two middle ones.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

// maxRuns is the most runs of any group: 1 when each target and crowd ran once.
func maxRuns(groups []group) int {
	k := 0
	for _, g := range groups {
		k = max(k, len(g.runs))
	}
	return k
}

func cellsOf(groups []group) [][]string {
	spread := maxRuns(groups) > 1
	head := []string{"listeners", "target", "held stall-free", "CPU µs/listener-s", "RSS KiB/listener", "join rate /s", "idle CPU ms/s", "CPU onair/x", "RSS onair/x"}
	if spread {
		head = slices.Insert(head, 4, "CPU min–max")
	}
	cells := [][]string{head}
	for _, g := range groups {
		ratioCPU, ratioRSS := "—", "—"
		if g.target != "onair" {
			if o, ok := find(groups, "onair", g.n); ok {
				ratioCPU, ratioRSS = ratio(o.cpu, g.cpu), ratio(o.rss, g.rss)
			}
		}
		c := []string{thousands(int64(g.n)), g.target,
			fmt.Sprintf("%s (%.1f%%)", thousands(g.held), 100*float64(g.held)/float64(g.n)),
			fmt.Sprintf("%.1f", g.cpu), fmt.Sprintf("%.2f", g.rss), thousands(int64(g.joinRate + 0.5)), fmt.Sprintf("%.1f", g.idle), ratioCPU, ratioRSS}
		if spread {
			s := "—"
			if len(g.runs) > 1 {
				s = fmt.Sprintf("%.1f–%.1f", g.cpuMin, g.cpuMax)
			}
			c = slices.Insert(c, 4, s)
		}
		cells = append(cells, c)
	}
	return cells
}

func find(groups []group, target string, n int) (group, bool) {
	for _, g := range groups {
		if g.target == target && g.n == n {
			return g, true
		}
	}
	return group{}, false
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// legend says what the columns are.
const legend = `held stall-free: listeners that got audio and never fell more than the stall threshold behind real time.
CPU: the server's CPU per listener-second at full load (>= 99% of the crowd connected), net of its idle CPU
(the "idle" column: what it spends with no listener). RSS: (RSS at full load - RSS before the run) / peak listeners.
join rate: 99% of the listeners that got audio / the time from the first arrival until they had.
onair/x: onair's figure divided by this target's, for the same crowd (below 1: onair spends less).`

// legendRuns adds to the legend when some target and crowd ran more than once.
const legendRuns = `Each row is the median of %d runs (the targets interleaved: onair, icecast2, baseline, onair, ...):
CPU, RSS, join rate and idle are the medians of the runs, and the ratios divide the medians;
held stall-free is the lowest of the runs (the worst run); CPU min–max: the lowest and highest run's CPU.`

func writeNotes(w io.Writer, groups []group) {
	fmt.Fprintf(w, "\n%s\n", legend)
	k := maxRuns(groups)
	if k > 1 {
		fmt.Fprintf(w, legendRuns+"\n", k)
	}
	first := true
	note := func(format string, a ...any) {
		if first {
			fmt.Fprintln(w, "\nNotes:")
			first = false
		}
		fmt.Fprintf(w, "- "+format+"\n", a...)
	}
	for _, g := range groups {
		if len(g.runs) < k {
			note("%s, %s listeners: median of %d run%s, not %d", g.target, thousands(int64(g.n)), len(g.runs), plural(len(g.runs)), k)
		}
		for i, r := range g.runs {
			if len(r.notes) == 0 {
				continue
			}
			if len(g.runs) == 1 {
				note("%s, %s listeners: %s", g.target, thousands(int64(g.n)), strings.Join(r.notes, "; "))
				continue
			}
			run := r.run
			if run == 0 {
				run = i + 1
			}
			note("%s, %s listeners, run %d: %s", g.target, thousands(int64(g.n)), run, strings.Join(r.notes, "; "))
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	return keys
}

// thousands formats n with commas: 19,000.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Command table turns the JSON reports of a bench run ("onair load --json",
// one file per target and crowd, named TARGET-N.json) into the side-by-side
// table: listeners held stall-free, the server's CPU per listener-second and
// RSS per listener, the join rate, and onair's ratios to the others. It
// prints the table and writes it as Markdown (--md).
//
// CPU per listener-second is taken at full load (the seconds of the
// timeline with at least 99% of the peak connected) and net of the server's
// idle CPU: what each listener adds, without what the server spends with no
// listener at all (onair's mixer, encoder, packagers and recorder). The idle
// rate comes from TARGET-N.idle when present ("TICKS HZ SECONDS": CPU
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
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/onair-live/onair/internal/load"
)

// order is the row order within a crowd size; onair is the numerator of the ratios.
var order = []string{"onair", "icecast2", "baseline"}

// row is one run's figures.
type row struct {
	target    string
	n         int
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

func main() {
	md := flag.String("md", "", "also write the table as Markdown to this file")
	title := flag.String("title", "", "a line saying what was run (shown above the table)")
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
		log.Fatal("usage: table [--md FILE] [--title LINE] TARGET-N.json ...")
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if a.n != b.n {
			return a.n - b.n
		}
		return slices.Index(order, a.target) - slices.Index(order, b.target)
	})
	cells := cellsOf(rows)
	if *title != "" {
		fmt.Println(*title)
		fmt.Println()
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range cells {
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	tw.Flush()
	writeNotes(os.Stdout, rows)
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
		writeNotes(&sb, rows)
		if err := os.WriteFile(*md, []byte(sb.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
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
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	target := name
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		target = name[:i]
	}
	r := row{target: target, n: rep.Config.Listeners, file: file, completed: rep.Listeners.Completed,
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

func cellsOf(rows []row) [][]string {
	cells := [][]string{{"listeners", "target", "held stall-free", "CPU µs/listener-s", "RSS KiB/listener", "join rate /s", "idle CPU ms/s", "CPU onair/x", "RSS onair/x"}}
	for _, r := range rows {
		ratioCPU, ratioRSS := "—", "—"
		if r.target != "onair" {
			if o, ok := find(rows, "onair", r.n); ok {
				ratioCPU, ratioRSS = ratio(o.cpu, r.cpu), ratio(o.rss, r.rss)
			}
		}
		cells = append(cells, []string{thousands(int64(r.n)), r.target,
			fmt.Sprintf("%s (%.1f%%)", thousands(r.held), 100*float64(r.held)/float64(r.n)),
			fmt.Sprintf("%.1f", r.cpu), fmt.Sprintf("%.2f", r.rss), thousands(int64(r.joinRate + 0.5)), fmt.Sprintf("%.1f", r.idle), ratioCPU, ratioRSS})
	}
	return cells
}

func find(rows []row, target string, n int) (row, bool) {
	for _, r := range rows {
		if r.target == target && r.n == n {
			return r, true
		}
	}
	return row{}, false
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

func writeNotes(w io.Writer, rows []row) {
	fmt.Fprintf(w, "\n%s\n", legend)
	first := true
	for _, r := range rows {
		if len(r.notes) == 0 {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nNotes:")
			first = false
		}
		fmt.Fprintf(w, "- %s, %s listeners: %s\n", r.target, thousands(int64(r.n)), strings.Join(r.notes, "; "))
	}
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

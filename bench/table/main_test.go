package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onair-live/onair/internal/load"
)

func TestJoinRateAndFullLoad(t *testing.T) {
	// 1,000 listeners a second for 4 s, all in by 4 s, then 3 s at full load
	// with the server spending 0.1 s of CPU a second.
	tl := []load.TimelinePoint{{}}
	for s := 1; s <= 7; s++ {
		n := int64(min(s, 4) * 1000)
		tl = append(tl, load.TimelinePoint{T: float64(s), GotAudio: n, Connected: n, ServerCPUS: 0.1 * float64(s), ServerRSSKiB: 1})
	}
	if r := joinRate(tl); math.Abs(r-1000) > 1 {
		t.Errorf("join rate %.1f, want 1000", r)
	}
	ls, cpu, secs := fullLoad(tl)
	if ls != 12000 || math.Abs(cpu-0.3) > 1e-9 || secs != 3 {
		t.Errorf("full load: %v listener-s, %v s CPU over %v s; want 12000, 0.3, 3", ls, cpu, secs)
	}
	if joinRate(nil) != 0 || joinRate([]load.TimelinePoint{{}, {T: 1}}) != 0 {
		t.Error("no audio: want a rate of 0")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 19000: "19,000", 1234567: "1,234,567", -5000: "-5,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// writeReport writes a minimal report of n listeners, held of them stall-free,
// at full load for 10 s with the server spending cpuUs µs per listener-second
// (idle none), rss KiB per listener, all joined in the first second.
func writeReport(t *testing.T, dir, name string, n int, held int64, cpuUs, rss float64) string {
	t.Helper()
	rep := load.Report{
		Config:    load.Config{Listeners: n},
		Listeners: load.ListenerCounts{Target: n, GotAudio: int64(n), Completed: int64(n)},
		Stalls:    load.StallReport{Events: int64(n) - held, Listeners: int64(n) - held, Seconds: 1},
		Server:    &load.ServerReport{RSSPerListenerKiB: rss},
	}
	for s := 0; s <= 11; s++ {
		p := load.TimelinePoint{T: float64(s)}
		if s > 0 {
			p.GotAudio, p.Connected, p.ServerRSSKiB = int64(n), int64(n), 1
			p.ServerCPUS = float64(s-1) * float64(n) * cpuUs / 1e6
		}
		rep.Timeline = append(rep.Timeline, p)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestGroupsAndMedians(t *testing.T) {
	dir := t.TempDir()
	var files []string
	add := func(name string, n int, held int64, cpu, rss float64) {
		files = append(files, writeReport(t, dir, name, n, held, cpu, rss))
	}
	// Three interleaved runs of each target with 1,000 listeners (icecast2
	// lost one), and one run of each with 2,000.
	add("onair-1000.r1.json", 1000, 1000, 20, 3)
	add("icecast2-1000.r1.json", 1000, 990, 25, 2)
	add("baseline-1000.r1.json", 1000, 1000, 40, 4)
	add("onair-1000.r2.json", 1000, 1000, 36, 3.5) // 26 net of 10 ms/s idle
	add("baseline-1000.r2.json", 1000, 1000, 44, 5)
	add("onair-1000.r3.json", 1000, 995, 38, 2.5) // 18 net of 20 ms/s idle
	add("icecast2-1000.r3.json", 1000, 1000, 15, 1)
	add("baseline-1000.r3.json", 1000, 1000, 36, 4.5)
	add("onair-2000.json", 2000, 2000, 10, 3)
	add("baseline-2000.json", 2000, 1900, 20, 6)
	// Each run's idle CPU from its own file (10 and 20 ms/s: 10 and 20 µs
	// per listener-second for 1,000 listeners).
	for name, idle := range map[string]string{"onair-1000.r2.idle": "5 100 5\n", "onair-1000.r3.idle": "10 100 5\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(idle), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var rows []row
	for _, f := range files {
		r, err := read(f)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	groups := groupRuns(rows)
	type want struct {
		target        string
		n, runs       int
		held          int64
		cpu, min, max float64
		rss, joinRate float64
		firstRun      int
	}
	wants := []want{
		{"onair", 1000, 3, 995, 20, 18, 26, 3, 1000, 1},
		{"icecast2", 1000, 2, 990, 20, 15, 25, 1.5, 1000, 1},
		{"baseline", 1000, 3, 1000, 40, 36, 44, 4.5, 1000, 1},
		{"onair", 2000, 1, 2000, 10, 10, 10, 3, 2000, 0},
		{"baseline", 2000, 1, 1900, 20, 20, 20, 6, 2000, 0},
	}
	if len(groups) != len(wants) {
		t.Fatalf("%d groups, want %d", len(groups), len(wants))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for i, w := range wants {
		g := groups[i]
		if g.target != w.target || g.n != w.n || len(g.runs) != w.runs || g.held != w.held || g.runs[0].run != w.firstRun {
			t.Errorf("group %d: %s %d, %d runs (first %d), held %d; want %s %d, %d runs (first %d), held %d",
				i, g.target, g.n, len(g.runs), g.runs[0].run, g.held, w.target, w.n, w.runs, w.firstRun, w.held)
		}
		if !near(g.cpu, w.cpu) || !near(g.cpuMin, w.min) || !near(g.cpuMax, w.max) || !near(g.rss, w.rss) || !near(g.joinRate, w.joinRate) {
			t.Errorf("%s %d: CPU %v (%v–%v), RSS %v, join %v; want %v (%v–%v), %v, %v",
				g.target, g.n, g.cpu, g.cpuMin, g.cpuMax, g.rss, g.joinRate, w.cpu, w.min, w.max, w.rss, w.joinRate)
		}
	}

	cells := cellsOf(groups)
	if got := cells[0][4]; got != "CPU min–max" {
		t.Errorf("column 5 is %q, want the CPU spread", got)
	}
	for i, w := range [][]string{
		{"1,000", "onair", "995 (99.5%)", "20.0", "18.0–26.0", "3.00", "1,000", "10.0", "—", "—"},
		{"1,000", "icecast2", "990 (99.0%)", "20.0", "15.0–25.0", "1.50", "1,000", "0.0", "1.00×", "2.00×"},
		{"1,000", "baseline", "1,000 (100.0%)", "40.0", "36.0–44.0", "4.50", "1,000", "0.0", "0.50×", "0.67×"},
		{"2,000", "onair", "2,000 (100.0%)", "10.0", "—", "3.00", "2,000", "0.0", "—", "—"},
		{"2,000", "baseline", "1,900 (95.0%)", "20.0", "—", "6.00", "2,000", "0.0", "0.50×", "0.50×"},
	} {
		if !slices.Equal(cells[i+1], w) {
			t.Errorf("row %d: %q\nwant   %q", i+1, cells[i+1], w)
		}
	}

	var notes strings.Builder
	writeNotes(&notes, groups)
	for _, s := range []string{
		"median of 3 runs",
		"- icecast2, 1,000 listeners: median of 2 runs, not 3",
		"- onair, 1,000 listeners, run 3: 5 stalls on 5 listeners",
		"- baseline, 2,000 listeners: median of 1 run, not 3",
		"- baseline, 2,000 listeners: 100 stalls on 100 listeners",
	} {
		if !strings.Contains(notes.String(), s) {
			t.Errorf("notes lack %q:\n%s", s, notes.String())
		}
	}

	// One run per group: the table of old, without the spread column or the runs' legend.
	single := groupRuns(rows[len(rows)-2:])
	if c := cellsOf(single); len(c[0]) != 9 || slices.Contains(c[0], "CPU min–max") {
		t.Errorf("one run each: header %q", c[0])
	}
	notes.Reset()
	writeNotes(&notes, single)
	if strings.Contains(notes.String(), "median") {
		t.Errorf("one run each: notes speak of medians:\n%s", notes.String())
	}
}

func TestNameOf(t *testing.T) {
	for file, want := range map[string]struct {
		target string
		run    int
	}{
		"results/onair-5000.json":        {"onair", 0},
		"results/icecast2-19000.r3.json": {"icecast2", 3},
		"hls-cache-classic-30000.json":   {"hls-cache-classic", 0},
		"/x/baseline-1000.r12.json":      {"baseline", 12},
		"odd.json":                       {"odd", 0},
	} {
		if target, run := nameOf(file); target != want.target || run != want.run {
			t.Errorf("nameOf(%q) = %q, %d; want %q, %d", file, target, run, want.target, want.run)
		}
	}
}

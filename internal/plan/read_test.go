package plan

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadResults reads copies of real bench/results files (testdata/results:
// bench/run's onair-1000.json and table.md, bench/cluster's e1-1000 and
// e3-1500; hls-cache-classic-30000.txt is written in bench/hls-cache's
// output format from its README figures, no run of it being kept).
func TestReadResults(t *testing.T) {
	f, notes, err := ReadFigures("testdata/results")
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, want float64) {
		t.Helper()
		got, ok := f[name]
		if !ok || math.Abs(got.Value-want) > 0.01*math.Abs(want)+0.05 {
			t.Errorf("%s = %+v, want %g", name, got, want)
		}
	}
	// cluster-e1-1000: 39 ticks at 100 Hz over 10.052 s for 1,000
	// listeners = 38.8 µs gross, less 0.01 cores idle = 28.8.
	near("cpu.ogg", 28.8)
	near("origin_cores", 0.043)
	// onair-1000.json: 132,061,621 B in 19,986.3 listener-seconds.
	near("bytes.ogg", 6607.6)
	near("rss.ogg", 7.676)
	near("edge_base_mib", 43.71)
	near("load_us", 23.78)
	// (1.77 - 68.925 µs × 1,000 × 19.007 s - 0.04998 × (21.24 - 19.007)) / 1,000 joins
	near("join_us", (1.77-68.925e-6*1000*19.007154428-0.04998278452949008*(21.240124252-19.007154428))*1e6/1000)
	near("cpu.hls", 28.7)
	near("shield_reach.hls", 0.21)
	if f["cpu.ogg"].Run == nil || f["cpu.ogg"].Run.Listeners != 1000 || !strings.Contains(f["cpu.ogg"].Source, "cluster-e1-1000.cpu") {
		t.Errorf("cpu.ogg's run: %+v", f["cpu.ogg"])
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "cluster-e3-1500.cpu: skipped (1500 of 1500 listeners stalled)") {
		t.Errorf("the stalled run was not skipped with its reason:\n%s", joined)
	}
}

// TestReadBadFiles: a file that is not whole is an error naming the file
// and the field, and a file of no known format given alone is refused.
func TestReadBadFiles(t *testing.T) {
	real, err := os.ReadFile("testdata/results/onair-1000.json")
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := os.ReadFile("testdata/results/cluster-e1-1000.cpu")
	for _, c := range []struct {
		name, body, want string
	}{
		{"r.json", strings.Replace(string(real), `"listener_seconds": 19986`, `"listener_seconds": -1`, 1), "field listener_seconds"},
		{"r.json", strings.Replace(string(real), `"protocol": "ogg"`, `"protocol": "rtmp"`, 1), `field config.protocol: "rtmp"`},
		{"r.json", `{"config": {"protocol": "ogg"}, "listeners": {}}`, "field listeners.target"},
		{"r.json", `{"config": 1, "listeners": 2}`, "not an onair load report"},
		{"c.cpu", strings.Replace(string(cpu), "span_s=10.052", "span_s=ten", 1), "field span_s"},
		{"c.cpu", strings.Replace(string(cpu), "edge1_cpu_ticks=39", "", 1), "field edge1_cpu_ticks: missing"},
		{"table.md", "| listeners | target |\n|---|---|\n| 1,000 | onair |\n", `field "CPU µs/listener-s"`},
		{"table.md", "no table here\n", "no onair row"},
		{"hls-cache-ll-3000.txt", "wall 10 s\n", `field "nginx (all workers) CPU"`},
		{"program.ogg", "OggS", "not a figures file"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, c.name)
		os.WriteFile(path, []byte(c.body), 0o644)
		if strings.HasSuffix(c.name, ".cpu") {
			os.WriteFile(filepath.Join(dir, "c.json"), real, 0o644)
		}
		_, _, err := ReadFigures(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file and %q", c.name, err, c.want)
		}
	}
	// A .cpu without its load report says so.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.cpu"), cpu, 0o644)
	if _, _, err := ReadFigures(dir); err == nil || !strings.Contains(err.Error(), "its load report") {
		t.Errorf("a .cpu alone: %v", err)
	}
}

// FuzzReadFigures: no input makes a reader panic, and whatever it takes
// is a finite figure.
func FuzzReadFigures(f *testing.F) {
	for _, name := range []string{"onair-1000.json", "cluster-e1-1000.cpu", "table.md", "hls-cache-classic-30000.txt"} {
		b, _ := os.ReadFile(filepath.Join("testdata/results", name))
		f.Add(name, b)
	}
	real, _ := os.ReadFile("testdata/results/cluster-e1-1000.json")
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		names := map[string]string{"onair-1000.json": "r.json", "cluster-e1-1000.cpu": "c.cpu", "table.md": "table.md",
			"hls-cache-classic-30000.txt": "hls-cache-classic-30000.txt"}
		file, ok := names[name]
		if !ok {
			file = "r.json"
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, file), body, 0o644)
		os.WriteFile(filepath.Join(dir, "c.json"), real, 0o644)
		figs, _, err := ReadFigures(dir)
		if err != nil {
			return
		}
		for n, fig := range figs {
			if math.IsNaN(fig.Value) || math.IsInf(fig.Value, 0) {
				t.Errorf("%s = %v from %q", n, fig.Value, body)
			}
		}
	})
}

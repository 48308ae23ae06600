package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/plan"
	"github.com/onair-live/onair/internal/receipts"
)

// TestPlanEightMillionJSON: the 8-million plan, parsed back from --json.
func TestPlanEightMillionJSON(t *testing.T) {
	onairBin(t) // built before the command's 30 s start
	html := filepath.Join(t.TempDir(), "plan.html")
	out := mustCLI(t, cleanEnv(), "plan", "--listeners", "8000000", "--surge", "2000000/60s", "--json", "--html", html)
	var rep plan.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json is not a plan: %v\n%.500s", err, out)
	}
	p := rep.Plan
	if p == nil || p.Input.Listeners != 8000000 || len(p.Tiers) < 6 {
		t.Fatalf("plan: %+v", p)
	}
	edges := 0
	for _, tr := range p.Tiers {
		if tr.Binding == "" || tr.Nodes < 1 || len(tr.Limits) != 4 {
			t.Errorf("tier %s: %d nodes, binding %q, %d limits", tr.Name, tr.Nodes, tr.Binding, len(tr.Limits))
		}
		if strings.HasPrefix(tr.Name, "edges") {
			edges += tr.Nodes
		}
	}
	if edges != p.JoinEdges || p.CDN.Players != 7600000 || p.Totals.BandwidthGbit < p.CDN.EgressGbit {
		t.Errorf("edges %d vs join edges %d, CDN %+v, totals %+v", edges, p.JoinEdges, p.CDN, p.Totals)
	}
	s := rep.Surge
	if s == nil || !s.Simulated || s.Admitted != 2000000 || s.TimeToAdmit.P99 <= s.TimeToAdmit.P50 || s.LongestLine == 0 {
		t.Errorf("surge: %+v", s)
	}
	if len(rep.Unknowns) < 5 || !strings.Contains(strings.Join(rep.Unknowns, "\n"), "Extrapolated, not measured: cpu.whep") {
		t.Errorf("cannot know: %q", rep.Unknowns)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"edges (ogg)", "onairCharts", "What this plan cannot know", "Surge: 2,000,000 arrivals"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the HTML page lacks %q", want)
		}
	}
	if strings.Contains(string(page), " src=") || strings.Contains(string(page), "<link") {
		t.Error("the HTML page fetches something")
	}
}

// TestPlanWhatIfAndFigures: --edges answers the other way round, with
// figures read from real bench/results files.
func TestPlanWhatIfAndFigures(t *testing.T) {
	out := mustCLI(t, cleanEnv("ONAIR_HEADROOM=1"), "plan", "--edges", "3", "--cores", "2", "--colocated", "--mix", "ogg=1",
		"--figures", "../../internal/plan/testdata/results")
	for _, want := range []string{"LISTENERS HELD:", "CPU binds first", "cluster-e1-1000.cpu", "skipped (1500 of 1500 listeners stalled)"} {
		if !strings.Contains(out, want) {
			t.Errorf("what-if output lacks %q:\n%s", want, out)
		}
	}
}

// TestPlanBadFlags: each mistake is named, exit 2, and nothing printed as a plan.
func TestPlanBadFlags(t *testing.T) {
	onairBin(t)
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"plan"}, "give --listeners N"},
		{nil, []string{"plan", "--listeners", "10", "--edges", "3"}, "not both"},
		{nil, []string{"plan", "--listeners", "10", "--mix", "hls=0.5"}, "--mix: mix: the shares sum to 0.5"},
		{nil, []string{"plan", "--listeners", "10", "--surge", "10"}, "--surge: surge \"10\": want ARRIVALS/DURATION"},
		{nil, []string{"plan", "--listeners", "10", "--botnet", "10/1"}, "--botnet goes with --surge"},
		{nil, []string{"plan", "--listeners", "10", "--colocated"}, "--colocated is for a what-if"},
		{nil, []string{"plan", "--verify-claim", "8000000"}, "--verify-claim needs --receipts"},
		{nil, []string{"plan", "--verify-claim", "lots", "--receipts", "x"}, "want the listeners claimed"},
		{[]string{"ONAIR_HEADROOM=2"}, []string{"plan", "--listeners", "10"}, "headroom 2: want a share"},
		{[]string{"ONAIR_CORES=many"}, []string{"plan", "--listeners", "10"}, "$ONAIR_CORES=\"many\": invalid value for --cores: want a number"},
	} {
		out, errs, code := cli(t, cleanEnv(c.env...), c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v %v: exit %d, stderr %q, stdout %.80q; want exit 2 saying %q", c.env, c.args, code, errs, out, c.want)
		}
	}
	_, errs, code := cli(t, cleanEnv(), "plan", "--listeners", "10", "--figures", "/nonexistent/figures")
	if code != 1 || !strings.Contains(errs, "/nonexistent/figures") {
		t.Errorf("missing --figures: exit %d, %q", code, errs)
	}
}

// TestPlanVerifyClaim: a figure read from a run is backed by the signed
// claim that run logged, found by its start second; a claim altered after
// signing is not verified; figures with no run say so.
func TestPlanVerifyClaim(t *testing.T) {
	dir := t.TempDir()
	l, err := receipts.Open(dir, "node-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := receipts.LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), "onair-load/test")
	if err != nil {
		t.Fatal(err)
	}
	// The run of testdata/results/cluster-e1-1000.json (cpu.ogg's source).
	start, _ := time.Parse(time.RFC3339, "2026-12-01T22:05:15Z")
	log := func(c load.Claim) {
		signed, err := receipts.SignClaim(k, c)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := json.Marshal(receipts.ClaimEntry{V: 1, Kind: "claim", T: c.StartT, Key: k.VKey, Note: string(signed)})
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	c := load.Claim{V: 1, Tool: "onair load", Protocol: "ogg", StartT: start.Unix(), EndT: start.Unix() + 26,
		Listeners: load.ListenerCounts{Target: 1000, PeakConnected: 1000}}
	log(c)
	other := c
	other.StartT += 3600 // another run: matches nothing
	log(other)
	// onair-1000.json's run (bytes.ogg's source), its claim altered after signing.
	tampered := c
	tampered.StartT = 1796162527
	signed, _ := receipts.SignClaim(k, tampered)
	altered := strings.Replace(string(signed), `"peak_connected":1000`, `"peak_connected":9000`, 1)
	e, _ := json.Marshal(receipts.ClaimEntry{V: 1, Kind: "claim", T: tampered.StartT, Key: k.VKey, Note: altered})
	if _, err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, cleanEnv(), "plan", "--verify-claim", "8,000,000", "--receipts", dir, "--json",
		"--figures", "../../internal/plan/testdata/results")
	var rep plan.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	cc := rep.Claims
	if cc == nil || len(cc.Logs) != 1 || !cc.Logs[0].Verified || cc.Logs[0].Claims != 3 || rep.Plan.Input.Listeners != 8000000 {
		t.Fatalf("claims: %+v", cc)
	}
	by := map[string]plan.FigureBacking{}
	for _, f := range cc.Figures {
		by[f.Figure] = f
	}
	cpu := by["cpu.ogg"]
	if !cpu.Backed || len(cpu.Entries) != 1 || cpu.Entries[0].Index != 0 || cpu.Entries[0].Key != k.VKey ||
		!strings.Contains(cpu.Entries[0].Summary, "1000 listeners held") {
		t.Errorf("cpu.ogg: %+v", cpu)
	}
	if w := by["cpu.whep"]; w.Backed || !strings.Contains(w.Note, "extrapolated") {
		t.Errorf("cpu.whep: %+v", w)
	}
	if d := by["draws_max"]; d.Backed || !strings.Contains(d.Note, "no backing claim") {
		t.Errorf("draws_max: %+v", d)
	}
	// bytes.ogg comes from onair-1000.json, whose claim was altered.
	if b := by["bytes.ogg"]; b.Backed || len(b.Entries) != 1 || b.Entries[0].Verified || !strings.Contains(b.Entries[0].Why, "altered") {
		t.Errorf("bytes.ogg: %+v", b)
	}
	// rss.hls's protocol has no run at all.
	if r := by["cpu.hls"]; r.Backed || !strings.Contains(r.Note, "no backing claim") {
		t.Errorf("cpu.hls: %+v", r)
	}
}

package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/verdict"
)

// writeLog makes a real receipts log of n seconds from t0, a crowd
// arriving from second 100 to 140.
func writeLog(t *testing.T, dir string, t0 int64, n int) string {
	t.Helper()
	l, err := receipts.Open(dir, "onair/test-node", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := telemetry.Record{V: 1, Kind: "second", T: t0 + int64(i), Requests: map[string]telemetry.Outcomes{"join": {Passed: 1}}}
		r.Node.Name = "test-node"
		r.Listeners.Total = 10
		if i >= 100 && i < 140 {
			r.Requests["join"] = telemetry.Outcomes{Passed: 200}
			r.Joins.Admitted, r.Listeners.Arrived, r.Flows.Started = 200, 190, 190
			r.Sources.JoinAddrs, r.Sources.JoinPrefixes, r.Sources.SeenBefore, r.Sources.SeenFilter = 200, 150, 120, 500
			r.Flows.CohortN, r.Flows.Completion = 200, 0.95
		}
		b, _ := json.Marshal(r)
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return l.VerifierKey()
}

func render(t *testing.T, g *verdict.Gathered) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, FromGathered(g, "t")); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReportOfAVerifiedLog: the verdict, the banner and the data are there.
func TestReportOfAVerifiedLog(t *testing.T) {
	dir := t.TempDir()
	key := writeLog(t, dir, 1_800_000_000, 300)
	g, err := verdict.Gather(context.Background(), verdict.Query{Sources: []string{dir}, Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Verified() || g.Report.Verdict != verdict.FlashCrowd || len(g.Tainted) != 0 {
		t.Fatalf("verified %v, verdict %s, tainted %v", g.Verified(), g.Report.Verdict, g.Tainted)
	}
	page := render(t, g)
	for _, want := range []string{"The log verified", `id="verdict">flash_crowd<`, `"joins.admitted":[`, "onairDraw"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	bare := strings.ReplaceAll(page, "http://www.w3.org/2000/svg", "") // a namespace, not a fetch
	if strings.Contains(bare, "http://") || strings.Contains(bare, "https://") {
		t.Error("the page names a URL: it must open with no network")
	}
}

// TestReportOfATamperedLog: a log with a flipped byte is still read and
// judged, but the verdict and the report say it does not verify, and the
// seconds from the bad entry on are marked.
func TestReportOfATamperedLog(t *testing.T) {
	dir := t.TempDir()
	key := writeLog(t, dir, 1_800_000_000, 300)
	bundle := filepath.Join(dir, "tile/entries/000")
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"t":1800000050`))
	b[i+len(`"t":18000000`)] = '9' // second 50 becomes 90: a rewritten record
	if err := os.WriteFile(bundle, b, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := verdict.Gather(context.Background(), verdict.Query{Sources: []string{dir}, Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Verified() || len(g.Tainted) == 0 || g.Tainted[0][0] > 1_800_000_090 {
		t.Fatalf("verified %v, tainted %v: the flipped byte went unnoticed", g.Verified(), g.Tainted)
	}
	if g.Report.Seconds == 0 {
		t.Fatal("a log that does not verify was not read")
	}
	page := render(t, g)
	for _, want := range []string{"does NOT verify", "entries that did not verify", "test-node"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
}

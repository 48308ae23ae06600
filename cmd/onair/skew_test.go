package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skewJSON is the part of `onair receipts verdict --json` about clocks.
type skewJSON struct {
	Clocks []struct {
		Node    string  `json:"node"`
		Known   bool    `json:"known"`
		SkewMS  float64 `json:"skew_ms"`
		BoundMS float64 `json:"bound_ms"`
		ShiftS  int64   `json:"shift_s"`
		How     string  `json:"how"`
	} `json:"clocks"`
	Warnings []string `json:"clock_warnings"`
	Report   struct {
		Windows []struct {
			Class string `json:"class"`
			Onset int64  `json:"onset"`
		} `json:"windows"`
	} `json:"report"`
}

func verdictOf(t *testing.T, logs ...string) skewJSON {
	t.Helper()
	out := mustCLI(t, cleanEnv(), append([]string{"receipts", "verdict", "--json"}, logs...)...)
	var v skewJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("verdict --json: %v\n%s", err, out)
	}
	return v
}

// onsetAfter is the first window's onset, in seconds after began.
func (v skewJSON) onsetAfter(t *testing.T, began time.Time) int64 {
	t.Helper()
	if len(v.Report.Windows) == 0 {
		t.Fatalf("no incident window: %+v", v)
	}
	return v.Report.Windows[0].Onset - began.Unix()
}

// TestVerdictAlignsSkewedClocks runs an origin and two edges as separate
// processes on one `onair nats`, edge-1's clock 4.7 s behind
// (ONAIR_TEST_CLOCK_OFFSET), and a join surge on edge-1 only. Its own log
// puts the surge 4.7 s early; the verdict on the three logs finds the
// skew from the load reports the nodes logged of each other, within its
// stated bound, and puts the onset where it truly was.
func TestVerdictAlignsSkewedClocks(t *testing.T) {
	if testing.Short() {
		t.Skip("an origin, two edges and a join surge")
	}
	needFFmpeg(t)
	const skew = -4700 * time.Millisecond
	dir := t.TempDir()
	port := freePorts(t, 1)[0]
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	ns := startBounded(t, cleanEnv(), 4*time.Minute, onairBin(t), "nats", "--name", "nats-1",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", filepath.Join(dir, "nats"))
	poll(t, 20*time.Second, "onair nats", func() bool {
		if !ns.running() {
			t.Fatalf("onair nats exited: %s", ns.stderr)
		}
		c, err := net.Dial("tcp", strings.TrimPrefix(natsURL, "nats://"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	o := startRole(t, "origin", "origin", filepath.Join(dir, "origin"), natsURL)
	e1 := startRoleEnv(t, cleanEnv("ONAIR_TEST_CLOCK_OFFSET="+skew.String()), "edge", "edge-1", filepath.Join(dir, "edge-1"), natsURL)
	e2 := startRole(t, "edge", "edge-2", filepath.Join(dir, "edge-2"), natsURL)
	sp := o.createSpace(t, "skewed clocks")
	pushTone(t, o, sp, "host", 440)
	o.waitSpeaker(t, sp)
	o.goLive(t, sp)
	time.Sleep(8 * time.Second) // quiet seconds, with load reports each way
	// A ramp, not a flash: a 4 s flash of 300 puts ~19 joins in its third
	// second, one short of an elevated second, and a window needs three.
	began := loadRun(t, e1, sp, "--listeners", "300", "--ramp", "4s", "--duration", "4s")
	time.Sleep(3 * time.Second)
	for _, n := range []*node{e1, e2, o} {
		n.stop(t, syscall.SIGTERM)
	}
	logs := []string{filepath.Join(o.data, "receipts"), filepath.Join(e1.data, "receipts"), filepath.Join(e2.data, "receipts")}

	alone := verdictOf(t, logs[1])
	if len(alone.Report.Windows) == 0 {
		t.Log(mustCLI(t, cleanEnv(), "receipts", "show", logs[1])) // what the verdict had to go on
	}
	own := alone.onsetAfter(t, began)
	v := verdictOf(t, logs...)
	aligned := v.onsetAfter(t, began)
	t.Logf("surge began %s; onset by edge-1's own clock %+d s, lined up %+d s", clockOf(began.Unix()), own, aligned)
	if own > -3 || own < -7 {
		t.Errorf("edge-1's own log puts the onset %+d s from the surge; want about %v (its clock)", own, skew)
	}
	if aligned < -1 || aligned > 2 {
		t.Errorf("lined up, the onset is %+d s from the surge; want within 1-2 s", aligned)
	}
	want := map[string]float64{"origin": 0, "edge-1": float64(skew.Milliseconds()), "edge-2": 0}
	for _, c := range v.Clocks {
		t.Logf("clock %s: %+.1f ms ± %.1f ms (injected %+.0f ms), moved %+d s: %s", c.Node, c.SkewMS, c.BoundMS, want[c.Node], -c.ShiftS, c.How)
		if !c.Known || math.Abs(c.SkewMS-want[c.Node]) > c.BoundMS+1 || c.BoundMS > 250 {
			t.Errorf("clock %s: %+.1f ± %.1f ms, want %+.0f within the bound (≤ 250 ms)", c.Node, c.SkewMS, c.BoundMS, want[c.Node])
		}
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "edge-1: clock -4.7") {
		t.Errorf("warnings %q, want one of edge-1's clock", v.Warnings)
	}
	text := mustCLI(t, cleanEnv(), append([]string{"receipts", "verdict"}, logs...)...)
	if !strings.HasPrefix(text, "WARNING: edge-1: clock -4.7") {
		t.Errorf("the text verdict does not start with the warning:\n%s", text)
	}
	page := filepath.Join(dir, "report.html")
	mustCLI(t, cleanEnv(), append([]string{"receipts", "report", "--out", page}, logs...)...)
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), `id="clocks-warning"`) || !strings.Contains(string(b), "edge-1↔origin") && !strings.Contains(string(b), "origin↔edge-1") {
		t.Errorf("the report lacks the clocks' warning and table (%v)", err)
	}
}

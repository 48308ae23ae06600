package server_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const rulesDir = "../../docs/prometheus/"

// notYetExported are the series the cluster rules are written against
// that no onair exports yet (see onair-rules.yml), and Prometheus's own.
var notYetExported = map[string]bool{"onair_bus_connected": true, "up": true}

// TestPrometheusRules checks the alert rules (promtool check rules), runs
// their unit tests (promtool test rules), lints a live node's /metrics
// (promtool check metrics), and finds every series a rule reads in it, so a
// renamed metric cannot leave an alert that never fires.
func TestPrometheusRules(t *testing.T) {
	needBin(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "onair-rules.yml"}, {"test", "rules", "onair-rules.test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	e := startServer(t)
	id, tok := e.space("metrics")
	e.transition(id, tok, "start")
	e.join(id)
	resp, err := http.Get(e.host + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = bytes.NewReader(metrics)
	if out, err := lint.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)`).FindAllSubmatch(metrics, -1) {
		name := string(m[1])
		exported[name] = true
		if string(m[2]) == "histogram" {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				exported[name+s] = true
			}
		}
	}
	rules, err := os.ReadFile(rulesDir + "onair-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	exprs := regexp.MustCompile(`(?m)^\s+expr: (>\n(?:\s{10,}.*\n)+|.*)`).FindAllSubmatch(rules, -1)
	if len(exprs) < 13 {
		t.Fatalf("found %d rule expressions, want every rule's", len(exprs))
	}
	series := regexp.MustCompile(`\b(onair_[a-z_]+|process_[a-z_]+|up)\b`)
	for _, x := range exprs {
		for _, name := range series.FindAllString(string(x[1]), -1) {
			if !exported[name] && !notYetExported[name] {
				t.Errorf("a rule reads %s, which /metrics does not export: %s", name, strings.TrimSpace(string(x[1])))
			}
		}
	}
}

// scrape reads one series' value from the host port's /metrics (0 when
// absent).
func (e *env) scrape(series string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.host + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// TestOperatorMetrics: the series the alerts read move with what they
// stand for: a show past its start time is overdue until it goes live; a
// start is timed to its first recorded frame; a live show's recording grows.
func TestOperatorMetrics(t *testing.T) {
	e := startServer(t)
	code, sp := e.call("POST", e.host+"/api/v1/spaces", e.admin,
		map[string]any{"title": "late", "starts_at": time.Now().Add(-time.Minute).Format(time.RFC3339)})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, sp)
	}
	id, tok := sp["id"].(string), sp["host_token"].(string)
	if n := e.scrape("onair_spaces_overdue"); n != 1 {
		t.Errorf("onair_spaces_overdue %v with one late show, want 1", n)
	}
	starts, recorded := e.scrape("onair_space_start_delay_seconds_count"), e.scrape("onair_recording_bytes_total")
	e.transition(id, tok, "start")
	time.Sleep(1500 * time.Millisecond)
	if n := e.scrape("onair_spaces_overdue"); n != 0 {
		t.Errorf("onair_spaces_overdue %v once live, want 0", n)
	}
	if n := e.scrape(`onair_spaces{state="live"}`); n != 1 {
		t.Errorf(`onair_spaces{state="live"} %v, want 1`, n)
	}
	if n := e.scrape("onair_space_start_delay_seconds_count") - starts; n != 1 {
		t.Errorf("%v starts timed, want 1", n)
	}
	if n := e.scrape("onair_recording_bytes_total") - recorded; n <= 0 {
		t.Errorf("recording grew by %v bytes in 1.5 s live, want more than 0", n)
	}
}

package server_test

import (
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stageCounts reads onair_stage_requests_total by result (global to the
// test binary: take differences).
func stageCounts(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "onair_stage_requests_total" {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] += m.GetCounter().GetValue()
				out["all"] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// nginxCPU is the CPU time (user+system) of the nginx processes this test
// process started: its children named nginx and their workers.
func nginxCPU() time.Duration {
	type proc struct {
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if err != nil || i < 0 || !strings.Contains(s[:i], "(nginx") {
			continue
		}
		f := strings.Fields(s[i+2:]) // state ppid ... utime(12) stime(13)
		if len(f) < 14 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid, time.Duration(ut+st) * 10 * time.Millisecond} // USER_HZ 100
	}
	var total time.Duration
	for _, p := range procs {
		parent, ok := procs[p.ppid]
		if p.ppid == os.Getpid() || (ok && parent.ppid == os.Getpid()) {
			total += p.cpu
		}
	}
	return total
}

// TestNginxCollapsesStage: 2,000 listener pages poll a live space's stage
// document every second through nginx with docs/nginx-onair.conf; onair
// answers about one request a second for all of them.
func TestNginxCollapsesStage(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Skipf("%s not installed (scripts/deps.sh test installs nginx-light)", nginxBin)
	}
	if testing.Short() {
		t.Skip("2,000 pollers for 10 s")
	}
	const (
		pages  = 2000
		runFor = 10 * time.Second
		every  = time.Second
	)
	e := startServer(t)
	id, tok := e.space("Polled")
	synthSpeaker(t, e, id)
	e.transition(id, tok, "start")
	cdn := startNginx(t, e.pub)
	url := cdn + "/stage/" + id + ".json"

	tr := &http.Transport{MaxIdleConnsPerHost: pages, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	before, cpu0 := stageCounts(t), nginxCPU()
	start := time.Now()
	var mu sync.Mutex
	var lat []time.Duration
	bad := 0
	var wg sync.WaitGroup
	for range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pages opened at random moments poll on their own phase.
			next := start.Add(time.Duration(rand.Int64N(int64(every))))
			var mine []time.Duration
			fails := 0
			for ; next.Before(start.Add(runFor)); next = next.Add(every) {
				time.Sleep(time.Until(next))
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					fails++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails++
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat, bad = append(lat, mine...), bad+fails
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	after, cpu := stageCounts(t), nginxCPU()-cpu0
	origin := after["all"] - before["all"]
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(100 * time.Microsecond) }
	t.Logf("%d pages, %d requests to nginx in %.1f s (%d failed); onair answered %.0f (%.2f/s: %.0f built, %.0f cached, %.0f not modified); nginx answer p50 %v p99 %v, nginx CPU %v (%.0f µs a poll)",
		pages, len(lat), elapsed, bad, origin, origin/elapsed, after["built"]-before["built"], after["cached"]-before["cached"],
		after["not_modified"]-before["not_modified"], pct(0.5), pct(0.99), cpu, float64(cpu.Microseconds())/float64(len(lat)))
	if bad > 0 || len(lat) < pages*int(runFor/every)*9/10 {
		t.Fatalf("%d of %d polls failed", bad, len(lat)+bad)
	}
	if perSec := origin / elapsed; perSec > 2.5 {
		t.Fatalf("onair answered %.2f stage requests a second for %d pages; want about 1", perSec, pages)
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShowStartsOnTimeWithCrowd connects a crowd of progressive Ogg
// listeners (onair load) to one space of an onair serve process, then starts
// other shows on the same process: the time from the host's start call to the
// first program page on disk must stay what it is without the crowd, and the
// crowd must be served without a stall meanwhile.
//
// The crowd is 19,000 listeners when the open-file limit allows (20,000 per
// process), or $ONAIR_CROWD_LISTENERS.
func TestShowStartsOnTimeWithCrowd(t *testing.T) {
	if testing.Short() {
		t.Skip("connects a crowd of thousands of listeners")
	}
	needFFmpeg(t)
	n, fdMax := crowdSize(t)
	const arrivalRate = 1000 // listeners per second
	ramp := time.Duration(n) * time.Second / arrivalRate

	// A gate that lets the crowd in as fast as it comes, as bench/run does.
	data := t.TempDir()
	s := startBoundedServer(t, data, 3*time.Minute,
		"ONAIR_JOIN_RATE=1000", "ONAIR_ADMIT_RATE_MAX=100000", "ONAIR_GATE_MODE=normal")
	if lim := openFileLimit(t, s.cmd.Process.Pid); lim < uint64(n)+500 {
		t.Fatalf("onair serve may hold %d open files (hard limit %d): too few for %d listeners", lim, fdMax, n)
	}

	// Space A: the show the crowd listens to.
	a := s.createSpace(t, "Crowd show")
	pushTone(t, s, a, "a", 440)
	s.waitSpeaker(t, a)
	s.goLive(t, a)

	alone := make([]startTiming, 3)
	for i := range alone {
		alone[i] = measureStart(t, s, fmt.Sprintf("Alone %d", i+1))
	}

	// The admission controller starts at 500 joins/s and adds 100/s every
	// healthy second: wait until it is well above the arrival rate.
	waitAdmitRate(t, s, 1.5*arrivalRate)

	report := filepath.Join(t.TempDir(), "load.json")
	load := startBounded(t, cleanEnv(), ramp+2*time.Minute, onairBin(t), "load",
		"--target", s.pub, "--space", a.id, "--listeners", strconv.Itoa(n),
		"--ramp", ramp.String(), "--duration", "60s", "--max-time", (ramp + 60*time.Second).String(),
		"--sources", "127.0.0.0/16", "--json", report)
	crowdFrom := time.Now()
	poll(t, ramp+60*time.Second, fmt.Sprintf("the server to count %d Ogg listeners", n), func() bool {
		if !load.running() {
			t.Fatalf("onair load exited early: %v\nstdout:\n%s\nstderr:\n%s", load.err, load.stdout, load.stderr)
		}
		return oggListeners(t, s) >= n
	})
	t.Logf("%d listeners connected %.1f s after the load started (ramp %v)", n, time.Since(crowdFrom).Seconds(), ramp)

	crowded := make([]startTiming, 3)
	for i := range crowded {
		crowded[i] = measureStart(t, s, fmt.Sprintf("Crowded %d", i+1))
	}
	if got := oggListeners(t, s); got < n {
		t.Errorf("after the starts the server counts %d Ogg listeners; %d were connected", got, n)
	}

	// Stop the crowd: onair load reports what it measured on SIGINT.
	if err := load.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := load.wait(t, 60*time.Second); code != 0 {
		t.Errorf("onair load exited %d\nstdout:\n%s\nstderr:\n%s", code, load.stdout, load.stderr)
	}
	var rep struct {
		Listeners struct {
			Target        int   `json:"target"`
			Joined        int64 `json:"joined"`
			GotAudio      int64 `json:"got_audio"`
			PeakConnected int64 `json:"peak_connected"`
		} `json:"listeners"`
		Stalls struct {
			Events    int64   `json:"events"`
			Listeners int64   `json:"listeners"`
			Seconds   float64 `json:"seconds"`
		} `json:"stalls"`
		Metrics map[string]struct {
			P50, P99, Max float64
		} `json:"metrics"`
		Errors map[string]int64 `json:"errors"`
	}
	b := mustRead(t, report)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", report, err)
	}
	fa, g2g := rep.Metrics["first_audio_ms"], rep.Metrics["glass_to_glass_ms"]
	t.Logf("crowd: %d joined, %d got audio, peak %d connected; %d stalls (%d listeners, %.1f s); first audio p50 %.0f ms p99 %.0f ms; glass-to-glass p50 %.0f ms p99 %.0f ms; errors %v",
		rep.Listeners.Joined, rep.Listeners.GotAudio, rep.Listeners.PeakConnected, rep.Stalls.Events,
		rep.Stalls.Listeners, rep.Stalls.Seconds, fa.P50, fa.P99, g2g.P50, g2g.P99, rep.Errors)
	if rep.Listeners.GotAudio != int64(n) {
		t.Errorf("%d of %d listeners got audio", rep.Listeners.GotAudio, n)
	}
	if rep.Stalls.Events != 0 {
		t.Errorf("the crowd stalled %d times (%d listeners, %.1f s in all): it was not served while the shows started",
			rep.Stalls.Events, rep.Stalls.Listeners, rep.Stalls.Seconds)
	}

	base, crowd := median(alone, startTiming.toPage), median(crowded, startTiming.toPage)
	t.Logf("start to first program page on disk: median %v alone, %v with %d listeners connected (samples %s; %s)",
		ms(base), ms(crowd), n, samples(alone), samples(crowded))
	t.Logf("of which recording opened to first program page on disk: median %v alone, %v with the crowd; start call answered after: median %v alone, %v with the crowd",
		ms(median(alone, startTiming.openToPage)), ms(median(crowded, startTiming.openToPage)),
		ms(median(alone, startTiming.toAnswer)), ms(median(crowded, startTiming.toAnswer)))
	if crowd > base+150*time.Millisecond {
		t.Errorf("with %d listeners connected the first program page was on disk %v after start; %v without: over 150 ms later",
			n, ms(crowd), ms(base))
	}
}

// crowdSize is the number of listeners: $ONAIR_CROWD_LISTENERS, or 19,000
// when a process may hold 20,000 open files. It raises this process's soft
// limit to the hard limit, for the children to inherit.
func crowdSize(t *testing.T) (n int, fdMax uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", lim.Max, err)
	}
	n = 19000
	if lim.Max < 20000 {
		n = int(lim.Max) - 1000
	}
	if v := os.Getenv("ONAIR_CROWD_LISTENERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("$ONAIR_CROWD_LISTENERS=%q: want a number of listeners", v)
		}
	} else if n < 1000 {
		t.Skipf("a process may hold only %d open files: too few for a crowd", lim.Max)
	}
	if uint64(n)+500 > lim.Max {
		t.Fatalf("%d listeners need %d open files per process; the hard limit is %d", n, n+500, lim.Max)
	}
	return n, lim.Max
}

// openFileLimit reads a process's soft RLIMIT_NOFILE from /proc.
func openFileLimit(t *testing.T, pid int) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			if v, err := strconv.ParseUint(strings.Fields(rest)[0], 10, 64); err == nil {
				return v
			}
		}
	}
	t.Fatalf("/proc/%d/limits shows no open-file limit", pid)
	return 0
}

var crowdClient = &http.Client{Timeout: 10 * time.Second}

// hostGet reads a host-port URL.
func hostGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := crowdClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return b
}

// oggListeners is the server's count of progressive Ogg listeners, from
// its metrics.
func oggListeners(t *testing.T, s *node) int {
	t.Helper()
	for _, line := range strings.Split(string(hostGet(t, s.host+"/metrics")), "\n") {
		if v, ok := strings.CutPrefix(line, `onair_listeners{protocol="ogg"} `); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metrics: %q: %v", line, err)
			}
			return int(f)
		}
	}
	return 0 // not reported before the first listener
}

// waitAdmitRate waits until the gate admits at least rate joins per second.
func waitAdmitRate(t *testing.T, s *node, rate float64) {
	t.Helper()
	var st struct {
		AdmitRate float64 `json:"admit_rate"`
	}
	poll(t, 60*time.Second, fmt.Sprintf("the admission rate to reach %.0f/s", rate), func() bool {
		if err := json.Unmarshal(hostGet(t, s.host+"/gate"), &st); err != nil {
			t.Fatalf("/gate: %v", err)
		}
		return st.AdmitRate >= rate
	})
}

// hostCall is a POST to the host API with the space's token.
func hostCall(s *node, sp createdSpace, verb string) error {
	req, _ := http.NewRequest("POST", s.host+"/api/v1/spaces/"+sp.id+"/"+verb, nil)
	req.Header.Set("Authorization", "Bearer "+sp.token)
	resp, err := crowdClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %s %s", verb, sp.id, resp.Status, b)
	}
	return nil
}

// startTiming is one start of a show, from the host's start call: when the
// call was answered, when the recording file appeared (its headers) and when
// the first program page was on disk (the file past 200 bytes).
type startTiming struct{ answered, open, page time.Duration }

func (x startTiming) toPage() time.Duration     { return x.page }
func (x startTiming) toAnswer() time.Duration   { return x.answered }
func (x startTiming) openToPage() time.Duration { return x.page - x.open }

// measureStart creates a space with its own speaker, starts it with the host
// API, watches its recording every millisecond, then ends it and stops the
// speaker, so that every sample runs beside the same other shows.
func measureStart(t *testing.T, s *node, title string) startTiming {
	t.Helper()
	sp := s.createSpace(t, title)
	spk := pushTone(t, s, sp, "b", 660)
	s.waitSpeaker(t, sp)
	path := filepath.Join(s.data, "recordings", sp.id+".opus")
	type answer struct {
		err error
		at  time.Duration
	}
	answered := make(chan answer, 1)
	start := time.Now()
	go func() {
		err := hostCall(s, sp, "start")
		answered <- answer{err, time.Since(start)}
	}()
	var st startTiming
	for st.page == 0 {
		if fi, err := os.Stat(path); err == nil {
			if st.open == 0 {
				st.open = time.Since(start)
			}
			if fi.Size() > 200 {
				st.page = time.Since(start)
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s: no program on disk 10 s after start", title)
		}
		time.Sleep(time.Millisecond)
	}
	a := <-answered
	if a.err != nil {
		t.Fatal(a.err)
	}
	st.answered = a.at
	if err := hostCall(s, sp, "end"); err != nil {
		t.Fatal(err)
	}
	_ = spk.cmd.Process.Kill()
	spk.wait(t, 10*time.Second)
	return st
}

// median is the median of one figure over the samples (one sample alone is
// noisy).
func median(v []startTiming, f func(startTiming) time.Duration) time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = f(x)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func samples(v []startTiming) string {
	var s []string
	for _, x := range v {
		s = append(s, ms(x.page).String())
	}
	return strings.Join(s, ", ")
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

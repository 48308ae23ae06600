package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The verdict's scenarios: separate shows on real `onair serve` processes,
// played by `onair load` and its attack modes, then judged from the node's
// receipts log by `onair receipts verdict`, as anyone holding the log would.

// verdictJSON is the part of `onair receipts verdict --json` checked here.
type verdictJSON struct {
	Verified bool `json:"verified"`
	Report   struct {
		Verdict string `json:"verdict"`
		Windows []struct {
			Class      string  `json:"class"`
			From       int64   `json:"from"`
			To         int64   `json:"to"`
			Onset      int64   `json:"onset"`
			Confidence float64 `json:"confidence"`
			Summary    string  `json:"summary"`
		} `json:"windows"`
	} `json:"report"`
}

// show is one scenario: a space live from start to end, with what played it.
type show struct {
	name       string
	sp         createdSpace
	start, end time.Time
	onset      time.Time // when the crowd or the attack began
}

// runShow takes a new space live with a tone, runs play, and ends it.
func runShow(t *testing.T, s *node, name string, play func(sp createdSpace) time.Time) show {
	t.Helper()
	sh := show{name: name, sp: s.createSpace(t, name)}
	pushTone(t, s, sh.sp, "host", 440)
	s.waitSpeaker(t, sh.sp)
	sh.start, _ = s.goLive(t, sh.sp)
	sh.onset = play(sh.sp)
	if err := hostCall(s, sh.sp, "end"); err != nil {
		t.Fatal(err)
	}
	sh.end = time.Now()
	time.Sleep(1500 * time.Millisecond) // the end's second recorded
	return sh
}

// loadRun runs onair load against sp (bounded) and returns when it started.
func loadRun(t *testing.T, s *node, sp createdSpace, args ...string) time.Time {
	t.Helper()
	began := time.Now()
	a := append([]string{"load", "--target", s.pub, "--space", sp.id, "--no-claim", "--sources", "127.0.0.0/16"}, args...)
	p := startBounded(t, cleanEnv(), 3*time.Minute, onairBin(t), a...)
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Logf("onair load %v exited %d:\n%s%s", args, code, p.stdout, p.stderr)
	}
	return began
}

// judge runs the verdict CLI on the node's log over one show's span.
func judge(t *testing.T, s *node, sh show) verdictJSON {
	t.Helper()
	out := mustCLI(t, cleanEnv(), "receipts", "verdict", filepath.Join(s.data, "receipts"), "--json",
		"--from", strconv.FormatInt(sh.start.Unix(), 10), "--to", strconv.FormatInt(sh.end.Unix()+1, 10))
	var v verdictJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("verdict --json: %v\n%s", err, out)
	}
	for _, w := range v.Report.Windows {
		t.Logf("%s: %s %s–%s (onset +%d s after it began), confidence %.2f: %s", sh.name, w.Class,
			clockOf(w.From), clockOf(w.To), w.Onset-sh.onset.Unix(), w.Confidence, w.Summary)
	}
	if !v.Verified {
		t.Errorf("%s: the log did not verify", sh.name)
	}
	if testing.Verbose() { // the evidence, as a person reads it
		t.Log(mustCLI(t, cleanEnv(), "receipts", "verdict", filepath.Join(s.data, "receipts"),
			"--from", strconv.FormatInt(sh.start.Unix(), 10), "--to", strconv.FormatInt(sh.end.Unix()+1, 10)))
	}
	return v
}

func clockOf(t int64) string { return time.Unix(t, 0).UTC().Format("15:04:05") }

// expect checks the show's verdict and, for an incident, its onset.
func expect(t *testing.T, sh show, v verdictJSON, class string) {
	t.Helper()
	if v.Report.Verdict != class {
		t.Errorf("%s: verdict %s, want %s", sh.name, v.Report.Verdict, class)
		return
	}
	for _, w := range v.Report.Windows {
		if w.Class == class {
			if d := w.Onset - sh.onset.Unix(); d < -5 || d > 30 {
				t.Errorf("%s: onset %d s after the scenario began, want within 30 s", sh.name, d)
			}
			return
		}
	}
}

// TestVerdictScenarios plays, on one node, a quiet show, a flash crowd of
// returning listeners, a botnet, both at once, and a botnet that mimics a
// crowd (it solves the proof of work and joins at human rates from many
// new networks, but never listens); the first show seeds the networks
// "seen before".
func TestVerdictScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("five shows with crowds and botnets")
	}
	needFFmpeg(t)
	s := startBoundedServer(t, t.TempDir(), 10*time.Minute, "ONAIR_JOIN_RATE=20", "ONAIR_GATE_MODE=auto")

	// The first show: 200 listeners over 20 s from 200 networks, who will return.
	runShow(t, s, "seed", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "200", "--ramp", "20s", "--duration", "5s")
	})
	quiet := runShow(t, s, "quiet", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "15", "--ramp", "15s", "--duration", "10s")
	})
	crowd := runShow(t, s, "flash crowd", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "400", "--flash", "5s", "--duration", "10s")
	})
	botnet := runShow(t, s, "botnet", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "10", "--ramp", "5s", "--duration", "10s",
			"--botnet", "400", "--bot-rate", "2000", "--bot-lead", "5s")
	})
	mixed := runShow(t, s, "crowd and botnet", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "400", "--flash", "5s", "--duration", "10s",
			"--botnet", "400", "--bot-rate", "2000")
	})
	mimic := runShow(t, s, "mimic botnet", func(sp createdSpace) time.Time {
		return loadRun(t, s, sp, "--listeners", "0", "--duration", "15s",
			"--botnet", "300", "--bot-rate", "60", "--bot-mix", "join=100", "--bot-solve")
	})
	s.stop(t, syscall.SIGTERM)

	expect(t, quiet, judge(t, s, quiet), "normal")
	expect(t, crowd, judge(t, s, crowd), "flash_crowd")
	expect(t, botnet, judge(t, s, botnet), "ddos")
	expect(t, mixed, judge(t, s, mixed), "mixed")
	// A botnet that solves the proof of work and joins at human rates still
	// brings new networks and leaves its tickets unused: the flows say it.
	expect(t, mimic, judge(t, s, mimic), "ddos")
}

// TestVerdictCapacityFailure starves a node (pinned to one core, with a
// real-time busy loop taking that core 900 ms of every second) while
// listeners play: its program runs late and listeners stall with no attack
// signature, which the verdict must call a capacity failure: "the systems
// were overwhelmed".
func TestVerdictCapacityFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starves a node for 15 s")
	}
	needFFmpeg(t)
	for _, tool := range []string{"taskset", "chrt"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if err := exec.Command("chrt", "-f", "10", "true").Run(); err != nil {
		t.Skipf("cannot run real-time tasks here: %v", err)
	}
	s := startBoundedServer(t, t.TempDir(), 5*time.Minute)
	if out, err := exec.Command("taskset", "-a", "-cp", "0", strconv.Itoa(s.cmd.Process.Pid)).CombinedOutput(); err != nil {
		t.Skipf("cannot pin the server: %v %s", err, out)
	}
	sh := runShow(t, s, "starved", func(sp createdSpace) time.Time {
		p := startBounded(t, cleanEnv(), 3*time.Minute, onairBin(t), "load", "--target", s.pub, "--space", sp.id, "--no-claim",
			"--sources", "127.0.0.0/16", "--listeners", "100", "--ramp", "2s", "--duration", "30s")
		time.Sleep(8 * time.Second) // everyone in and playing
		began := time.Now()
		// The hog times itself (another process would get no CPU on its core
		// to stop it) and dies with the test (Pdeathsig).
		hog := startBounded(t, cleanEnv(hogEnv+"=15"), 30*time.Second, "chrt", "-f", "50", "taskset", "-c", "0", os.Args[0])
		<-hog.done
		p.wait(t, 2*time.Minute)
		return began
	})
	s.stop(t, syscall.SIGTERM)
	expect(t, sh, judge(t, s, sh), "capacity_failure")
}

// hogEnv makes the test binary a CPU hog for that many seconds.
const hogEnv = "ONAIR_TEST_HOG_SECONDS"

// hog busies its core 900 ms of every second, for secs seconds, checking the
// clock as it spins: run with a real-time priority, nothing else on that
// core runs while it spins, so it must stop itself.
func hog(secs string) {
	n, err := strconv.Atoi(secs)
	if err != nil || n <= 0 || n > 60 {
		os.Exit(2)
	}
	end := time.Now().Add(time.Duration(n) * time.Second)
	for now := time.Now(); now.Before(end); now = time.Now() {
		busy := now.Add(900 * time.Millisecond)
		for time.Now().Before(busy) && time.Now().Before(end) {
		}
		time.Sleep(100 * time.Millisecond)
	}
	os.Exit(0)
}

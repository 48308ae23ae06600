package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/onair-live/onair/internal/gate"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/report"
	"github.com/onair-live/onair/internal/server"
	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/verdict"
)

// readReceipts shuts the server down (the last second recorded, the final
// checkpoint signed) and reads its log from the data dir, verified.
func readReceipts(t *testing.T, e *env) *verdict.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := verdict.ReadLog(context.Background(), e.data+"/receipts", e.srv.ReceiptsKey())
	if err != nil {
		t.Fatal(err)
	}
	if !l.Verified() {
		t.Fatalf("the log does not verify: %v", l.Verify.Failure)
	}
	return l
}

// sum adds f over the records in [from, to].
func sum(l *verdict.Log, from, to int64, f func(r *telemetry.Record) int64) int64 {
	var n int64
	for i := range l.Entries {
		if r := &l.Entries[i].Record; r.T >= from && r.T <= to {
			n += f(r)
		}
	}
	return n
}

// TestReceiptsRecordWhatHappened plays two shows on one node: a crowd
// listens to the first; the second starts a second late and meets the same
// crowd returning plus a botnet. The log's records must add up to what the
// gate decided (its own counters) and what the load generator saw, and say
// where the crowd came from.
func TestReceiptsRecordWhatHappened(t *testing.T) {
	if testing.Short() {
		t.Skip("two shows with a crowd and a botnet")
	}
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = gate.Config{Mode: gate.Auto, PoWBase: 12, Admit: gate.AdmitConfig{StartRate: 500, MinRate: 200}}
		c.NodeName = "node-under-test"
	})
	metric := func(w ...string) int64 { return int64(decisions(t, e, w...)) }
	before := map[string]int64{
		"admitted": metric(`stage="join"`, `outcome="admitted"`), "challenged": metric(`stage="join"`, `outcome="challenged"`),
		"tickets": metric(`stage="ticket"`, `outcome="rejected"`), "queued": metric(`stage="join"`, `outcome="queued"`),
	}

	// Show A: a crowd of 100 from 100 networks of 127.0.0.0/16.
	t0 := time.Now().Unix()
	a := liveSpace(t, e, "first show")
	const crowd = 100
	repA := runLoad(t, load.Config{Target: e.pub, Space: a, Listeners: crowd, Shape: load.ShapeFlash, Window: 2 * time.Second,
		Duration: 4 * time.Second, Grace: 3 * time.Second, Sources: "127.0.0.0/16"}, 60*time.Second)
	e.transition(a, e.admin, "end")
	tA := time.Now().Unix()

	// Show B: announced for now+1 s, started 2 s from now: about a second late.
	b, tok := e.scheduled("second show", time.Second)
	synthSpeaker(t, e, b)
	time.Sleep(2 * time.Second)
	e.transition(b, tok, "start")
	repB := runLoad(t, load.Config{Target: e.pub, Space: b, Listeners: crowd, Shape: load.ShapeFlash, Window: 4 * time.Second,
		Duration: 6 * time.Second, Grace: 5 * time.Second, Sources: "127.0.0.0/16", ServerPID: os.Getpid(),
		Attack: load.Attack{Botnet: 300, BotRate: 1500, BotLead: 2 * time.Second}}, 90*time.Second)
	e.transition(b, tok, "end")
	after := map[string]int64{
		"admitted": metric(`stage="join"`, `outcome="admitted"`), "challenged": metric(`stage="join"`, `outcome="challenged"`),
		"tickets": metric(`stage="ticket"`, `outcome="rejected"`), "queued": metric(`stage="join"`, `outcome="queued"`),
	}
	l := readReceipts(t, e)
	end := time.Now().Unix()
	t.Logf("log: %d seconds, %d events, %d unparsed; crowd A joined %d, got audio %d; crowd B joined %d, got audio %d",
		len(l.Entries), len(l.Events), l.Unparsed, repA.Listeners.Joined, repA.Listeners.GotAudio, repB.Listeners.Joined, repB.Listeners.GotAudio)

	// Every second of the node's life is there, once.
	if miss := l.Verify.Seconds.Missing; miss > 1 {
		t.Errorf("%d seconds missing from the log: %v", miss, l.Verify.Seconds.Gaps)
	}
	if l.Node != "node-under-test" {
		t.Errorf("node %q", l.Node)
	}
	// The records add up to the gate's own counters.
	all := func(f func(r *telemetry.Record) int64) int64 { return sum(l, t0-5, end, f) }
	for name, got := range map[string]int64{
		"admitted":   all(func(r *telemetry.Record) int64 { return r.Joins.Admitted }),
		"challenged": all(func(r *telemetry.Record) int64 { return r.Joins.Challenged }),
		"queued":     all(func(r *telemetry.Record) int64 { return r.Joins.Queued }),
		"tickets": all(func(r *telemetry.Record) int64 {
			var n int64
			for _, v := range r.Tickets {
				n += v
			}
			return n
		}),
	} {
		if want := after[name] - before[name]; got != want {
			t.Errorf("%s: the records sum to %d, the gate counted %d", name, got, want)
		} else {
			t.Logf("%s: %d in the records and the gate's counters", name, got)
		}
	}
	// Flows: every crowd listener who got audio started a flow; bots that
	// only join never do (a few stolen tickets may).
	started := all(func(r *telemetry.Record) int64 { return r.Flows.Started })
	got := repA.Listeners.GotAudio + repB.Listeners.GotAudio
	if started < got || started > repA.Listeners.Joined+repB.Listeners.Joined+4 {
		t.Errorf("flows started %d; the crowds joined %d and %d, %d got audio", started, repA.Listeners.Joined, repB.Listeners.Joined, got)
	}
	// Sources: nobody had listened before show A; show B's crowd had.
	seenA := sum(l, t0, tA, func(r *telemetry.Record) int64 { return r.Sources.SeenBefore })
	seenB := sum(l, tA+1, end, func(r *telemetry.Record) int64 { return r.Sources.SeenBefore })
	newB := sum(l, tA+1, end, func(r *telemetry.Record) int64 { return r.Sources.JoinPrefixes - r.Sources.SeenBefore })
	if seenA != 0 || seenB < crowd*9/10 || newB < 200 {
		t.Errorf("join networks seen before: %d in show A (want 0), %d in show B (want the crowd's %d); new in B %d (the bots')", seenA, seenB, crowd, newB)
	}
	var underAttack, reason bool
	var maxOgg int64
	for _, en := range l.Entries {
		r := en.Record
		underAttack = underAttack || r.Gate.UnderAttack
		reason = reason || (r.Gate.Changed && strings.Contains(r.Gate.Reason, "detector"))
		maxOgg = max(maxOgg, r.Listeners.Ogg)
		if sh, ok := r.Sources.Shows[b]; ok && sh.Prefixes > 0 && r.T == end {
			t.Logf("show B's distinct networks so far: %d", sh.Prefixes)
		}
	}
	if !underAttack || !reason {
		t.Errorf("the gate's turn under attack is not in the log (under attack %v, detector reason %v)", underAttack, reason)
	}
	if maxOgg < crowd*9/10 {
		t.Errorf("at most %d Ogg listeners recorded; the crowd was %d", maxOgg, crowd)
	}
	// The show events, with B's start delay.
	ev := map[string]telemetry.Event{}
	for _, x := range l.Events {
		ev[x.Space+"/"+x.Event] = x
	}
	for _, want := range []string{a + "/start", a + "/first_frame", a + "/first_record_byte", a + "/end", b + "/start", b + "/end", b + "/speaker_in"} {
		if _, ok := ev[want]; !ok {
			t.Errorf("no %s event", want)
		}
	}
	if d := ev[b+"/start"].DelayMS; d == nil || *d < 500 || *d > 3000 {
		t.Errorf("show B's start delay %v ms, want about 1,000", d)
	} else {
		t.Logf("show B started %d ms late", *d)
	}
	checkReport(t, e.data+"/receipts", e.srv.ReceiptsKey())
}

// checkReport renders the report of the log in dir and opens it in
// Chromium: every chart drawn, the verdict and the verification shown, and
// not one request beyond the file itself.
func checkReport(t *testing.T, dir, key string) {
	g, err := verdict.Gather(context.Background(), verdict.Query{Sources: []string{dir}, Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range g.Report.Windows {
		t.Logf("verdict window: %s %d–%d onset %d (%.2f): %s", w.Class, w.From, w.To, w.Onset, w.Confidence, w.Summary)
	}
	out := t.TempDir()
	path := filepath.Join(out, "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Write(f, report.FromGathered(g, "test report")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b := launchBrowser(t, "file://"+out, time.Minute)
	b.run(chromedp.Navigate("file://" + path))
	b.waitFor("the charts", `document.querySelectorAll('svg.chart').length === 7`, 10*time.Second)
	if n := eval[int](b, `document.querySelectorAll('svg.chart path.line').length`); n < 15 {
		t.Errorf("%d lines drawn in the report's charts", n)
	}
	if v := eval[string](b, `document.getElementById('verified').textContent`); !strings.Contains(v, "The log verified") {
		t.Errorf("verification banner: %q", v)
	}
	if v := eval[string](b, `document.getElementById('verdict').textContent`); v != g.Report.Verdict {
		t.Errorf("verdict shown %q, want %q", v, g.Report.Verdict)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if dst := os.Getenv("ONAIR_REPORT_SCREENSHOT"); dst != "" {
		_ = os.WriteFile(dst, shot, 0o644)
	}
	b.checkClean()
}

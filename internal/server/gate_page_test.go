package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/server"
)

// The listener page through the gate: the waiting room and the proof of
// work, in chromium (see page_test.go for the browser).

const phaseJS = `document.getElementById('space').dataset.phase`

// queuePlace reads the position and ETA the page shows while in line.
func queuePlace(b *browser) (pos, eta int, text string) {
	b.t.Helper()
	text = eval[string](b, `document.getElementById('queue-line').textContent`)
	m := regexp.MustCompile(`^You're in line: position (\d+), about (\d+) s$`).FindStringSubmatch(text)
	if m == nil {
		b.t.Fatalf("the waiting room shows %q, want \"You're in line: position N, about M s\"\n%s", text, b.report())
	}
	pos, _ = strconv.Atoi(m[1])
	eta, _ = strconv.Atoi(m[2])
	return pos, eta, text
}

// fillLine makes n joins from Go (no cookies: each draws a new number) and
// returns how many were put in line.
func fillLine(t *testing.T, e *env, id string, n int) int {
	t.Helper()
	queued := 0
	for range n {
		code, body, h := post(t, http.DefaultClient, e.pub+"/api/v1/spaces/"+id+"/join", nil)
		switch {
		case code == http.StatusAccepted && h.Get("Retry-After") != "":
			queued++
		case code != http.StatusOK:
			t.Fatalf("join: %d %v", code, body)
		}
	}
	return queued
}

// TestPageWaitsInLineThenPlays: a node that admits one listener a second,
// a line ahead of the browser. The page shows its place and ETA counting
// down, keeps its place across a reload, and plays by itself when its turn
// comes.
func TestPageWaitsInLineThenPlays(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.Admit = gate.AdmitConfig{StartRate: 1, MinRate: 1, MaxRate: 1, Burst: 1}
	})
	b := newBrowser(t, e, 2*time.Minute)
	id, tok := e.space("Full house")
	synthSpeaker(t, e, id)
	e.transition(id, tok, "start")
	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("play")))

	if q := fillLine(t, e, id, 6); q < 4 {
		t.Fatalf("only %d of 6 joins waited at 1 admission a second", q)
	}
	clicked := time.Now()
	b.run(chromedp.Click(chromedp.ID("play")))
	b.waitFor("the waiting room", `document.getElementById('space').dataset.gate === 'queue' && `+phaseJS+` === 'queued'`, 5*time.Second)
	pos, eta, text := queuePlace(b)
	t.Logf("the page shows %q %v after the tap", text, time.Since(clicked).Round(time.Millisecond))
	if pos < 2 || eta < 1 {
		t.Fatalf("place in line %q: want a position behind the crowd and an ETA", text)
	}
	if said := eval[string](b, `document.getElementById('gate-live').textContent`); !strings.HasPrefix(said, "You're in line: position ") {
		t.Errorf("nothing announced for screen readers: %q", said)
	}
	if v := eval[string](b, `document.getElementById('queue-bar').getAttribute('aria-valuetext')`); !strings.Contains(v, "position") {
		t.Errorf("progress bar says %q", v)
	}
	if r := eval[string](b, `getComputedStyle(document.getElementById('gate')).borderRadius`); r != "16px" {
		t.Errorf("gate.css not applied: the waiting room's border-radius is %q", r)
	}
	// The countdown is live: the text moves without a reload.
	b.waitFor("the countdown moving", `document.getElementById('queue-line').textContent !== `+strconv.Quote(text), 3*time.Second)

	// More listeners arrive behind; a reload keeps the place (the queue
	// cookie) instead of going to the back, and the page resumes by itself.
	fillLine(t, e, id, 5)
	b.run(chromedp.Reload())
	b.waitFor("back in line after the reload", `document.getElementById('space').dataset.gate === 'queue'`, 5*time.Second)
	pos2, _, text2 := queuePlace(b)
	t.Logf("after a reload: %q", text2)
	if pos2 > pos {
		t.Fatalf("the reload lost the place in line: position %d, was %d", pos2, pos)
	}

	b.waitFor("playback once admitted", phaseJS+` === 'playing'`, 20*time.Second-time.Since(clicked))
	t.Logf("playing %v after the tap", time.Since(clicked).Round(time.Millisecond))
	b.assertAdvances(3*time.Second, 2*time.Second)
	joins := eval[string](b, `document.getElementById('space').dataset.joins`)
	if !strings.Contains(joins, "202") || !strings.HasSuffix(joins, "200") {
		t.Errorf("joins after the reload answered %q: want 202s, then 200", joins)
	}
	if hidden := eval[bool](b, `document.getElementById('gate').hidden`); !hidden {
		t.Error("the waiting room is still shown while playing")
	}
	if said := eval[string](b, `document.getElementById('gate-live').textContent`); said != "It's your turn." {
		t.Errorf("admission announced as %q", said)
	}
	b.checkClean()
}

// powStats is what the page records of its last proof of work.
type powStats struct {
	Difficulty int     `json:"difficulty"`
	Tried      int     `json:"tried"`
	MS         float64 `json:"ms"`   // the page's wait, workers' start included
	Rate       float64 `json:"rate"` // hashes a second, all workers
	Workers    int     `json:"workers"`
	Impl       string  `json:"impl"`
}

// hashRate runs the page's workers (as many as the page does) on an
// unsolvable challenge for d and reports their steady hash rate, together.
func hashRate(b *browser, impl string, workers int, d time.Duration) float64 {
	b.t.Helper()
	js := fmt.Sprintf(`Promise.all(Array.from({length: %d}, (_, k) => new Promise((resolve, reject) => {
		const w = new Worker(document.getElementById('space').dataset.powWorker);
		let last = null;
		w.onmessage = (e) => { if (e.data.type === 'progress') last = e.data; };
		w.onerror = (e) => reject(new Error(e.message));
		w.postMessage({challenge: 'rate', difficulty: 200, impl: %q, start: k, step: %[1]d});
		setTimeout(() => { w.terminate(); resolve(last ? last.tried / (last.ms / 1000) : 0); }, %[3]d);
	}))).then((r) => r.reduce((a, b) => a + b, 0))`, workers, impl, d.Milliseconds())
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("hash rate: %v\n%s", err, b.report())
	}
	return v
}

// TestPageSolvesProofOfWork: under attack, the join first asks for a proof
// of work; the page solves it in its worker (WebCrypto), joins with it and
// plays. The same with the worker's own SHA-256, which pages without
// WebCrypto (plain http off localhost) use.
func TestPageSolvesProofOfWork(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.PoWBase = 16
	})
	b := newBrowser(t, e, 2*time.Minute)
	id, tok := e.space("Under attack")
	synthSpeaker(t, e, id)
	e.transition(id, tok, "start")
	if code, st := e.call("POST", e.host+"/api/v1/gate/mode", e.admin, map[string]any{"mode": "under_attack"}); code != 200 || st["under_attack"] != true {
		t.Fatalf("under_attack: %d %v", code, st)
	}

	for _, impl := range []string{"subtle", "js"} {
		u := e.pub + "/s/" + id
		if impl == "js" {
			u += "?pow=js"
		}
		// A newcomer each time: with the first run's ticket cookie the join
		// would be a renewal, which needs no proof (checked below).
		b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("play")))
		clicked := time.Now()
		b.run(chromedp.Click(chromedp.ID("play")))
		b.waitFor("playback after the check", phaseJS+` === 'playing'`, 30*time.Second)
		t.Logf("%s: playing %v after the tap", impl, time.Since(clicked).Round(time.Millisecond))
		st := eval[powStats](b, `JSON.parse(document.getElementById('space').dataset.pow || '{}')`)
		if st.Difficulty != 16 || st.Tried < 1 || st.Impl != impl || st.Workers < 1 {
			t.Fatalf("%s: proof of work %+v", impl, st)
		}
		t.Logf("%s: solved difficulty %d in %.0f ms (%d hashes over %d workers, %.0f hashes/s)",
			impl, st.Difficulty, st.MS, st.Tried, st.Workers, st.Rate)
		if joins := eval[string](b, `document.getElementById('space').dataset.joins`); joins != "401 200" {
			t.Errorf("%s: joins answered %q, want \"401 200\"", impl, joins)
		}
		b.assertAdvances(3*time.Second, 2*time.Second)
		rate := hashRate(b, impl, st.Workers, 2*time.Second)
		t.Logf("%s: steady hash rate %.0f hashes/s (%d workers): difficulty 16 takes %.2f s on average here",
			impl, rate, st.Workers, float64(1<<16)/rate)
		if rate < 1000 {
			t.Errorf("%s: %.0f hashes/s", impl, rate)
		}
	}
	// Back with a valid ticket (its cookie): a renewal, let in without a proof.
	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("play")), chromedp.Click(chromedp.ID("play")))
	b.waitFor("playback with the ticket held", phaseJS+` === 'playing'`, 30*time.Second)
	if joins := eval[string](b, `document.getElementById('space').dataset.joins`); joins != "200" {
		t.Errorf("back with a valid ticket: joins answered %q, want \"200\" (no proof of work)", joins)
	}
	b.checkClean()
}

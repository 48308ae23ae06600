package server_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/onair-live/onair/internal/synth"
)

const chromiumPath = "/usr/bin/chromium"

// browser is a headless Debian chromium driving the pages of one server. It
// records every request the pages make, console errors and CSP violations.
type browser struct {
	t    *testing.T
	ctx  context.Context
	pub  string
	also []string // other servers the pages may use (the space's other edges)

	mu       sync.Mutex
	requests []string
	problems []string
}

// newBrowser starts chromium (skipping the test when it is missing), bounded
// by timeout. The listener pages may play audio without a gesture (the
// autoplay policy flag), but the tests click play anyway, as a person would.
func newBrowser(t *testing.T, e *env, timeout time.Duration) *browser {
	t.Helper()
	return launchBrowser(t, e.pub, timeout)
}

// launchBrowser starts chromium with the flags every browser test needs plus
// extra, its requests checked against base (the port under test).
func launchBrowser(t *testing.T, base string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (make test installs it)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 800),
	)
	opts = append(opts, extra...)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	b := &browser{t: t, pub: base}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	b.ctx = bctx
	b.probeCSP()
	return b
}

// tab opens another tab of the same chromium (another page of the same
// person), its requests checked against base.
func (b *browser) tab(base string) *browser {
	b.t.Helper()
	nb := &browser{t: b.t, pub: base}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(nb.listen))
	b.t.Cleanup(cancel)
	nb.ctx = ctx
	nb.probeCSP()
	return nb
}

// probeCSP collects CSP violations, which are events in the page, from the
// start of every document.
func (b *browser) probeCSP() {
	const cspProbe = `window.__csp = []; document.addEventListener('securitypolicyviolation',
		(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return err
	}))
}

// listen runs in chromedp's read loop: it only records.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d.Exception != nil {
			b.problems = append(b.problems, "exception: "+d.Exception.Description)
		} else {
			b.problems = append(b.problems, "exception: "+d.Text)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, "console.error: "+strings.Join(args, " "))
		}
	}
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v\n%s", err, b.report())
	}
}

// eval evaluates js in the page and decodes its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v\n%s", js, err, b.report())
	}
	return v
}

// waitFor polls a JS condition until it holds or d passes.
func (b *browser) waitFor(what, cond string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if eval[bool](b, "!!("+cond+")") {
			return
		}
		if time.Now().After(deadline) {
			state := eval[string](b, `JSON.stringify({phase: document.body.querySelector('#space')?.dataset.phase,
				mode: document.body.querySelector('#space')?.dataset.mode,
				status: document.getElementById('status')?.textContent,
				label: document.getElementById('play-label')?.textContent})`)
			b.t.Fatalf("%s: not within %v; page %s\n%s", what, d, state, b.report())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkClean fails on requests that leave the server, console errors,
// exceptions and CSP violations.
func (b *browser) checkClean() {
	b.t.Helper()
	csp := eval[[]string](b, `window.__csp || []`)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		ok := strings.HasPrefix(u, b.pub+"/") || strings.HasPrefix(u, "blob:") || strings.HasPrefix(u, "data:")
		for _, o := range b.also {
			ok = ok || strings.HasPrefix(u, o+"/")
		}
		if !ok {
			b.t.Errorf("request off the server: %s", u)
		}
	}
	for _, p := range b.problems {
		b.t.Errorf("page: %s", p)
	}
	for _, v := range csp {
		b.t.Errorf("CSP violation: %s", v)
	}
}

func (b *browser) countRequests(substr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.requests {
		if strings.Contains(u, substr) {
			n++
		}
	}
	return n
}

func (b *browser) report() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("problems: %q\nlast requests: %q", b.problems, b.requests[max(0, len(b.requests)-12):])
}

// mediaState is what the listener page's <audio> and state say.
type mediaState struct {
	Time   float64 `json:"time"`
	Err    *int    `json:"err"`
	Mode   string  `json:"mode"`
	Source string  `json:"source"`
	Phase  string  `json:"phase"`
	Tech   string  `json:"tech"`
}

const mediaJS = `(() => { const a = document.getElementById('audio'), s = document.getElementById('space');
	return {time: a.currentTime, err: a.error && a.error.code, mode: s.dataset.mode, source: s.dataset.source,
		phase: s.dataset.phase, tech: document.getElementById('tech').textContent}; })()`

func (b *browser) media() mediaState {
	b.t.Helper()
	return eval[mediaState](b, mediaJS)
}

// assertAdvances checks that the audio plays in real time: currentTime moves
// by at least want over wall, with no media error.
func (b *browser) assertAdvances(wall, want time.Duration) mediaState {
	b.t.Helper()
	m0 := b.media()
	time.Sleep(wall)
	m1 := b.media()
	if m1.Err != nil || m0.Err != nil {
		b.t.Fatalf("media error %d (%+v)\n%s", *m1.Err, m1, b.report())
	}
	if d := m1.Time - m0.Time; d < want.Seconds() {
		b.t.Fatalf("currentTime moved %.2f s in %v (%.2f → %.2f), want ≥ %v; %+v\n%s",
			d, wall, m0.Time, m1.Time, want, m1, b.report())
	}
	b.t.Logf("%s via %s: currentTime %.2f → %.2f in %v", m1.Source, m1.Mode, m0.Time, m1.Time, wall)
	return m1
}

// synthSpeaker attaches an in-process 440 Hz speaker to the space (no ffmpeg).
func synthSpeaker(t *testing.T, e *env, id string) {
	t.Helper()
	spk, err := e.srv.Manager().Speaker(id, "synth")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = synth.Run(ctx, spk, &synth.Tone{Freq: 440, Amp: 0.3}) }()
	t.Cleanup(func() { cancel(); <-done })
}

// oggListener keeps one listener on the live Ogg stream until the test ends.
func oggListener(t *testing.T, e *env, id string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.join(id)["ogg"].(string), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		cancel()
		t.Fatalf("ogg listener: %v %v", err, resp)
	}
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, resp.Body) }()
	t.Cleanup(func() { cancel(); <-done; resp.Body.Close() })
}

func (e *env) scheduled(title string, in time.Duration) (string, string) {
	e.t.Helper()
	code, sp := e.call("POST", e.host+"/api/v1/spaces", e.admin,
		map[string]any{"title": title, "starts_at": time.Now().Add(in).UTC().Format(time.RFC3339)})
	if code != http.StatusCreated {
		e.t.Fatalf("create space: %d %v", code, sp)
	}
	return sp["id"].(string), sp["host_token"].(string)
}

// TestPageListenLiveThenReplay opens a live show's page, presses play and
// hears it through HLS in real time; when the host ends the show, the page
// moves on to the replay, which plays too.
func TestPageListenLiveThenReplay(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServer(t)
	b := newBrowser(t, e, 2*time.Minute)
	id, tok := e.space("Browser show")
	synthSpeaker(t, e, id)
	e.transition(id, tok, "start")
	started := time.Now()

	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("play")))
	title := eval[string](b, `document.querySelector('h1.title').textContent`)
	badge := eval[string](b, `document.getElementById('badge').textContent`)
	if title != "Browser show" || badge != "Live" {
		t.Fatalf("page shows %q, badge %q", title, badge)
	}
	b.run(chromedp.Click(chromedp.ID("play")))
	b.waitFor("live playback", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
	m := b.assertAdvances(5*time.Second, 3*time.Second)
	if m.Source != "live" || (m.Mode != "hls.js" && m.Mode != "native") || !strings.Contains(m.Tech, "HLS") {
		t.Fatalf("live playback is %+v, want HLS", m)
	}
	b.waitFor("listener count", `document.getElementById('listener-count').textContent !== '0'`, 10*time.Second)
	if m.Mode == "hls.js" { // low-latency mode: blocking playlist reloads
		if n := b.countRequests("_HLS_msn="); n == 0 {
			t.Errorf("hls.js made no blocking playlist reload\n%s", b.report())
		}
		t.Logf("%s", eval[string](b, `document.getElementById('tech').textContent`))
	}

	// A replay long enough to watch it advance for a few seconds.
	if d := 12*time.Second - time.Since(started); d > 0 {
		time.Sleep(d)
	}
	e.transition(id, tok, "end")
	ended := time.Now()
	b.waitFor("replay playback", `document.getElementById('space').dataset.source === 'replay' &&
		document.getElementById('space').dataset.phase === 'playing'`, 30*time.Second)
	t.Logf("the page played the replay %v after the end", time.Since(ended).Round(time.Millisecond))
	m = b.assertAdvances(4*time.Second, 3*time.Second)
	if m.Mode != "hls.js" && m.Mode != "native" {
		t.Fatalf("replay is %+v, want HLS", m)
	}
	if badgeEnd := eval[string](b, `document.getElementById('badge').textContent`); badgeEnd != "Replay" {
		t.Fatalf("badge after the end: %q", badgeEnd)
	}
	b.checkClean()
}

// TestPageHLSFailureFallsBackToOgg blocks the LL-HLS URLs in the browser:
// hls.js gives up and the page plays the progressive Ogg stream instead.
func TestPageHLSFailureFallsBackToOgg(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServer(t)
	b := newBrowser(t, e, time.Minute)
	id, tok := e.space("Ogg show")
	synthSpeaker(t, e, id)
	e.transition(id, tok, "start")
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/hls/*", Block: true}}})
		return err
	}))
	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.Click(chromedp.ID("play")))
	b.waitFor("ogg playback", `document.getElementById('space').dataset.mode === 'ogg' &&
		document.getElementById('space').dataset.phase === 'playing'`, 30*time.Second)
	if m := b.assertAdvances(4*time.Second, 3*time.Second); m.Source != "live" || !strings.Contains(m.Tech, "Ogg") {
		t.Fatalf("after the HLS failure: %+v", m)
	}
	// The end of the Ogg stream leads to the replay (/replay/ is not blocked).
	e.transition(id, tok, "end")
	ended := time.Now()
	b.waitFor("replay playback", `document.getElementById('space').dataset.source === 'replay' &&
		document.getElementById('space').dataset.phase === 'playing'`, 30*time.Second)
	t.Logf("the page played the replay %v after the end", time.Since(ended).Round(time.Millisecond))
	b.checkClean()
}

// TestPageScheduledCountdown opens a scheduled show: a countdown to its start;
// a listener who pressed play waits, and hears the show as soon as it starts.
func TestPageScheduledCountdown(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServer(t)
	b := newBrowser(t, e, time.Minute)
	id, tok := e.scheduled("Later today", time.Hour+30*time.Second)
	synthSpeaker(t, e, id) // in the green room until the start

	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("countdown")))
	type countdown struct {
		H     string `json:"h"`
		M     string `json:"m"`
		S     string `json:"s"`
		Badge string `json:"badge"`
		When  string `json:"when"`
	}
	cd := eval[countdown](b, `(() => { const u = (k) => document.querySelector('#countdown [data-unit="' + k + '"] b').textContent;
		return {h: u('h'), m: u('m'), s: u('s'), badge: document.getElementById('badge').textContent,
			when: document.getElementById('when').textContent}; })()`)
	if cd.H != "01" || cd.M != "00" || cd.Badge != "Scheduled" || !strings.HasPrefix(cd.When, "Starts ") {
		t.Fatalf("countdown %+v, want 01:00:ss to a scheduled show", cd)
	}
	first := cd.S
	b.waitFor("the countdown ticking", `document.querySelector('#countdown [data-unit="s"] b').textContent !== '`+first+`'`, 3*time.Second)

	b.run(chromedp.Click(chromedp.ID("play")))
	b.waitFor("waiting for the start", `document.getElementById('space').dataset.phase === 'waiting'`, 10*time.Second)
	e.transition(id, tok, "start")
	b.waitFor("playback once live", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
	b.waitFor("countdown gone", `document.getElementById('countdown').hidden`, time.Second)
	b.assertAdvances(4*time.Second, 3*time.Second)
	b.checkClean()
}

// TestIndexListsSpaces opens / with nothing on (a friendly empty state),
// then sees a live and a scheduled space appear without a reload.
func TestIndexListsSpaces(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServer(t)
	b := newBrowser(t, e, time.Minute)
	b.run(chromedp.Navigate(e.pub+"/"), chromedp.WaitVisible(chromedp.ID("empty")))

	live, tok := e.space("Morning news")
	synthSpeaker(t, e, live)
	e.transition(live, tok, "start")
	oggListener(t, e, live)
	later, _ := e.scheduled("Evening jazz", 3*time.Hour)

	// The list refreshes itself every 10 s.
	sel := func(list, id string) string { return `#` + list + ` .card[data-id="` + id + `"]` }
	b.waitFor("the live space listed", `document.querySelector('`+sel("live-list", live)+`')`, 15*time.Second)
	check := func(how string) {
		type index struct {
			Empty      bool   `json:"empty"`
			LiveTitle  string `json:"liveTitle"`
			LiveBadge  string `json:"liveBadge"`
			Listeners  string `json:"listeners"`
			SchedTitle string `json:"schedTitle"`
			SchedAt    string `json:"schedAt"`
		}
		got := eval[index](b, `(() => { const q = (s) => document.querySelector(s);
			return {empty: !q('#empty').hidden,
				liveTitle: q('`+sel("live-list", live)+` .card-title').textContent,
				liveBadge: q('`+sel("live-list", live)+` .badge').textContent,
				listeners: q('`+sel("live-list", live)+` [data-listeners]').textContent,
				schedTitle: q('`+sel("sched-list", later)+` .card-title').textContent,
				schedAt: q('`+sel("sched-list", later)+` time').textContent}; })()`)
		if got.Empty || got.LiveTitle != "Morning news" || got.LiveBadge != "Live" || got.Listeners != "1" ||
			got.SchedTitle != "Evening jazz" || got.SchedAt == "" || strings.Contains(got.SchedAt, "UTC") {
			t.Fatalf("%s: index shows %+v", how, got)
		}
	}
	check("refreshed")
	b.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("live-list")))
	check("server-rendered")
	if href := eval[string](b, `document.querySelector('`+sel("live-list", live)+` a').getAttribute('href')`); href != "/s/"+live {
		t.Fatalf("card links to %q", href)
	}
	b.checkClean()
}

// TestPageNotFoundAndAssets checks the pages' HTTP side: a friendly 404,
// the CSP, and static assets with their types and cache headers.
func TestPageNotFoundAndAssets(t *testing.T) {
	e := startServer(t)
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(e.pub + "/s/nosuch")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "doesn") || !strings.Contains(string(body), `href="/"`) {
		t.Fatalf("unknown space page: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") ||
		!strings.Contains(csp, "media-src 'self' blob:") {
		t.Fatalf("CSP %q", csp)
	}

	resp, err = c.Get(e.pub + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	refs := regexp.MustCompile(`/static/[^"?]+\?v=[0-9a-f]+`).FindAllString(string(body), -1)
	if len(refs) < 3 {
		t.Fatalf("index page references %q", refs)
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	for _, ref := range refs {
		u, _ := url.Parse(ref)
		req, _ := http.NewRequest("GET", e.pub+ref, nil)
		req.Header.Set("Accept-Encoding", "gzip") // by hand: the transport would decode silently
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if r, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		n, _ := io.Copy(io.Discard, r)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || n == 0 || h.Get("Content-Type") != types[filepath.Ext(u.Path)] ||
			h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("ETag") == "" {
			t.Errorf("%s: %d, %d bytes, %v", ref, resp.StatusCode, n, h)
		}
		// Revalidation without the version answers 304.
		req, _ = http.NewRequest("GET", e.pub+u.Path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		req.Header.Set("Accept-Encoding", h.Get("Content-Encoding"))
		if resp, err = c.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 304 || resp.Header.Get("Cache-Control") != "public, no-cache" {
			t.Errorf("%s revalidated: %d %v", u.Path, resp.StatusCode, resp.Header)
		}
	}
	for path, want := range map[string]int{
		"/static/vendor/hlsjs/hls.light.min.js": 200, "/static/vendor/hlsjs/LICENSE": 200,
		"/static/vendor/hlsjs/VERSION": 200, "/static/nosuch.js": 404, "/static/../pages.go": 404,
	} {
		if code, body := get(t, e.pub+path); code != want {
			t.Errorf("%s: %d, want %d: %.100s", path, code, want, body)
		}
	}
}

// TestPageScreenshots saves screenshots of the pages, at desktop and phone
// sizes, to the directory in ONAIR_SCREENSHOTS (skipped without it).
func TestPageScreenshots(t *testing.T) {
	dir := os.Getenv("ONAIR_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ONAIR_SCREENSHOTS=/tmp/onair-shots to save screenshots of the pages")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := startServer(t)
	b := newBrowser(t, e, 3*time.Minute)
	live, tok := e.space("Tuesday talk: building for millions of listeners")
	synthSpeaker(t, e, live)
	e.transition(live, tok, "start")
	e.scheduled("Evening jazz with the night owls", 3*time.Hour)
	sched, _ := e.scheduled("Product Q&A", 26*time.Hour+17*time.Minute)
	for range 3 {
		oggListener(t, e, live)
	}
	shot := func(name string) {
		b.run(chromedp.Sleep(700 * time.Millisecond))
		buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sizes := []struct {
		name string
		emu  chromedp.Action[chromedp.Void]
	}{
		{"desktop", chromedp.EmulateViewport(1280, 800)},
		{"phone", chromedp.Emulate(device.IPhoneX)},
	}
	for _, sz := range sizes {
		b.run(sz.emu, chromedp.Navigate(e.pub+"/"), chromedp.WaitVisible(chromedp.CSS(".card")))
		shot("index-" + sz.name)
		b.run(chromedp.Navigate(e.pub+"/s/"+sched), chromedp.WaitVisible(chromedp.ID("countdown")))
		shot("space-scheduled-" + sz.name)
		b.run(chromedp.Navigate(e.pub+"/s/"+live), chromedp.WaitVisible(chromedp.ID("play")))
		shot("space-live-idle-" + sz.name)
		b.run(chromedp.Click(chromedp.ID("play")))
		b.waitFor("playing", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
		shot("space-live-playing-" + sz.name)
		b.run(chromedp.Navigate(e.pub+"/s/nosuch"), chromedp.WaitVisible(chromedp.CSS("h1")))
		shot("notfound-" + sz.name)
	}
	empty := startServer(t)
	b.run(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(empty.pub+"/"), chromedp.WaitVisible(chromedp.ID("empty")))
	shot("index-empty-desktop")
	e.transition(live, tok, "end")
	b.run(chromedp.Navigate(e.pub+"/s/"+live), chromedp.WaitVisible(chromedp.ID("play")), chromedp.Click(chromedp.ID("play")))
	b.waitFor("replay", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
	shot("space-replay-desktop")
	b.run(chromedp.Emulate(device.IPhoneX))
	shot("space-replay-phone")
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	shot("space-replay-phone-dark")
	b.run(chromedp.Navigate(e.pub+"/s/"+sched), chromedp.WaitVisible(chromedp.ID("countdown")))
	shot("space-scheduled-phone-dark")
	b.run(chromedp.Navigate(e.pub+"/"), chromedp.WaitVisible(chromedp.CSS(".card")))
	shot("index-phone-dark")
	t.Logf("screenshots in %s", dir)
}

package server_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/onair-live/onair/internal/synth"
)

// newStudioBrowser is newBrowser for the host studio: chromium with a fake
// microphone (a periodic beep) that it may use without asking (or, with
// denyMic, that every request for is denied), WebRTC host candidates with
// real addresses (loopback only here), and its requests checked against the
// host port.
func newStudioBrowser(t *testing.T, e *env, timeout time.Duration, denyMic bool, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	return launchBrowser(t, e.host, timeout, append([]chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", !denyMic),
		chromedp.Flag("deny-permission-prompts", denyMic),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns")}, extra...)...)
}

// studioView is what the studio page shows, for assertions and failure reports.
type studioView struct {
	Auth       string        `json:"auth"`
	Phase      string        `json:"phase"`
	State      string        `json:"state"`
	Muted      string        `json:"muted"`
	Badge      string        `json:"badge"`
	Alert      string        `json:"alert"`
	Status     string        `json:"status"`
	MicStatus  string        `json:"micStatus"`
	TokenError string        `json:"tokenError"`
	Listeners  string        `json:"listeners"`
	MicLevel   float64       `json:"micLevel,string"`
	RxLevel    float64       `json:"rxLevel,string"`
	RemoteTime float64       `json:"remoteTime"`
	Speakers   []studioSpeak `json:"speakers"`
}

type studioSpeak struct {
	Name     string  `json:"name"`
	State    string  `json:"state"`
	Level    float64 `json:"level,string"`
	Speaking string  `json:"speaking"`
	You      bool    `json:"you"`
}

const studioJS = `(() => { const $ = (id) => document.getElementById(id), r = $('studio');
	return {auth: r.dataset.auth, phase: r.dataset.phase, state: r.dataset.state, muted: r.dataset.muted,
		badge: $('badge').textContent, alert: $('alert').hidden ? '' : $('alert').textContent,
		status: $('status').textContent, micStatus: $('mic-status').textContent,
		tokenError: $('token-error').hidden ? '' : $('token-error').textContent,
		listeners: $('listener-count').textContent,
		micLevel: $('mic-meter').dataset.level, rxLevel: $('rx-meter').dataset.level, remoteTime: $('remote').currentTime,
		speakers: [...document.querySelectorAll('#speakers li')].map((li) => ({name: li.dataset.name, state: li.dataset.state,
			level: li.dataset.level, speaking: li.dataset.speaking, you: !li.querySelector('.you').hidden}))}; })()`

func (b *browser) studio() studioView {
	b.t.Helper()
	return eval[studioView](b, studioJS)
}

// waitStudio polls a JS condition on the studio page until it holds or d passes.
func (b *browser) waitStudio(what, cond string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for !eval[bool](b, "!!("+cond+")") {
		if time.Now().After(deadline) {
			v, _ := json.Marshal(b.studio())
			b.t.Fatalf("%s: not within %v; studio %s\n%s", what, d, v, b.report())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const (
	jsSignedIn  = `document.getElementById('studio').dataset.auth === 'ok'`
	jsConnected = `document.getElementById('studio').dataset.phase === 'connected'`
)

func jsSpeaker(name, state string) string {
	return `document.querySelector('#speakers li[data-name="` + name + `"][data-state="` + state + `"]')`
}

// openStudio opens the studio with the token in the fragment and waits for
// the sign-in.
func openStudio(b *browser, e *env, id, tok string) {
	b.t.Helper()
	b.run(chromedp.Navigate(e.host + "/studio/" + id + "#token=" + tok))
	b.waitStudio("signed in", jsSignedIn, 10*time.Second)
}

// joinStudio joins the conversation from the page as name.
func joinStudio(b *browser, name string) {
	b.t.Helper()
	b.run(chromedp.SetValue(chromedp.ID("name"), name), chromedp.Click(chromedp.ID("join")))
	b.waitStudio("WebRTC connected", jsConnected, 15*time.Second)
}

// windowsRMS returns the RMS of each 100 ms of pcm.
func windowsRMS(pcm []float64) []float64 {
	const win = 4800
	var out []float64
	for i := 0; i+win <= len(pcm); i += win {
		var e float64
		for _, v := range pcm[i : i+win] {
			e += v * v
		}
		out = append(out, math.Sqrt(e/win))
	}
	return out
}

func countAbove(rms []float64, th float64) int {
	n := 0
	for _, r := range rms {
		if r > th {
			n++
		}
	}
	return n
}

// TestStudioGoesLiveWithBrowserAudio signs in through a #token= link, joins
// as "host" with chromium's fake microphone, goes live from the page, and
// checks that listeners hear the browser; then mute silences it, leaving
// frees the WHIP session, and the end (confirmed in a dialog) ends the show.
//
// Not parallel: it measures real-time audio, so it runs alone.
func TestStudioGoesLiveWithBrowserAudio(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	b := newStudioBrowser(t, e, 2*time.Minute, false)
	id, tok := e.space("Studio show")

	openStudio(b, e, id, tok)
	if href := eval[string](b, `location.href`); strings.Contains(href, "token") || strings.Contains(href, tok) {
		t.Fatalf("the token stays in the address: %s", href)
	}
	if v := b.studio(); v.State != "scheduled" || v.Badge != "Scheduled" {
		t.Fatalf("before the start: %+v", v)
	}
	joinStudio(b, "host")
	b.waitStudio("host in the speaker list", jsSpeaker("host", "playing"), 10*time.Second)
	b.run(chromedp.Click(chromedp.ID("go-live")))
	b.waitStudio("live", `document.getElementById('studio').dataset.state === 'live' &&
		document.getElementById('badge').textContent === 'Live'`, 10*time.Second)

	// A listener hears the browser's microphone: chromium's fake device
	// beeps, the rest is silence.
	pcm := decodeLive(t, e.join(id)["ogg"].(string), 3)
	rms := windowsRMS(pcm)
	loud := countAbove(rms, 0.01)
	peak := 0.0
	for _, r := range rms {
		peak = math.Max(peak, r)
	}
	t.Logf("program: %d of %d 100 ms windows above RMS 0.01 (peak %.3f)", loud, len(rms), peak)
	if len(rms) < 28 || loud < 3 {
		t.Fatalf("the program does not carry the browser's audio: %d of %d windows above RMS 0.01, peak %.4f", loud, len(rms), peak)
	}
	b.waitStudio("the local microphone meter", `parseFloat(document.getElementById('mic-meter').dataset.level) > 0`, 3*time.Second)
	b.waitStudio("the listener counted", `document.getElementById('listener-count').textContent !== '0'`, 3*time.Second)
	v := b.studio()
	if v.State != "live" || len(v.Speakers) != 1 || v.Speakers[0].Name != "host" || !v.Speakers[0].You {
		t.Fatalf("studio while live: %+v", v)
	}

	// Muted, the program goes silent (the track sends silence).
	b.run(chromedp.Click(chromedp.ID("mute")))
	b.waitStudio("muted", `document.getElementById('mute').getAttribute('aria-pressed') === 'true'`, 2*time.Second)
	// What was mixed before the click plays out first (a loaded machine may
	// lag a little more: a few tries); a new listener also gets a burst of
	// the last 500 ms, which is skipped.
	for try := 1; ; try++ {
		time.Sleep(time.Second)
		rms := windowsRMS(decodeLive(t, e.join(id)["ogg"].(string), 2.5))
		if countAbove(rms[5:], 0.003) == 0 {
			break
		}
		if try == 3 {
			t.Fatalf("muted, the program still carries sound: 100 ms RMS %.3f", rms)
		}
	}
	b.run(chromedp.Click(chromedp.ID("mute")))
	b.waitStudio("unmuted", `document.getElementById('mute').getAttribute('aria-pressed') === 'false'`, 2*time.Second)

	// Leaving deletes the WHIP session.
	b.run(chromedp.Click(chromedp.ID("leave")))
	b.waitStudio("host gone from the list", `!document.querySelector('#speakers li[data-name="host"]')`, 10*time.Second)
	for deadline := time.Now().Add(5 * time.Second); e.srv.RTCSessions() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d WebRTC sessions open after leaving", e.srv.RTCSessions())
		}
	}

	// Ending asks first: "Keep going" does nothing, "End the show" ends it.
	b.run(chromedp.Click(chromedp.ID("end")))
	b.waitStudio("confirm dialog", `document.getElementById('end-dialog').open`, 2*time.Second)
	b.run(chromedp.Click(chromedp.ID("end-cancel")))
	b.waitStudio("dialog closed", `!document.getElementById('end-dialog').open`, 2*time.Second)
	time.Sleep(300 * time.Millisecond)
	if _, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil); sp["state"] != "live" {
		t.Fatalf("cancelled end, but the space is %v", sp["state"])
	}
	b.run(chromedp.Click(chromedp.ID("end")))
	b.waitStudio("confirm dialog", `document.getElementById('end-dialog').open`, 2*time.Second)
	b.run(chromedp.Click(chromedp.ID("end-confirm")))
	b.waitStudio("ended", `document.getElementById('studio').dataset.state === 'ended' &&
		document.getElementById('badge').textContent === 'Ended' && document.getElementById('join').disabled`, 10*time.Second)
	if _, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil); sp["state"] != "ended" {
		t.Fatalf("after the end from the page the space is %v", sp["state"])
	}
	if href := eval[string](b, `(() => { const a = document.getElementById('replay'); return a.hidden ? '' : a.href; })()`); href != e.pub+"/s/"+id {
		t.Fatalf("replay link %q, want the listener page", href)
	}
	b.checkClean()
}

// TestStudioHearsMixMinus: with an in-process 440 Hz speaker in the room,
// the page plays its mix-minus (everyone but the host) in <audio>, and the
// received-level meter and the speaker list show the other speaker.
//
// Not parallel: it measures real-time audio, so it runs alone.
func TestStudioHearsMixMinus(t *testing.T) {
	e := startServer(t)
	b := newStudioBrowser(t, e, time.Minute, false)
	id, tok := e.space("Mix-minus")
	synthSpeaker(t, e, id)

	openStudio(b, e, id, tok)
	joinStudio(b, "host")
	const rxLevel = `parseFloat(document.getElementById('rx-meter').dataset.level)`
	b.waitStudio("the return level", rxLevel+` > 0.1 && `+rxLevel+` < 0.4`, 10*time.Second)
	v := b.studio()
	level, t0 := v.RxLevel, v.RemoteTime
	time.Sleep(2 * time.Second)
	v = b.studio()
	if d := v.RemoteTime - t0; d < 1.5 || eval[bool](b, `document.getElementById('remote').paused`) {
		t.Fatalf("the remote <audio> moved %.2f s in 2 s: %+v", d, v)
	}
	t.Logf("return level %.3f (a 440 Hz tone at 0.3: RMS 0.21); remote <audio> %.2f → %.2f s in 2 s", level, t0, v.RemoteTime)
	b.waitStudio("synth speaking", `document.querySelector('#speakers li[data-name="synth"][data-speaking="true"]')`, 5*time.Second)
	v = b.studio()
	names := []string{}
	for _, s := range v.Speakers {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "host,synth" {
		t.Fatalf("speakers %v", names)
	}
	// Another microphone while connected: the track is replaced, no renegotiation.
	mics := eval[[]string](b, `[...document.getElementById('mic').options].map((o) => o.value)`)
	if len(mics) < 2 {
		t.Fatalf("microphones listed: %q", mics)
	}
	b.run(chromedp.SetValue(chromedp.ID("mic"), mics[1]))
	eval[bool](b, `document.getElementById('mic').dispatchEvent(new Event('change'))`)
	b.waitStudio("switched microphone", `document.getElementById('mic-status').textContent.startsWith('Switched to')`, 5*time.Second)
	if v := b.studio(); v.Phase != "connected" || e.srv.RTCSessions() != 1 {
		t.Fatalf("after switching microphones: %+v, %d sessions", v, e.srv.RTCSessions())
	}
	b.waitStudio("host still mixed", jsSpeaker("host", "playing"), 5*time.Second)

	e.transition(id, tok, "start")
	b.waitStudio("live from the poll", `document.getElementById('studio').dataset.state === 'live'`, 5*time.Second)
	// The show ended elsewhere (the CLI): the page hangs up and says so.
	e.transition(id, tok, "end")
	b.waitStudio("ended from the poll", `document.getElementById('studio').dataset.state === 'ended' &&
		document.getElementById('studio').dataset.phase === 'idle'`, 5*time.Second)
	b.checkClean()
}

// TestStudioRefusals: wrong tokens, a blocked microphone and the public
// port each get a clear answer.
func TestStudioRefusals(t *testing.T) {
	t.Parallel() // each has its own server and browser
	e := startServer(t)
	id, tok := e.space("Refusals")
	_, otherTok := e.space("Another show")

	// HTTP: host port only, its own CSP, assets from the host port.
	for _, c := range []struct {
		url  string
		want int
	}{
		{e.pub + "/studio/" + id, 404},
		{e.host + "/studio/nosuch", 404},
		{e.host + "/studio/" + id, 200},
		{e.host + "/static/studio.js", 200},
		{e.host + "/static/onair.css", 200},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d: %.200s", c.url, resp.StatusCode, c.want, body)
		}
		if strings.Contains(c.url, "/studio/") && c.want == 200 {
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "http") || strings.Contains(csp, "*") ||
				!strings.Contains(resp.Header.Get("Permissions-Policy"), "microphone=(self)") ||
				resp.Header.Get("Cache-Control") != "no-store" || strings.Contains(string(body), tok) {
				t.Errorf("studio headers %v", resp.Header)
			}
		}
	}

	b := newStudioBrowser(t, e, time.Minute, true)
	tokenError := func(how, token, want string) {
		t.Helper()
		b.run(chromedp.Navigate(e.host + "/studio/" + id + "#token=" + token))
		b.waitStudio(how, `document.getElementById('studio').dataset.auth === 'none' &&
			!document.getElementById('token-error').hidden`, 10*time.Second)
		v := b.studio()
		if !strings.Contains(v.TokenError, want) || v.Auth != "none" ||
			!eval[bool](b, `!document.getElementById('signin').hidden && document.getElementById('desk').hidden &&
				document.getElementById('token').getAttribute('aria-invalid') === 'true'`) {
			t.Fatalf("%s: %+v, want an error with %q", how, v, want)
		}
	}
	tokenError("unknown token", "wrong", "not valid")
	tokenError("another space's token", otherTok, "another space")

	// The right token through the form signs in.
	b.run(chromedp.SetValue(chromedp.ID("token"), tok), chromedp.Click(chromedp.ID("token-submit")))
	b.waitStudio("signed in by the form", jsSignedIn, 10*time.Second)
	if v := b.studio(); v.TokenError != "" || v.Alert != "" {
		t.Fatalf("after signing in: %+v", v)
	}

	// The browser denies the microphone: a clear message, no connection.
	b.run(chromedp.Click(chromedp.ID("join")))
	b.waitStudio("microphone refused", `document.getElementById('mic-status').textContent.includes('blocked')`, 10*time.Second)
	if v := b.studio(); v.Phase != "idle" || e.srv.RTCSessions() != 0 {
		t.Fatalf("with the microphone blocked: %+v, %d sessions", v, e.srv.RTCSessions())
	}

	// Ended elsewhere: the page says so and cannot join or go live.
	e.transition(id, tok, "end")
	b.waitStudio("ended", `document.getElementById('studio').dataset.state === 'ended' && document.getElementById('join').disabled &&
		document.getElementById('show-actions').hidden`, 5*time.Second)
	b.checkClean()
}

// TestStudioScreenshots saves screenshots of the studio, at desktop and
// phone sizes, to the directory in ONAIR_SCREENSHOTS (skipped without it).
func TestStudioScreenshots(t *testing.T) {
	dir := os.Getenv("ONAIR_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ONAIR_SCREENSHOTS=/tmp/onair-shots to save screenshots of the studio")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := startServer(t)
	b := newStudioBrowser(t, e, 3*time.Minute, false)
	id, tok := e.space("Tuesday talk: building for millions of listeners")
	shot := func(name string) {
		b.run(chromedp.Sleep(1200 * time.Millisecond))
		buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "studio-"+name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dark := func(on bool) {
		v := "light"
		if on {
			v = "dark"
		}
		b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
			return err
		}))
	}
	desktop, phone := chromedp.EmulateViewport(1280, 800), chromedp.Emulate(device.IPhoneX)

	b.run(desktop, chromedp.Navigate(e.host+"/studio/"+id+"#token=wrong"))
	b.waitStudio("token error", `!document.getElementById('token-error').hidden`, 10*time.Second)
	shot("signin-desktop")
	b.run(phone)
	shot("signin-phone")

	b.run(desktop, chromedp.Navigate(e.host+"/studio/"+id+"#token="+tok))
	b.waitStudio("signed in", jsSignedIn, 10*time.Second)
	shot("scheduled-desktop")
	b.run(phone)
	shot("scheduled-phone")
	b.run(desktop)

	synthSpeaker(t, e, id)
	spk, err := e.srv.Manager().Speaker(id, "Ada Lovelace")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = synth.Run(ctx, spk, synth.NewMelody()) }()
	defer func() { cancel(); <-done }()
	joinStudio(b, "host")
	b.run(chromedp.Click(chromedp.ID("go-live")))
	b.waitStudio("live", `document.getElementById('studio').dataset.state === 'live'`, 10*time.Second)
	for range 2 {
		oggListener(t, e, id)
	}
	b.waitStudio("three speakers", `document.querySelectorAll('#speakers li[data-state="playing"]').length === 3`, 10*time.Second)
	shot("live-desktop")
	b.run(phone)
	shot("live-phone")
	b.run(chromedp.Click(chromedp.ID("mute")))
	shot("live-muted-phone")
	dark(true)
	shot("live-muted-phone-dark")
	b.run(desktop)
	b.run(chromedp.Click(chromedp.ID("mute")))
	shot("live-desktop-dark")
	dark(false)
	b.run(chromedp.Click(chromedp.ID("end")))
	shot("end-confirm-desktop")
	b.run(chromedp.Click(chromedp.ID("end-confirm")))
	b.waitStudio("ended", `document.getElementById('studio').dataset.state === 'ended'`, 10*time.Second)
	shot("ended-desktop")
	b.run(chromedp.Navigate(e.host + "/studio/nosuch"))
	shot("notfound-desktop")
	t.Logf("screenshots in %s", dir)
}

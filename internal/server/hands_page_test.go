package server_test

import (
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageRaisedHandComesOnStage: a listener raises a hand on the listener
// page, the host accepts it in the studio, the listener opens the speaker
// link their page shows and speaks from the browser (chromium's fake
// microphone) over WHIP: their audio is in the program and the listener
// page shows them on stage, talking. The host then mutes and removes them
// from the studio.
//
// Not parallel: it measures real-time audio, so it runs alone.
func TestPageRaisedHandComesOnStage(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("Open floor")
	e.transition(id, tok, "start")
	// The browser's microphone plays a 660 Hz tone, 600 ms in every second
	// (chromium loops the file): speech-like enough that the browser's
	// noise suppression does not take a steady tone for noise.
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		"sine=f=660:sample_rate=48000:duration=10", "-af", "volume=0:enable='gte(mod(t,1),0.6)'", "-ac", "1", wav).CombinedOutput(); err != nil {
		t.Fatalf("make the tone: %v %s", err, out)
	}
	host := newStudioBrowser(t, e, 3*time.Minute, false, chromedp.Flag("use-file-for-fake-audio-capture", wav))
	openStudio(host, e, id, tok)
	listener := host.tab(e.pub)

	listener.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("hand-name")))
	listener.run(chromedp.SetValue(chromedp.ID("hand-name"), "Ann"), chromedp.Click(chromedp.ID("raise")))
	listener.waitFor("hand up", `document.getElementById('hand').dataset.hand === 'waiting'`, 10*time.Second)

	const annHand = `document.querySelector('#hands li[data-name="Ann"] .accept')`
	host.waitStudio("Ann's hand in the studio", annHand, 10*time.Second)
	host.run(chromedp.Click(`#hands li[data-name="Ann"] .accept`))
	listener.waitFor("the speaker link", `!document.getElementById('hand-link').hidden`, 10*time.Second)
	link := eval[string](listener, `document.getElementById('hand-link').href`)
	if !strings.HasPrefix(link, e.host+"/studio/"+id+"#token=") {
		t.Fatalf("speaker link %q", link)
	}

	speaker := host.tab(e.host)
	speaker.run(chromedp.Navigate(link))
	speaker.waitStudio("signed in as a speaker", jsSignedIn+` && document.getElementById('stage-panel').dataset.role === 'speaker'`, 10*time.Second)
	if v := speaker.studio(); !eval[bool](speaker, `document.getElementById('go-live').hidden && document.getElementById('end').hidden`) {
		t.Fatalf("a speaker's studio offers to run the show: %+v", v)
	}
	if name := eval[string](speaker, `document.getElementById('name').value`); name != "Ann" {
		t.Fatalf("the speaker's name field: %q", name)
	}
	speaker.run(chromedp.Click(chromedp.ID("join")))
	speaker.waitStudio("WebRTC connected", jsConnected, 15*time.Second)

	// The program carries the browser's tone: nobody else is on stage.
	pcm := decodeLive(t, e.join(id)["ogg"].(string), 3)
	if len(pcm) < 2*48000 {
		t.Fatalf("listener decoded %d samples", len(pcm))
	}
	for s := 0; s+48000 <= len(pcm); s += 48000 {
		sec := pcm[s : s+48000]
		tone, off := goertzel(sec, 660), math.Max(goertzel(sec, 550), goertzel(sec, 1000))
		t.Logf("program second %d: 660 Hz power %.3g, off-tone %.3g", s/48000, tone, off)
		if tone < 100*off || tone < 1e-4 {
			t.Fatalf("second %d of the program lacks the accepted listener's 660 Hz tone", s/48000)
		}
	}
	listener.waitFor("Ann on stage, talking", `document.querySelector('#stage-list li[data-name="Ann"][data-role="speaker"][data-talking="true"]')`, 10*time.Second)

	host.waitStudio("Ann's controls", `document.querySelector('#stage-speakers li[data-name="Ann"] .mute-btn')`, 5*time.Second)
	host.run(chromedp.Click(`#stage-speakers li[data-name="Ann"] .mute-btn`))
	listener.waitFor("Ann muted on the page", `(document.querySelector('#stage-list li[data-name="Ann"]') || {}).textContent?.includes('muted')`, 10*time.Second)
	host.waitStudio("Ann's remove button", `document.querySelector('#stage-speakers li[data-name="Ann"][data-muted="true"] .remove')`, 5*time.Second)
	host.run(chromedp.Click(`#stage-speakers li[data-name="Ann"] .remove`))
	listener.waitFor("Ann off the stage", `!document.querySelector('#stage-list li[data-name="Ann"]')`, 10*time.Second)
	for _, b := range []*browser{host, listener, speaker} {
		b.checkClean()
	}
}

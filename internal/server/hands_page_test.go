package server_test

import (
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
	host := newStudioBrowser(t, e, 3*time.Minute, false)
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

	// The program carries the browser's microphone (the fake device beeps;
	// nobody else is on stage, so the rest is silence).
	rms := windowsRMS(decodeLive(t, e.join(id)["ogg"].(string), 3))
	loud := countAbove(rms, 0.01)
	t.Logf("program: %d of %d 100 ms windows above RMS 0.01", loud, len(rms))
	if len(rms) < 28 || loud < 3 {
		t.Fatalf("the program does not carry the accepted listener's audio: %d of %d windows", loud, len(rms))
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

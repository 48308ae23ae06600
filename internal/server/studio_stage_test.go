package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestStudioStagePanel: the studio shows the schedule of an auto-start show
// and, once it went live by itself, the start delay; a host invites a
// co-host from the page (a bad name is refused with the reason and makes
// nothing), sees the invite listed and revokes it.
func TestStudioStagePanel(t *testing.T) {
	t.Parallel() // its own server and browser; no audio measured
	e := startServer(t)
	b := newStudioBrowser(t, e, 2*time.Minute, false)
	id, tok := e.autoSpace("Panel", time.Now().Add(3*time.Second))
	openStudio(b, e, id, tok)
	b.waitStudio("the schedule", `document.getElementById('stage-schedule').textContent.includes('goes live by itself')`, 5*time.Second)
	if role := eval[string](b, `document.getElementById('stage-role').textContent`); role != "You are the host." {
		t.Fatalf("role line %q", role)
	}
	b.waitStudio("the start delay", `document.getElementById('stage-schedule').dataset.delayMs !== ''`, 10*time.Second)
	text := eval[string](b, `document.getElementById('stage-schedule').textContent`)
	delay, err := strconv.Atoi(eval[string](b, `document.getElementById('stage-schedule').dataset.delayMs`))
	if err != nil || delay < 0 || delay > 100 || !strings.Contains(text, "after its scheduled time (by the schedule)") {
		t.Fatalf("after the auto-start the studio says %q (delay %d ms)", text, delay)
	}
	t.Logf("studio: %s", text)

	b.run(chromedp.SetValue(chromedp.ID("invite-name"), "<b>x</b>"), chromedp.Click(chromedp.ID("invite")))
	b.waitStudio("the refusal", `document.getElementById('stage-msg').textContent.includes('name')`, 5*time.Second)
	if _, l := e.call("GET", e.host+"/api/v1/spaces/"+id+"/invites", tok, nil); len(l["invites"].([]any)) != 0 {
		t.Fatalf("a refused invite was made: %v", l)
	}
	b.run(chromedp.SetValue(chromedp.ID("invite-name"), "Bo"), chromedp.SetValue(chromedp.ID("invite-role"), "cohost"),
		chromedp.Click(chromedp.ID("invite")))
	b.waitStudio("the link", `document.getElementById('invite-link').value.includes('#token=')`, 5*time.Second)
	link := eval[string](b, `document.getElementById('invite-link').value`)
	co, _ := strings.CutPrefix(link, e.host+"/studio/"+id+"#token=")
	if _, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, co, nil); sp["role"] != "cohost" {
		t.Fatalf("the link's token: %v", sp)
	}
	const bo = `document.querySelector('#invites li[data-name="Bo"][data-role="cohost"] .revoke')`
	b.waitStudio("Bo listed", bo, 5*time.Second)
	b.run(chromedp.Click(`#invites li[data-name="Bo"] .revoke`))
	b.waitStudio("Bo revoked", `!`+bo, 5*time.Second)
	if code, _ := e.call("GET", e.host+"/api/v1/spaces/"+id, co, nil); code != 401 {
		t.Fatalf("the revoked co-host token: %d", code)
	}
	b.checkClean()
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

type stageDoc struct {
	State        string `json:"state"`
	Title        string `json:"title"`
	Listeners    int    `json:"listeners"`
	StartDelayMS *int64 `json:"start_delay_ms"`
	At           string `json:"at"`
	OnStage      []struct {
		Name    string `json:"name"`
		Role    string `json:"role"`
		Talking bool   `json:"talking"`
		Muted   bool   `json:"muted"`
	} `json:"on_stage"`
}

// getStage fetches the stage document with the given If-None-Match.
func getStage(t *testing.T, url, etag string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// waitStage polls the stage document until cond holds.
func waitStage(t *testing.T, url, what string, cond func(stageDoc) bool) stageDoc {
	t.Helper()
	var doc stageDoc
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := getStage(t, url, "")
		doc = stageDoc{}
		_ = json.Unmarshal(body, &doc)
		if cond(doc) {
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("stage document: %s not within 10 s: %s", what, body)
		}
	}
}

// TestStageDocument: one cacheable JSON per space with who is on stage
// (roles), who is talking (from the mixer's levels), who is muted and the
// listener count; the same bytes for every request within its second.
func TestStageDocument(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, host := e.space("The stage")
	_, guest := e.invite(id, host, "speaker", "guest")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pushTone(ctx, t, e.host+"/ingest/"+id, 440, "Authorization: Bearer "+guest, 20000)
	e.seat(id, host, "quiet") // on stage, sends nothing
	e.transition(id, host, "start")
	oggListener(t, e, id)
	url := e.pub + "/stage/" + id + ".json"

	doc := waitStage(t, url, "guest talking, one listener", func(d stageDoc) bool {
		return len(d.OnStage) == 2 && d.OnStage[0].Name == "guest" && d.OnStage[0].Talking && d.Listeners == 1
	})
	if doc.State != "live" || doc.Title != "The stage" || doc.OnStage[0].Role != "speaker" ||
		doc.OnStage[1].Name != "quiet" || doc.OnStage[1].Role != "host" || doc.OnStage[1].Talking || doc.StartDelayMS == nil {
		t.Fatalf("stage document: %+v", doc)
	}
	// Every request within the copy's second gets the same bytes; a
	// revalidation with its ETag gets a 304.
	resp, first := getStage(t, url, "")
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=1" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", resp.Header)
	}
	etag := resp.Header.Get("ETag")
	same := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; same++ {
		r, b := getStage(t, url, "")
		if !bytes.Equal(b, first) && r.Header.Get("ETag") == etag {
			t.Fatalf("same ETag, other bytes")
		}
		if r.Header.Get("ETag") != etag {
			break // the next second's copy
		}
	}
	if r, _ := getStage(t, url, etag); r.StatusCode != http.StatusNotModified && r.Header.Get("ETag") == etag {
		t.Fatalf("revalidation: %d", r.StatusCode)
	}
	t.Logf("%d requests answered with the same copy", same)

	// A host mutes the guest: muted, not talking, within a second or two.
	if code, body := e.call("POST", e.host+"/api/v1/spaces/"+id+"/speakers/guest/mute", host, map[string]any{"muted": true}); code != 200 {
		t.Fatalf("mute: %d %v", code, body)
	}
	waitStage(t, url, "guest muted", func(d stageDoc) bool {
		return len(d.OnStage) == 2 && d.OnStage[0].Muted && !d.OnStage[0].Talking
	})
	for _, bad := range []string{"/stage/nope.json", "/stage/" + id, "/stage/.json"} {
		if r, _ := getStage(t, e.pub+bad, ""); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", bad, r.StatusCode)
		}
	}
}

// TestPageAutoStartsOnStage: a listener waits on the page of a show that
// starts by itself: the page counts down, the show goes live on time (the
// start delay within 100 ms with the listener waiting), and the page plays
// without a reload and shows who is on stage and talking; a reaction sent
// from the page comes back counted.
func TestPageAutoStartsOnStage(t *testing.T) {
	e := startServer(t)
	b := newBrowser(t, e, 90*time.Second)
	at := time.Now().Add(6 * time.Second)
	id, tok := e.autoSpace("Starts by itself", at)
	synthSpeaker(t, e, id) // in the green room

	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("countdown")))
	b.run(chromedp.Click(chromedp.ID("play")))
	b.waitFor("waiting for the start", `document.getElementById('space').dataset.phase === 'waiting'`, 5*time.Second)
	delay, _ := e.waitStarted(id, tok, 10*time.Second)
	t.Logf("auto-start delay with a listener waiting on the page: %.0f ms", delay)
	if delay < 0 || delay > 100 {
		t.Fatalf("auto-start delay %.0f ms", delay)
	}
	b.waitFor("playback once live", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
	t.Logf("the page played %v after the scheduled start", time.Since(at).Round(time.Millisecond))
	b.waitFor("the stage shows synth talking", `document.querySelector('#stage-list li[data-name="synth"][data-talking="true"]')`, 5*time.Second)
	if label := eval[string](b, `document.querySelector('#stage-list li[data-name="synth"]').textContent`); !strings.Contains(label, "Host") {
		t.Fatalf("stage entry %q", label)
	}
	b.assertAdvances(3*time.Second, 2*time.Second)
	// A reaction comes back counted in the stage document.
	b.run(chromedp.Click(`#reactions button[data-emoji="👏"]`))
	b.waitFor("the applause counted", `document.querySelector('#reactions button[data-emoji="👏"]').dataset.count === '1'`, 5*time.Second)
	b.checkClean()
}

// TestReactions: listeners with tickets react with one of five emoji, one a
// second each; the stage document shows the counts of the last 3 whole
// seconds.
func TestReactions(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	id, host := e.space("Applause")
	e.transition(id, host, "start")
	if code, _, _ := e.callWith(http.DefaultClient, "POST", e.pub+"/api/v1/spaces/"+id+"/react", "", map[string]any{"emoji": "👏"}); code != 401 {
		t.Fatalf("a reaction without a ticket: %d", code)
	}
	react := func(c *http.Client, emoji string) int {
		code, _, _ := e.callWith(c, "POST", e.pub+"/api/v1/spaces/"+id+"/react", "", map[string]any{"emoji": emoji})
		return code
	}
	a := e.listenerClient(id)
	for _, bad := range []string{"", "<b>", "💩", strings.Repeat("👏", 2)} {
		if code := react(a, bad); code != 400 {
			t.Fatalf("emoji %q: %d", bad, code)
		}
	}
	// Start right after a second turns, so all five land in the same one.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
	for range 4 {
		if code := react(e.listenerClient(id), "👏"); code != 204 {
			t.Fatalf("react: %d", code)
		}
	}
	if code := react(a, "🔥"); code != 204 {
		t.Fatalf("react: %d", code)
	}
	if code := react(a, "🔥"); code != 429 {
		t.Fatalf("a second reaction within the second: %d", code)
	}
	var doc struct{ Reactions map[string]int }
	for deadline := time.Now().Add(4 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := getStage(t, e.pub+"/stage/"+id+".json", "")
		_ = json.Unmarshal(body, &doc)
		if doc.Reactions["👏"] == 4 && doc.Reactions["🔥"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stage document's reactions: %s", body)
		}
	}
}

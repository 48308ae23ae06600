package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// The host's studio page in Chromium (its fake microphone) speaks through
// origin-a, a process of its own beside a standby origin-b and an edge on
// a 3-server NATS cluster. kill -9 of origin-a: the page finds origin-b
// once it holds the lease and joins it by itself with the same microphone
// (no reload, no click), and the host is in origin-b's mix, which the
// edge's listener hears go on. The in-process test (internal/server,
// TestStudioMovesToTheStandbyOrigin) cuts an origin; this one kills it.
func TestStudioFollowsAKilledOrigin(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not installed (make test installs it)", chromium)
	}
	dir := t.TempDir()
	c := startNATSCluster(t, dir)
	// 3 s, not the default 1.5 s: on a starved machine an active origin's
	// renewals can stall past 1.1 s and it steps down before the kill
	// (seen once beside a fuzzer). With the default the move took 2.4 s.
	const ttl = 3 * time.Second
	a := startRole(t, "origin", "origin-a", filepath.Join(dir, "a"), c.client[0], "--lease-ttl", ttl.String())
	b := startRole(t, "origin", "origin-b", filepath.Join(dir, "b"), c.client[1], "--lease-ttl", ttl.String())
	e := startRole(t, "edge", "edge-1", filepath.Join(dir, "edge"), c.client[2])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("origin-a:\n%s\norigin-b:\n%s", a.stderr, b.stderr)
		}
	})
	poll(t, 5*time.Second, "origin-b standing by", func() bool { return health(t, b.host).Status == "standby" })
	sp := a.createSpace(t, "studio failover")
	poll(t, 10*time.Second, "origin-a lists both origins", func() bool {
		resp, err := http.Get(a.host + "/api/v1/origins")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var l struct{ Origins []any }
		return json.NewDecoder(resp.Body).Decode(&l) == nil && len(l.Origins) == 2
	})

	ctx := studioBrowser(t)
	waitPage := func(what, cond string, d time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(d); !evalIn[bool](t, ctx, "!!("+cond+")"); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v (the page says %q)", what, d,
					evalIn[string](t, ctx, `document.getElementById('mic-status').textContent`))
			}
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(a.host+"/studio/"+sp.id+"#token="+sp.token)); err != nil {
		t.Fatal(err)
	}
	waitPage("signed in", `document.getElementById('studio').dataset.auth === 'ok'`, 15*time.Second)
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("name"), "host"), chromedp.Click(chromedp.ID("join"))); err != nil {
		t.Fatal(err)
	}
	waitPage("on air through origin-a", `document.getElementById('studio').dataset.phase === 'connected'`, 20*time.Second)
	a.goLive(t, sp)
	waitPage("the page knows both origins", `document.getElementById('studio').dataset.origins === '2'`, 10*time.Second)
	l := listenAtEdge(t, e, sp)
	time.Sleep(2 * time.Second)

	if st := health(t, a.host); st.Status != "ok" {
		t.Fatalf("origin-a before the kill: %+v, want active (a renewal lost to a starved machine?)", st)
	}
	killed := time.Now()
	_ = a.cmd.Process.Kill()
	waitPage("the page on air through origin-b",
		`(() => { const r = document.getElementById('studio'); return r.dataset.phase === 'connected' && r.dataset.origin === '`+b.host+`'; })()`,
		20*time.Second)
	moved := time.Since(killed)
	poll(t, 10*time.Second, "the host playing in origin-b's mix", func() bool { return speakerPlaying(t, b, sp, "host") })
	playing := time.Since(killed)
	poll(t, 5*time.Second, "audio again on the edge", func() bool { return l.lastRead().After(killed.Add(playing)) })
	gap := l.maxGapSince(killed.Add(-time.Second))
	t.Logf("kill -9 of origin-a (lease TTL %v): the page on air through origin-b after %v, the host in its mix after %v; the edge's listener waited at most %v",
		ttl, moved, playing, gap)
	// The TTL, the takeover on a loaded machine, the page's probe, WHIP and
	// ICE: the in-process test's bound, with the default TTL.
	if limit := ttl + 4*time.Second; playing > limit {
		t.Errorf("the host was off the mix %v after the kill, want ≤ %v", playing, limit)
	}
	if gap > 5*time.Second {
		t.Errorf("the edge's listener waited %v for audio, want ≤ 5 s", gap)
	}
}

// evalIn evaluates js in the page of ctx.
func evalIn[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// studioBrowser is a headless Chromium whose fake microphone (a periodic
// beep) the page may use without asking, with WebRTC host candidates on
// real (loopback) addresses.
func studioBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 2*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	return bctx
}

// speakerPlaying says whether the space's speaker name is playing in s's mix.
func speakerPlaying(t *testing.T, s *node, sp createdSpace, name string) bool {
	_, body := authedGet(t, s.host+"/api/v1/spaces/"+sp.id, sp.token)
	var v struct {
		Speakers []struct{ Name, State string }
	}
	if json.Unmarshal([]byte(body), &v) != nil {
		return false
	}
	for _, s := range v.Speakers {
		if s.Name == name && s.State == "playing" {
			return true
		}
	}
	return false
}

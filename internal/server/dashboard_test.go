package server_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/load"
)

// TestDashboardShowsLiveFiguresAndSwitchesTheGate opens the dashboard in
// Chromium while a load run's listeners join: the figures and charts move
// with them, and the mode buttons switch the gate.
func TestDashboardShowsLiveFiguresAndSwitchesTheGate(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	id := liveSpace(t, e, "dashboard")
	b := launchBrowser(t, e.host, 2*time.Minute)
	b.run(chromedp.Navigate(e.host + "/dashboard#key=" + e.admin))
	b.waitFor("the first figures", `document.getElementById('f-mode').textContent === 'normal'`, 10*time.Second)
	if hash := eval[string](b, `location.hash`); hash != "" {
		t.Errorf("the admin key stayed in the address bar: %q", hash)
	}
	lines := `document.querySelectorAll('#c-joins path.line').length`
	b.waitFor("the joins chart", lines+` === 4`, 5*time.Second)

	done := make(chan struct{})
	go func() { // 60 listeners arrive over 3 s and stay 12 s
		defer close(done)
		runLoad(t, load.Config{Target: e.pub, Space: id, Listeners: 60, Shape: load.ShapeRamp, Window: 3 * time.Second,
			Duration: 12 * time.Second, Grace: 3 * time.Second, Sources: "127.0.0.0/16"}, time.Minute)
	}()
	defer func() { <-done }()
	b.waitFor("the crowd on the dashboard", `Number(document.getElementById('f-listeners').textContent) >= 50`, 20*time.Second)
	b.waitFor("joins drawn", `(document.querySelector('#c-joins path.line[data-name=admitted]').getAttribute('d') || '').length > 20`, 5*time.Second)

	b.run(chromedp.Click(chromedp.CSS(`button[data-mode=under_attack]`)))
	b.waitFor("the switch", `document.getElementById('f-mode').textContent.startsWith('under_attack')`, 5*time.Second)
	if _, st := e.call("GET", e.host+"/gate", "", nil); st["mode"] != "under_attack" {
		t.Fatalf("the gate is %v after the switch", st["mode"])
	}
	b.waitFor("the reason shown", `document.getElementById('f-reason').textContent.includes('operator')`, 5*time.Second)
	b.run(chromedp.Click(chromedp.CSS(`button[data-mode=auto]`)))
	b.waitFor("back to auto", `document.getElementById('f-mode').textContent === 'auto'`, 5*time.Second)
	b.checkClean()
}

package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestScratchRate(t *testing.T) {
	e := startServer(t)
	b := newBrowser(t, e, 2*time.Minute)
	id, _ := e.space("x")
	b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.WaitVisible(chromedp.ID("play")))
	for round := range 3 {
	for _, batch := range []int{16, 32, 64, 128, 256} {
		for _, par := range []int{1, 2} {
			js := fmt.Sprintf(`Promise.all(Array.from({length: %d}, (_, k) => new Promise((resolve) => {
				const w = new Worker(document.getElementById('space').dataset.powWorker);
				let last = null;
				w.onmessage = (e) => { if (e.data.type === 'progress') last = e.data; };
				w.postMessage({challenge: 'rate'+k, difficulty: 200, batch: %d});
				setTimeout(() => { w.terminate(); resolve(last ? last.tried / (last.ms / 1000) : 0); }, 1500);
			}))).then((a) => a.reduce((x, y) => x + y, 0))`, par, batch)
			v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
			t.Logf("round %d batch %d workers %d: %.0f/s %v", round, batch, par, v, err)
		}
	}
	}
}

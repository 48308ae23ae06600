package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/server"
	"github.com/onair-live/onair/internal/ticket"
)

// edgePair is two full nodes that carry the same spaces, as edges of one
// cluster do: one program bus, one set of ticket keys, each listing the
// other as the alternate edge. a's public port is reached through a proxy
// the test can cut, so a vanishes as a killed process does (connections
// reset, the port refuses) while its mixer goes on feeding the bus.
type edgePair struct {
	a, b *env
	aURL string // a's public base URL, through the proxy
	cut  func()
}

func startEdgePair(t *testing.T) *edgePair {
	t.Helper()
	shared, keys := bus.NewLocal(), ticket.NewKeyring(ticket.NewKey(1))
	px := startCutProxy(t)
	p := &edgePair{aURL: px.url, cut: px.cut}
	// Both addresses are known before either node starts: each names the other.
	aAddr, bAddr := "127.0.0.1:"+nginxFreePort(t), "127.0.0.1:"+nginxFreePort(t)
	p.a = startServerWith(t, func(c *server.Config) {
		c.Gate, c.Bus, c.Keys, c.Listen, c.PublicURL = roomyGate, shared, keys, aAddr, px.url
		c.Alternates = func(string) []string { return []string{"http://" + bAddr} }
	})
	px.forward(aAddr)
	p.b = startServerWith(t, func(c *server.Config) {
		c.Gate, c.Bus, c.Keys, c.Listen = roomyGate, shared, keys, bAddr
		c.Alternates = func(string) []string { return []string{px.url} }
	})
	return p
}

// liveSpace starts a show on a with an in-process speaker, copies the space
// to b (as an edge learns it from the control plane) and has a listener on
// b, so b carries the space before anyone fails over to it.
func (p *edgePair) liveSpace(t *testing.T) string {
	t.Helper()
	id, tok := p.a.space("Two edges")
	synthSpeaker(t, p.a, id)
	p.a.transition(id, tok, "start")
	sp, err := p.a.srv.Store().Space(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.b.srv.Store().Put(sp); err != nil {
		t.Fatal(err)
	}
	oggListener(t, p.b, id)
	return id
}

// cutProxy forwards TCP to a target until cut, which resets every
// connection and closes the port.
type cutProxy struct {
	ln  net.Listener
	url string
	mu  sync.Mutex
	cs  map[net.Conn]struct{}
	off bool
}

func startCutProxy(t *testing.T) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, url: "http://" + ln.Addr().String(), cs: map[net.Conn]struct{}{}}
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) forward(target string) {
	go func() {
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c, target)
		}
	}()
}

func (p *cutProxy) pipe(c net.Conn, target string) {
	up, err := net.Dial("tcp", target)
	if err != nil || !p.track(c, up) {
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

func (p *cutProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.cs[c] = struct{}{}
	}
	return !p.off
}

// cut is the kill: the port closes and every open connection is reset
// (SO_LINGER 0 sends RST, not FIN), as when the process dies.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.off = true
	p.ln.Close()
	for c := range p.cs {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

// TestJoinOffersRedundantHLS: with another edge carrying the space, the
// join's HLS URL is a multivariant playlist listing the stream on this edge
// and then on the other, each opened by the listener's ticket, kept by no
// shared cache. On one process the join still gives the media playlist.
func TestJoinOffersRedundantHLS(t *testing.T) {
	p := startEdgePair(t)
	id := p.liveSpace(t)
	j := p.a.joinAt(p.aURL, id)
	main := j["hls"].(string)
	if !strings.HasPrefix(main, p.aURL+"/hls/"+id+"/main.m3u8?t=") {
		t.Fatalf("join's hls %q, want the multivariant playlist on a", main)
	}
	if alts, _ := j["alternates"].([]any); len(alts) != 1 || alts[0] != p.b.pub {
		t.Fatalf("alternates %v", j["alternates"])
	}
	resp, body := getResp(t, main)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" ||
		resp.Header.Get("Cache-Control") != "private, max-age=5" {
		t.Fatalf("multivariant: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	var uris []string
	for _, l := range strings.Split(body, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			uris = append(uris, l)
		}
	}
	q := "/hls/" + id + "/index.m3u8?t=" + j["ticket"].(string)
	if len(uris) != 2 || uris[0] != p.aURL+q || uris[1] != p.b.pub+q || strings.Count(body, "#EXT-X-STREAM-INF:") != 2 {
		t.Fatalf("variants %q, want a then b with the ticket:\n%s", uris, body)
	}
	for _, u := range uris { // the one ticket opens both edges' playlists
		if code, pl := get(t, u); code != 200 || !strings.Contains(pl, "#EXT-X-PART:") {
			t.Fatalf("%s: %d\n%s", u, code, pl)
		}
	}
	for _, bad := range []string{"", "?t=forged"} {
		if code, _ := get(t, p.aURL+"/hls/"+id+"/main.m3u8"+bad); code != 401 && code != 403 {
			t.Errorf("multivariant with ticket %q: %d, want 401/403", bad, code)
		}
	}

	one := startServer(t)
	oid, otok := one.space("One process")
	one.transition(oid, otok, "start")
	if h := one.join(oid)["hls"].(string); !strings.Contains(h, "/hls/"+oid+"/index.m3u8?t=") {
		t.Fatalf("one process: join's hls %q, want the media playlist", h)
	}
}

// joinAt joins space id at base (a's proxy URL, not its own listener).
func (e *env) joinAt(base, id string) map[string]any {
	e.t.Helper()
	code, j := e.call("POST", base+"/api/v1/spaces/"+id+"/join", "", nil)
	if code != http.StatusOK {
		e.t.Fatalf("join at %s: %d %v", base, code, j)
	}
	return j
}

func getResp(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestJoinCORSOnlyForOtherEdges: a listener page from the space's other
// edge may renew its ticket here (preflight, then POST with Onair-Ticket);
// other origins, other methods and ticketless joins get no CORS grant, and
// one process grants none.
func TestJoinCORSOnlyForOtherEdges(t *testing.T) {
	p := startEdgePair(t)
	id := p.liveSpace(t)
	join := p.b.pub + "/api/v1/spaces/" + id + "/join"
	pre := func(url, origin, method string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "onair-ticket")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	r := pre(join, p.aURL, "POST")
	h := r.Header
	if r.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != p.aURL || h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "Onair-Ticket" {
		t.Fatalf("preflight from the other edge: %d %v", r.StatusCode, h)
	}
	for _, c := range []struct{ url, origin, method string }{
		{join, "http://evil.example", "POST"},
		{join, p.aURL, "DELETE"},
		{strings.Replace(join, p.b.pub, startServer(t).pub, 1), p.aURL, "POST"},
	} {
		if r := pre(c.url, c.origin, c.method); r.StatusCode != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %+v: %d %v", c, r.StatusCode, r.Header)
		}
	}

	// The page on a may reach b (fetches, media), and nothing more.
	resp, _ := getResp(t, p.aURL+"/s/"+id)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' "+p.b.pub+";") || !strings.Contains(csp, "media-src 'self' blob: "+p.b.pub+";") ||
		!strings.HasPrefix(csp, "default-src 'self';") || strings.Count(csp, p.b.pub) != 2 {
		t.Errorf("listener page CSP with another edge: %q", csp)
	}

	tok := p.a.joinAt(p.aURL, id)["ticket"].(string)
	post := func(origin, tk string) (int, string, map[string]any) {
		req, _ := http.NewRequest("POST", join, nil)
		req.Header.Set("Origin", origin)
		if tk != "" {
			req.Header.Set("Onair-Ticket", tk)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body
	}
	code, acao, body := post(p.aURL, tok)
	if code != 200 || acao != p.aURL || !strings.HasPrefix(body["ogg"].(string), p.b.pub+"/live/") {
		t.Fatalf("renewal from the other edge's page: %d, ACAO %q, %v", code, acao, body)
	}
	if _, acao, _ := post("http://evil.example", tok); acao != "" {
		t.Errorf("renewal from another origin granted %q", acao)
	}
	if _, acao, _ := post(p.aURL, ""); acao != "" {
		t.Errorf("a join without a ticket granted %q", acao)
	}
}

// TestMultivariantRefusesABadAlternate: an alternate edge's URL that
// would break the playlist (a configuration mistake) is a clear error, not
// a playlist with a forged line.
func TestMultivariantRefusesABadAlternate(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Alternates = func(string) []string { return []string{"http://edge\n#EXT-X-ENDLIST"} }
	})
	id, tok := e.space("Bad alternate")
	e.transition(id, tok, "start")
	main := e.join(id)["hls"].(string)
	code, body := get(t, main)
	if code != http.StatusInternalServerError || !strings.Contains(body, "bad_alternate") || strings.Contains(body, "#EXT") {
		t.Fatalf("multivariant with a bad alternate: %d %s", code, body)
	}
}

// TestFFprobeReadsMultivariant: ffprobe takes the multivariant playlist of
// two edges, one program per edge, Opus in each.
func TestFFprobeReadsMultivariant(t *testing.T) {
	needFFmpeg(t)
	p := startEdgePair(t)
	id := p.liveSpace(t)
	main := p.a.joinAt(p.aURL, id)["hls"].(string)
	get(t, strings.Replace(main, "main.m3u8", "index.m3u8", 1)) // waits for a's first whole segment
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"program=program_id:stream=codec_name,sample_rate,channels", "-of", "json", main)
	var stderr strings.Builder
	cmd.Stderr = &stderr // notes such as "Cannot reuse HTTP connection for different host": two edges
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", main, err, stderr.String())
	}
	var pr struct {
		Programs []struct {
			Streams []struct {
				CodecName  string `json:"codec_name"`
				SampleRate string `json:"sample_rate"`
				Channels   int
			}
		}
	}
	if err := json.Unmarshal(out, &pr); err != nil || len(pr.Programs) != 2 {
		t.Fatalf("ffprobe: want 2 programs (one per edge): %v\n%s", err, out)
	}
	for _, prog := range pr.Programs {
		if len(prog.Streams) != 1 || prog.Streams[0].CodecName != "opus" || prog.Streams[0].SampleRate != "48000" {
			t.Fatalf("ffprobe program %+v, want one opus 48 kHz stream\n%s", prog, out)
		}
	}
	t.Logf("ffprobe: %s", strings.Join(strings.Fields(string(out)), " "))
}

// TestPageFailsOverToAnotherEdge plays a live show on the listener page
// from edge a through the progressive Ogg stream (a's LL-HLS is blocked in
// the browser, so the page fell back to it), kills a, and has the page back
// on air from edge b within 5 s: it notices the stream stopped, renews its
// ticket on b (cross-origin) and plays from there, HLS again where it works.
func TestPageFailsOverToAnotherEdge(t *testing.T) {
	p := startEdgePair(t)
	id := p.liveSpace(t)
	b := launchBrowser(t, p.aURL, 2*time.Minute)
	b.also = []string{p.b.pub}
	b.block(p.aURL + "/hls/*")
	m := b.failOver(p, "/s/"+id, 5*time.Second)
	if m.Mode != "hls.js" {
		t.Fatalf("after the failover: %+v, want hls.js (b's HLS works)", m)
	}
	b.checkClean()
}

// TestPageFailsOverOggOnly is the same with the page held to the Ogg
// stream (?player=ogg, as a browser without MSE or HLS): on b it is Ogg
// again. Chromium needs about 32 KB of a stream (~4.7 s of a 48 kb/s
// program) before it starts one, so the page asks b for a start-up burst
// of that much (?resume=1): back on air within the 5 s an edge's death may
// cost.
func TestPageFailsOverOggOnly(t *testing.T) {
	p := startEdgePair(t)
	id := p.liveSpace(t)
	b := launchBrowser(t, p.aURL, 2*time.Minute)
	b.also = []string{p.b.pub}
	if m := b.failOver(p, "/s/"+id+"?player=ogg", 5*time.Second); m.Mode != "ogg" {
		t.Fatalf("after the failover: %+v, want ogg", m)
	}
	b.checkClean()
}

// failOver opens page on edge a, plays, kills a, and wants the page on air
// from b within limit; it returns the media state on b.
func (b *browser) failOver(p *edgePair, page string, limit time.Duration) mediaState {
	t := b.t
	t.Helper()
	id := strings.TrimPrefix(strings.SplitN(page, "?", 2)[0], "/s/")
	b.run(chromedp.Navigate(p.aURL+page), chromedp.WaitVisible(chromedp.ID("play")), chromedp.Click(chromedp.ID("play")))
	b.waitFor("live Ogg playback on a", `document.getElementById('space').dataset.phase === 'playing' &&
		document.getElementById('space').dataset.mode === 'ogg'`, 30*time.Second)
	b.assertAdvances(3*time.Second, 2500*time.Millisecond)
	if f := eval[string](b, `document.getElementById('space').dataset.failovers || ''`); f != "" {
		t.Fatalf("the page failed over %s times while a was up\n%s", f, b.report())
	}

	p.cut()
	back := b.waitOnAir(p.b.pub, `document.getElementById('audio').currentTime > 0.3`, limit)
	m := b.assertAdvances(3*time.Second, 2500*time.Millisecond)
	t.Logf("back on air from edge b %v after edge a died (%s)", back.Round(10*time.Millisecond), m.Mode)
	if m.Source != "live" {
		t.Fatalf("after the failover: %+v", m)
	}
	if n := b.countRequests(p.b.pub + "/api/v1/spaces/" + id + "/join"); n == 0 {
		t.Fatalf("the page plays from b without joining there\n%s", b.report())
	}
	return m
}

// block makes the browser fail requests matching pattern.
func (b *browser) block(pattern string) {
	b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: pattern, Block: true}}})
		return err
	}))
}

// TestPageHLSSwitchesEdgeByItself plays a live show with hls.js from the
// multivariant playlist, kills edge a, and has hls.js go on from edge b's
// variant by itself: the audio plays past what it had buffered from a
// within 5 s, and the page never had to join again.
func TestPageHLSSwitchesEdgeByItself(t *testing.T) {
	p := startEdgePair(t)
	id := p.liveSpace(t)
	b := launchBrowser(t, p.aURL, 2*time.Minute)
	b.also = []string{p.b.pub}
	b.run(chromedp.Navigate(p.aURL+"/s/"+id+"?player=hls.js"), chromedp.WaitVisible(chromedp.ID("play")),
		chromedp.Click(chromedp.ID("play")))
	b.waitFor("live hls.js playback on a", `document.getElementById('space').dataset.phase === 'playing'`, 20*time.Second)
	b.assertAdvances(3*time.Second, 2*time.Second)
	if b.countRequests(p.aURL+"/hls/"+id+"/main.m3u8") == 0 {
		t.Fatalf("hls.js did not load the multivariant playlist\n%s", b.report())
	}
	joins := b.countRequests("/join")

	// What a had delivered: hls.js may play it out after a is gone.
	buffered := eval[float64](b, `(() => { const a = document.getElementById('audio'), r = a.buffered;
		return r.length ? r.end(r.length - 1) : a.currentTime; })()`)
	p.cut()
	back := b.waitOnAir(p.b.pub, `document.getElementById('audio').currentTime > `+strconv.FormatFloat(buffered+0.5, 'f', 3, 64), 5*time.Second)
	t.Logf("hls.js playing from edge b %v after edge a died (%.2f s had been buffered)", back.Round(10*time.Millisecond), buffered)
	b.assertAdvances(3*time.Second, 2500*time.Millisecond)
	if n := b.countRequests(p.b.pub + "/hls/" + id + "/"); n == 0 {
		t.Fatalf("no HLS request to edge b\n%s", b.report())
	}
	if n := b.countRequests("/join"); n != joins {
		t.Fatalf("the page joined again (%d joins, %d before): hls.js did not switch by itself\n%s", n, joins, b.report())
	}
	b.checkClean()
}

// waitOnAir waits until the page plays from edge (its data-edge) with cond
// holding, and returns how long that took.
func (b *browser) waitOnAir(edge, cond string, limit time.Duration) time.Duration {
	b.t.Helper()
	start := time.Now()
	b.waitFor("on air from "+edge, `(() => { const s = document.getElementById('space');
		return s.dataset.phase === 'playing' && s.dataset.edge === '`+edge+`' && (`+cond+`); })()`, limit)
	return time.Since(start)
}

// TestNginxPassesMultivariant: behind the documented nginx, a crowd asking
// for its multivariant playlists at once each gets its own (its ticket in
// every variant), none from the cache, without waiting in line.
func TestNginxPassesMultivariant(t *testing.T) {
	if _, err := exec.LookPath(nginxBin); err != nil {
		t.Skipf("%s not installed (scripts/deps.sh test installs nginx-light)", nginxBin)
	}
	p := startEdgePair(t)
	id := p.liveSpace(t)
	cdn := startNginx(t, p.aURL)
	c := &http.Client{Timeout: 10 * time.Second}
	const players = 20
	tickets := make([]string, players)
	for i := range tickets {
		tickets[i] = joinVia(t, c, cdn, id)
	}
	start := time.Now()
	errs := make(chan error, players)
	for _, tk := range tickets {
		go func() {
			resp, err := c.Get(cdn + "/hls/" + id + "/main.m3u8?t=" + tk)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			switch {
			case resp.StatusCode != 200:
				err = fmt.Errorf("%d %s", resp.StatusCode, body)
			case strings.Count(string(body), "?t="+tk) != 2:
				err = fmt.Errorf("another listener's playlist (X-Cache-Status %s):\n%s", resp.Header.Get("X-Cache-Status"), body)
			}
			errs <- err
		}()
	}
	for range players {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// nginx's cache lock would hand them out 500 ms apart.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d multivariant playlists through nginx took %v", players, d)
	}
}

// TestClusterJoinOffersEveryEdge: on a real cluster (origin, two edges,
// NATS, the control plane), the join's HLS is the multivariant playlist of
// the edge chosen for its headroom, listing the other edge next; the one
// ticket opens both, and the other edge lets the chosen one's page renew.
func TestClusterJoinOffersEveryEdge(t *testing.T) {
	c := startCluster(t, 2)
	o, e1 := c.origin, c.edges[0]
	id, tok := o.space("cluster redundancy")
	synthSpeaker(t, o, id)
	o.transition(id, tok, "start")
	var j map[string]any
	waitFor(t, 5*time.Second, "a join listing the other edge", func() bool {
		code, body := e1.call("POST", e1.pub+"/api/v1/spaces/"+id+"/join", "", nil)
		alts, _ := body["alternates"].([]any)
		j = body
		return code == http.StatusOK && len(alts) == 1
	})
	chosen := strings.SplitN(j["hls"].(string), "/hls/", 2)[0]
	other := j["alternates"].([]any)[0].(string)
	if chosen == other || !strings.HasSuffix(strings.SplitN(j["hls"].(string), "?", 2)[0], "/main.m3u8") {
		t.Fatalf("join: hls %v, alternates %v", j["hls"], j["alternates"])
	}
	_, body := getResp(t, j["hls"].(string))
	q := "/hls/" + id + "/index.m3u8?t=" + j["ticket"].(string)
	if !strings.Contains(body, "\n"+chosen+q+"\n") || !strings.HasSuffix(body, "\n"+other+q+"\n") {
		t.Fatalf("multivariant on %s, want it then %s:\n%s", chosen, other, body)
	}
	for _, base := range []string{chosen, other} {
		if code, pl := get(t, base+q); code != 200 || !strings.Contains(pl, "#EXT-X-PART:") {
			t.Fatalf("%s: %d\n%s", base+q, code, pl)
		}
	}
	req, _ := http.NewRequest("OPTIONS", other+"/api/v1/spaces/"+id+"/join", nil)
	req.Header.Set("Origin", chosen)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != chosen {
		t.Fatalf("preflight on the other edge from the chosen one's page: %d %v", resp.StatusCode, resp.Header)
	}
}

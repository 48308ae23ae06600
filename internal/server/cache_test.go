//go:build unix

package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onair-live/onair/internal/hls"
)

const nginxBin = "/usr/sbin/nginx"

// TestNginxCacheCollapsesHLS puts nginx, configured with the snippet of
// docs/nginx.md, in front of onair and has a hundred LL-HLS players follow
// the live edge through it: each gets every part, in order, while onair
// answers about one playlist and one part request per part produced.
func TestNginxCacheCollapsesHLS(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Skipf("%s not installed (scripts/deps.sh test installs nginx-light)", nginxBin)
	}
	needFFmpeg(t)
	const (
		players = 100
		runFor  = 8 * time.Second
	)
	e := startServer(t)
	id, _, stop := liveShow(t, e)
	defer stop()
	cdn := startNginx(t, e.pub)

	tr := &http.Transport{MaxIdleConnsPerHost: 2 * players, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// Every player joins through nginx (the pass-through) for its own ticket.
	tickets := make([]string, players)
	for i := range tickets {
		tickets[i] = joinVia(t, client, cdn, id)
	}

	// The origin's live edge before and after (straight to onair, outside the
	// counted window): how many parts were produced while the players ran.
	// The first call also waits for the first whole segment.
	originPL := e.pub + "/hls/" + id + "/index.m3u8?t=" + tickets[0]
	edge0 := originEdge(t, originPL)
	before := hlsCounts(t)
	start := time.Now()
	results := make([]playerResult, players)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runPlayer(client, cdn+"/hls/"+id, tickets[i], start.Add(runFor))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := hlsCounts(t)
	edge1 := originEdge(t, originPL)
	produced := int(edge1 - edge0)

	// Every player got every part from where it started, in order, all 200.
	var clientReq, clientParts, hits, misses int
	first := map[uint64]time.Time{} // earliest arrival of each part at any player
	minParts := -1
	for i, r := range results {
		if r.err != nil {
			t.Errorf("player %d, after %d parts: %v", i, r.parts, r.err)
		}
		clientReq += r.playlists + r.parts
		clientParts += r.parts
		hits, misses = hits+r.hits, misses+r.misses
		if minParts < 0 || r.parts < minParts {
			minParts = r.parts
		}
		for idx, at := range r.got {
			if f, ok := first[idx]; !ok || at.Before(f) {
				first[idx] = at
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// How much later than the first player each player had a part: the cost
	// of waiting on nginx's cache lock, which waiters poll every 500 ms.
	var behind []time.Duration
	for _, r := range results {
		for idx, at := range r.got {
			behind = append(behind, at.Sub(first[idx]))
		}
	}
	slices.Sort(behind)
	pct := func(p float64) time.Duration { return behind[int(p*float64(len(behind)-1))].Round(time.Millisecond) }

	d := func(kind string) int { return int(after[kind] - before[kind]) }
	originPart, originBlocking, originPlain := d("part"), d("blocking_playlist"), d("playlist")
	originReq := originPart + originBlocking + originPlain + d("segment") + d("init")
	t.Logf("%d players for %v through nginx; %d parts produced (200 ms each)", players, elapsed.Round(time.Millisecond), produced)
	t.Logf("clients: %d requests (%d parts, %d playlists), X-Cache-Status HIT %d, MISS %d; fewest parts for one player: %d",
		clientReq, clientParts, clientReq-clientParts, hits, misses, minParts)
	t.Logf("origin:  %d requests (part %d, blocking_playlist %d, playlist %d, non-200 %d)",
		originReq, originPart, originBlocking, originPlain, int(after["non-200"]-before["non-200"]))
	t.Logf("ratio client/origin requests: %.1f (parts %.1f, playlists %.1f)", float64(clientReq)/float64(max(originReq, 1)),
		float64(clientParts)/float64(max(originPart, 1)), float64(clientReq-clientParts)/float64(max(originBlocking+originPlain, 1)))
	t.Logf("part arrival behind the first player: p50 %v, p90 %v, p99 %v, max %v", pct(0.5), pct(0.9), pct(0.99), pct(1))

	if produced < int(runFor/(400*time.Millisecond)) {
		t.Fatalf("only %d parts produced in %v", produced, elapsed)
	}
	if minParts < produced/2 {
		t.Errorf("a player got only %d of the %d parts produced", minParts, produced)
	}
	if n := after["non-200"] - before["non-200"]; n != 0 {
		t.Errorf("origin answered %v HLS requests with an error status", n)
	}
	if lim := produced*3/2 + 5; originPart > lim {
		t.Errorf("origin answered %d part requests for %d parts (limit %d): the cache does not collapse them", originPart, produced, lim)
	}
	if lim := 2*produced + 5; originBlocking > lim {
		t.Errorf("origin answered %d blocking playlist requests for %d parts (limit %d)", originBlocking, produced, lim)
	}
	if originPlain > 5 {
		t.Errorf("origin answered %d first-load playlist requests for %d players", originPlain, players)
	}
	if clientParts < players*produced/2 {
		t.Errorf("clients fetched %d parts, want about %d × %d", clientParts, players, produced)
	}

	// The progressive Ogg stream is not buffered by nginx: bytes flow at once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", cdn+"/live/"+id+".opus?t="+tickets[1], nil)
	t0 := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("live stream through nginx: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/ogg" {
		t.Fatalf("live stream through nginx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	buf := make([]byte, 4096)
	n, err := resp.Body.Read(buf)
	firstByte := time.Since(t0)
	if n == 0 {
		t.Fatalf("live stream through nginx: no bytes: %v", err)
	}
	if firstByte > 2*time.Second {
		t.Fatalf("live stream through nginx: first bytes after %v: buffered", firstByte)
	}
	if !bytes.HasPrefix(buf[:n], []byte("OggS")) {
		t.Fatalf("live stream through nginx does not start with an Ogg page: %q", buf[:min(n, 16)])
	}
	// And keep flowing, page by page (onair writes one every 100 ms).
	last, total, maxGap := time.Now(), n, time.Duration(0)
	for time.Since(t0) < 2*time.Second {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("live stream through nginx after %d bytes: %v", total, err)
		}
		now := time.Now()
		maxGap, last, total = max(maxGap, now.Sub(last)), now, total+n
	}
	t.Logf("live Ogg through nginx: first %d bytes after %v, %d bytes in 2 s, longest gap %v",
		n, firstByte.Round(time.Millisecond), total, maxGap.Round(time.Millisecond))
	if maxGap > time.Second {
		t.Fatalf("live stream through nginx stalled for %v", maxGap)
	}
}

// playerResult is what one simulated player saw.
type playerResult struct {
	playlists, parts int
	hits, misses     int                  // X-Cache-Status of its answers
	got              map[uint64]time.Time // global part index → when it had the part
	err              error
}

type partRef struct {
	msn uint64
	k   int
}

// runPlayer behaves as an LL-HLS player at the live edge: load the playlist,
// then repeatedly ask for the playlist holding the next part (blocking
// reload) and fetch that part, until the deadline.
func runPlayer(c *http.Client, base, ticket string, until time.Time) (r playerResult) {
	r.got = map[uint64]time.Time{}
	parts := hls.Config{}.WithDefaults().SegmentParts
	pl := base + "/index.m3u8?t=" + ticket
	body, err := r.fetch(c, pl, &r.playlists)
	if err != nil {
		r.err = err
		return r
	}
	_, next, err := llParts(body)
	if err != nil {
		r.err = err
		return r
	}
	var prev uint32
	for time.Now().Before(until) {
		body, err := r.fetch(c, fmt.Sprintf("%s&_HLS_msn=%d&_HLS_part=%d", pl, next.msn, next.k), &r.playlists)
		if err != nil {
			r.err = err
			return r
		}
		list, hint, err := llParts(body)
		if err != nil {
			r.err = err
			return r
		}
		i := slices.Index(list, next)
		if i < 0 {
			r.err = fmt.Errorf("blocking reload for part %d.%d: the playlist does not list it:\n%s", next.msn, next.k, body)
			return r
		}
		data, err := r.fetch(c, base+"/"+hls.PartName(next.msn, next.k), &r.parts)
		if err != nil {
			r.err = err
			return r
		}
		// The mfhd sequence number is the global part index + 1: the cache
		// served this part's bytes, and no part was skipped.
		if len(data) < 24 || string(data[4:8]) != "moof" || string(data[12:16]) != "mfhd" {
			r.err = fmt.Errorf("part %d.%d is not a CMAF fragment (%d bytes)", next.msn, next.k, len(data))
			return r
		}
		seq := binary.BigEndian.Uint32(data[20:24])
		if want := next.msn*uint64(parts) + uint64(next.k) + 1; uint64(seq) != want {
			r.err = fmt.Errorf("part %d.%d carries sequence %d, want %d", next.msn, next.k, seq, want)
			return r
		}
		if prev != 0 && seq != prev+1 {
			r.err = fmt.Errorf("part sequence %d after %d: a part was skipped", seq, prev)
			return r
		}
		prev = seq
		r.got[uint64(seq-1)] = time.Now()
		if i+1 < len(list) {
			next = list[i+1]
		} else {
			next = hint
		}
	}
	return r
}

// fetch GETs url and wants a 200; it counts the request and its cache status.
func (r *playerResult) fetch(c *http.Client, url string, count *int) ([]byte, error) {
	*count++
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch resp.Header.Get("X-Cache-Status") {
	case "HIT":
		r.hits++
	case "MISS":
		r.misses++
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d (X-Cache-Status %s) %s", url, resp.StatusCode, resp.Header.Get("X-Cache-Status"), body)
	}
	return body, nil
}

// llParts returns the parts a live playlist lists, in order, and its preload
// hint: the next part.
func llParts(body []byte) (parts []partRef, hint partRef, err error) {
	var sawHint bool
	for _, line := range strings.Split(string(body), "\n") {
		var tag string
		switch {
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			tag = "part"
		case strings.HasPrefix(line, "#EXT-X-PRELOAD-HINT:"):
			tag = "hint"
		default:
			continue
		}
		_, uri, _ := strings.Cut(line, `URI="`)
		uri, _, _ = strings.Cut(uri, `"`)
		var p partRef
		if _, err := fmt.Sscanf(uri, "p%d.%d.m4s", &p.msn, &p.k); err != nil {
			return nil, hint, fmt.Errorf("part URI in %q: %v", line, err)
		}
		if tag == "hint" {
			hint, sawHint = p, true
		} else {
			parts = append(parts, p)
		}
	}
	if !sawHint || len(parts) == 0 {
		return nil, hint, fmt.Errorf("not a live LL-HLS playlist:\n%s", body)
	}
	return parts, hint, nil
}

// originEdge returns the global index of the next part at the origin.
func originEdge(t *testing.T, url string) uint64 {
	t.Helper()
	code, body := get(t, url)
	if code != 200 {
		t.Fatalf("origin playlist: %d %s", code, body)
	}
	_, hint, err := llParts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return hint.msn*uint64(hls.Config{}.WithDefaults().SegmentParts) + uint64(hint.k)
}

// hlsCounts reads onair_hls_requests_total from the in-process registry,
// summed over codes by kind, plus "non-200" over all kinds. The counter is
// global to the test binary: callers take differences.
func hlsCounts(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "onair_hls_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var kind, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "kind":
					kind = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			out[kind] += m.GetCounter().GetValue()
			if code != "200" {
				out["non-200"] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// joinVia joins space id through base and returns the ticket.
func joinVia(t *testing.T, c *http.Client, base, id string) string {
	t.Helper()
	resp, err := c.Post(base+"/api/v1/spaces/"+id+"/join", "application/json", nil)
	if err != nil {
		t.Fatalf("join through nginx: %v", err)
	}
	defer resp.Body.Close()
	var j struct{ Ticket string }
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 || j.Ticket == "" {
		t.Fatalf("join through nginx: %d %v", resp.StatusCode, err)
	}
	if len(resp.Cookies()) == 0 {
		t.Fatalf("join through nginx lost the ticket cookie")
	}
	return j.Ticket
}

// startNginx runs nginx in the foreground with docs/nginx-onair.conf (the
// snippet docs/nginx.md shows) pointed at origin, on a free loopback port,
// and returns its base URL. nginx is stopped when the test ends.
func startNginx(t *testing.T, origin string) string {
	t.Helper()
	snippet, err := os.ReadFile("../../docs/nginx-onair.conf")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/nginx.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, snippet) {
		t.Fatal("docs/nginx.md does not show docs/nginx-onair.conf verbatim")
	}
	originAddr := strings.TrimPrefix(origin, "http://")
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		port := nginxFreePort(t)
		conf := string(snippet)
		for _, r := range [][2]string{
			{"server 127.0.0.1:8080;", "server " + originAddr + ";"},
			{"/var/cache/nginx/onair", filepath.Join(dir, "cache")},
			{"listen 80;", "listen 127.0.0.1:" + port + ";"},
		} {
			if strings.Count(conf, r[0]) != 1 {
				t.Fatalf("docs/nginx-onair.conf: want %q once", r[0])
			}
			conf = strings.Replace(conf, r[0], r[1], 1)
		}
		user := ""
		if os.Geteuid() == 0 { // workers would run as nobody and not reach the test's 0700 directories
			user = "user root;\n"
		}
		main := user + "worker_processes 2;\nevents { worker_connections 4096; }\nhttp {\n" +
			"    log_format cache '$status $upstream_cache_status $request_time \"$request\"';\n" +
			"    access_log " + filepath.Join(dir, "access.log") + " cache;\n"
		for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			main += "    " + tmp + "_temp_path " + filepath.Join(dir, tmp) + ";\n"
		}
		main += conf + "}\n"
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nginxBin, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"),
			"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr info;")
		logs := &nginxLog{}
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the master and its workers, to stop together
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		base := "http://127.0.0.1:" + port
		err := waitNginxHealthy(base, exited)
		if err == nil {
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
				if n := strings.Count(logs.String(), "cache lock timeout"); n > 0 {
					t.Errorf("nginx logged %d cache lock timeouts", n)
				}
				if t.Failed() {
					t.Logf("nginx log:\n%s", nginxTail(logs.String(), 40))
					if b, err := os.ReadFile(filepath.Join(dir, "access.log")); err == nil {
						t.Logf("nginx access log (last lines):\n%s", nginxTail(string(b), 40))
					}
				}
			})
			return base
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if attempt == 3 { // another process may have taken the port: try another
			t.Fatalf("nginx did not start: %v\n%s", err, logs.String())
		}
	}
}

// waitNginxHealthy waits until onair's /healthz answers through nginx.
func waitNginxHealthy(base string, exited <-chan struct{}) error {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("healthz through nginx: %d", resp.StatusCode)
		}
		select {
		case <-exited:
			return errors.New("nginx exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

func nginxFreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func nginxTail(s string, lines int) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
		if len(out) > lines {
			out = out[1:]
		}
	}
	return strings.Join(out, "\n")
}

// nginxLog is a bytes.Buffer safe for a process's output and a reader.
type nginxLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *nginxLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *nginxLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

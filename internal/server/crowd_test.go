package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/server"
)

// crowdNet is the one /24 the crowd and the attackers share.
const crowdNet = "127.77.1."

// TestCrowdBehindOneNetworkGetsIn: 2,000 listeners from 200 addresses of one
// /24 (a carrier NAT, a campus) all get in through the waiting room and
// stay in, four times the per-/24 connection cap, because a connection with
// an admitted listener's ticket is bounded by admission, not by its source.
// The caps still hold for what shows no ticket: a slowloris from the same
// /24 gets no more than its 512 sockets, and one ticket cannot be made into
// a connection flood. (The caps are the defaults; the per-/24 join budget is
// raised only so the crowd's joins take seconds, not the 40 s that 50/s
// would pace them to.)
func TestCrowdBehindOneNetworkGetsIn(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = gate.Config{JoinRate: 100, JoinPrefixRate: 1e4, Mode: gate.Normal,
			Admit: gate.AdmitConfig{StartRate: 150, MinRate: 150, MaxRate: 150, Burst: 20}}
	})
	id := liveSpace(t, e, "campus")
	const n = 2000
	crowd := make([]*crowdListener, n)
	var wg sync.WaitGroup
	work := make(chan int)
	queued := atomic.Int64{}
	for range 300 { // three hundred people pressing play at any moment
		wg.Go(func() {
			for i := range work {
				crowd[i] = joinAndListen(t, e, id, crowdNet+strconv.Itoa(1+i%200), &queued)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// How many wait depends on how fast this machine makes the joins; some must.
	if q := queued.Load(); q < 50 {
		t.Fatalf("only %d of %d joins waited: the waiting room was not exercised", q, n)
	}
	t.Logf("%d listeners from one /24 in, %d of them through the waiting room", n, queued.Load())
	allFlowing(t, crowd, "after the crowd got in")

	// A slowloris from the same /24: 1,000 sockets that never finish their
	// headers. The per-/24 cap keeps 512 of them; the rest are closed at accept.
	start := time.Now()
	lorises := slowloris(e.pub, id, 1000)
	took := time.Since(start)
	defer func() {
		for _, c := range lorises {
			c.Close()
		}
	}()
	open, refused := stillOpen(lorises), decisions(t, e, `reason="conns_per_prefix"`)
	t.Logf("slowloris: %d sockets dialed in %v, %d held, %v refused for the /24's cap", len(lorises), took, open, refused)
	if open > 512 || refused == 0 {
		t.Fatalf("%d slowloris sockets from one /24 held, %v refused: want the cap of 512 to hold", open, refused)
	}
	// Unless dialing took so long that the 5 s header timeout closed some,
	// the cap is full: the crowd's connections do not count against it.
	if took < 3*time.Second && open < 480 {
		t.Fatalf("only %d slowloris sockets held: the /24's slots are taken by something else", open)
	}
	allFlowing(t, crowd, "under the slowloris")
	for _, c := range lorises {
		c.Close()
	}
	lorises = nil

	// One ticket, 200 media connections from one address: two leave the
	// caps as the listener's, the rest count against the address's 64.
	ogg := joinFrom(t, e, id, crowdNet+"251", nil)
	var held atomic.Int64
	var fw sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 200 {
		fw.Go(func() {
			body, err := streamFrom(ctx, crowdNet+"251", ogg)
			if err != nil {
				return
			}
			held.Add(1)
			<-ctx.Done()
			body.Close()
		})
	}
	time.Sleep(2 * time.Second)
	if h := held.Load(); h > 64+2 || h < 2 {
		t.Fatalf("one ticket from one address held %d streams, want at most 64 + 2", h)
	}
	t.Logf("one ticket, 200 connections: %d streams held", held.Load())
	cancel()
	fw.Wait()
	allFlowing(t, crowd, "after the flood")
}

// crowdListener is one listener of the crowd, counting the bytes it gets.
type crowdListener struct{ bytes atomic.Int64 }

// joinAndListen joins from ip (waiting in line as told) and plays the live
// Ogg stream until the test ends.
func joinAndListen(t *testing.T, e *env, id, ip string, queued *atomic.Int64) *crowdListener {
	return playFrom(t, ip, joinFrom(t, e, id, ip, queued))
}

// playFrom plays the live Ogg stream at ogg (a join's answer, "" for a
// join that failed) from ip until the test ends.
func playFrom(t *testing.T, ip, ogg string) *crowdListener {
	if ogg == "" {
		return &crowdListener{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	body, err := streamFrom(ctx, ip, ogg)
	if err != nil {
		cancel()
		t.Errorf("listener at %s: %v", ip, err)
		return &crowdListener{}
	}
	l := &crowdListener{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, err := body.Read(buf)
			l.bytes.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); body.Close(); <-done })
	return l
}

// joinFrom joins from ip, keeping its place in the waiting room with the
// queue token, and returns the live Ogg URL.
func joinFrom(t *testing.T, e *env, id, ip string, queued *atomic.Int64) string {
	c := clientFrom(ip)
	hdr := map[string]string{}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		code, body, h, err := tryPost(c, e.pub+"/api/v1/spaces/"+id+"/join", hdr)
		if err != nil { // refused at accept: the test's point is that it is not
			t.Errorf("join from %s: %v", ip, err)
			return ""
		}
		switch code {
		case http.StatusOK:
			return body["ogg"].(string)
		case http.StatusAccepted:
			if queued != nil && hdr["Onair-Queue"] == "" {
				queued.Add(1)
			}
			hdr["Onair-Queue"] = body["queue_token"].(string)
			wait, _ := strconv.Atoi(h.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
		default:
			t.Errorf("join from %s: %d %v", ip, code, body)
			return ""
		}
	}
	t.Errorf("join from %s: still waiting after 60 s", ip)
	return ""
}

// tryPost is post for the crowd's goroutines: an error is returned, not fatal.
func tryPost(c *http.Client, url string, hdr map[string]string) (int, map[string]any, http.Header, error) {
	req, _ := http.NewRequest("POST", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header, nil
}

// streamFrom opens url from ip and returns the body of a 200 answer.
func streamFrom(ctx context.Context, ip, url string) (io.ReadCloser, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

// slowloris opens n sockets from 50 addresses of crowdNet, all at once, each
// sending half a request header and then nothing; it returns those the
// server accepted (or has not yet refused).
func slowloris(base, id string, n int) []net.Conn {
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	for a := range 50 {
		wg.Go(func() {
			for range n / 50 {
				c, err := dialFrom(crowdNet+strconv.Itoa(201+a), base)
				if err != nil {
					continue // refused: fine
				}
				io.WriteString(c, "GET /live/"+id+".opus HTTP/1.1\r\nHost: x\r\n")
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // the refusals are in; the 5 s header timeout is not
	return conns
}

func dialFrom(ip, base string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	return d.Dial("tcp", base[len("http://"):])
}

// stillOpen counts the connections the server has not closed, all at once:
// checked one after another, the last would be looked at seconds later,
// past the header timeout.
func stillOpen(conns []net.Conn) int {
	var open atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err := c.Read(make([]byte, 1))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				open.Add(1)
			}
		})
	}
	wg.Wait()
	return int(open.Load())
}

// allFlowing checks every listener of the crowd gets audio over 2 s.
func allFlowing(t *testing.T, crowd []*crowdListener, when string) {
	t.Helper()
	before := make([]int64, len(crowd))
	for i, l := range crowd {
		before[i] = l.bytes.Load()
	}
	time.Sleep(2 * time.Second)
	stuck := 0
	for i, l := range crowd {
		if l.bytes.Load() <= before[i] {
			stuck++
		}
	}
	if stuck > 0 {
		t.Fatalf("%s: %d of %d listeners got nothing in 2 s", when, stuck, len(crowd))
	}
}

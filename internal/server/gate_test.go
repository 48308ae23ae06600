package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/server"
)

// clientFrom is an HTTP client whose connections come from source ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func post(t *testing.T, c *http.Client, url string, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header
}

func TestGateRateLimitsJoinsPerSource(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.JoinRate = 1 // bursts of 10
	})
	id, _ := e.space("limits")
	a, b := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	codes := map[int]int{}
	var retry string
	for range 15 {
		code, _, h := post(t, a, e.pub+"/api/v1/spaces/"+id+"/join", nil)
		codes[code]++
		if code == 429 {
			retry = h.Get("Retry-After")
		}
	}
	if codes[200] != 10 || codes[429] != 5 || retry == "" {
		t.Fatalf("15 quick joins from one address: %v (Retry-After %q)", codes, retry)
	}
	if code, _, _ := post(t, b, e.pub+"/api/v1/spaces/"+id+"/join", nil); code != 200 {
		t.Fatalf("another address was refused: %d", code)
	}
}

// TestGateWaitingRoomIsFIFO: 30 listeners arrive at once at a node that
// admits 5 a second; those who wait get a position and get in, in order.
func TestGateWaitingRoomIsFIFO(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.Admit = gate.AdmitConfig{StartRate: 5, MinRate: 5, MaxRate: 5, Burst: 1}
	})
	id, tok := e.space("crowd")
	e.transition(id, tok, "start")
	type waiter struct {
		pos   float64
		token string
		in    time.Time
	}
	var ws []*waiter
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 30 { // they all arrive at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200))
			code, body, h := post(t, c, e.pub+"/api/v1/spaces/"+id+"/join", nil)
			mu.Lock()
			defer mu.Unlock()
			switch code {
			case 200:
			case 202:
				if h.Get("Retry-After") == "" || body["eta_s"] == nil {
					t.Errorf("202 without Retry-After or ETA: %v", body)
					return
				}
				ws = append(ws, &waiter{pos: body["position"].(float64), token: body["queue_token"].(string)})
			default:
				t.Errorf("join %d: %d %v", i, code, body)
			}
		}()
	}
	wg.Wait()
	if len(ws) < 25 {
		t.Fatalf("%d of 30 waited; at 5/s most must", len(ws))
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].pos < ws[j].pos })
	for i := 1; i < len(ws); i++ {
		if ws[i].pos <= ws[i-1].pos {
			t.Fatalf("two waiters share position %v", ws[i].pos)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for left := len(ws); left > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d still waiting after 20 s at 5/s", left)
		}
		for _, w := range ws {
			if !w.in.IsZero() {
				continue
			}
			code, body, _ := post(t, http.DefaultClient, e.pub+"/api/v1/spaces/"+id+"/join", map[string]string{"Onair-Queue": w.token})
			if code == 200 {
				if body["ticket"] == nil {
					t.Fatal("admitted without a ticket")
				}
				w.in = time.Now()
				left--
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	sorted := sort.SliceIsSorted(ws, func(i, j int) bool { return ws[i].in.Before(ws[j].in) })
	if !sorted {
		t.Fatal("waiters were not admitted in arrival order")
	}
}

func TestGateProofOfWorkUnderAttack(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.PoWBase = 12
	})
	id, _ := e.space("attack")
	if code, _ := e.call("POST", e.host+"/api/v1/gate/mode", e.admin, map[string]any{"mode": "panic"}); code != 400 {
		t.Fatalf("bad mode: %d", code)
	}
	if code, _ := e.call("POST", e.pub+"/api/v1/gate/mode", e.admin, map[string]any{"mode": "normal"}); code != 404 {
		t.Fatalf("gate mode on the public port: %d", code)
	}
	if code, st := e.call("POST", e.host+"/api/v1/gate/mode", e.admin, map[string]any{"mode": "under_attack"}); code != 200 || st["under_attack"] != true {
		t.Fatalf("under_attack: %d %v", code, st)
	}
	code, body, _ := post(t, http.DefaultClient, e.pub+"/api/v1/spaces/"+id+"/join", nil)
	if code != 401 || body["challenge"] == nil {
		t.Fatalf("join under attack without proof: %d %v", code, body)
	}
	ch, diff := body["challenge"].(string), int(body["difficulty"].(float64))
	proof := ch + ":" + gate.Solve(ch, diff)
	if code, body, _ := post(t, http.DefaultClient, e.pub+"/api/v1/spaces/"+id+"/join", map[string]string{"Onair-PoW": proof}); code != 200 || body["ticket"] == nil {
		t.Fatalf("join with a solved challenge: %d %v", code, body)
	}
	if code, _, _ := post(t, http.DefaultClient, e.pub+"/api/v1/spaces/"+id+"/join", map[string]string{"Onair-PoW": proof}); code != 401 {
		t.Fatalf("a spent solution joined again: %d", code)
	}
	if code, st := e.call("GET", e.host+"/gate", "", nil); code != 200 || st["mode"] != "under_attack" {
		t.Fatalf("/gate: %d %v", code, st)
	}
}

// TestShowStartsOnTimeUnderFlood measures host start → first program page
// on disk, alone and while the public port takes a slowloris of 2,000
// sockets and a flood of forged-ticket media requests from many sources:
// the host port shares nothing with them, so the figure must not move.
func TestShowStartsOnTimeUnderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the public port")
	}
	e := startServerWith(t, func(c *server.Config) { c.Gate = gate.Config{Mode: gate.Auto} })
	startToDisk := func() time.Duration {
		id, tok := e.space("on time")
		start := time.Now()
		e.transition(id, tok, "start")
		path := e.data + "/recordings/" + id + ".opus"
		for {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 200 {
				return time.Since(start)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("no program on disk 10 s after start")
			}
			time.Sleep(time.Millisecond)
		}
	}
	base := startToDisk()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var socks []net.Conn
	addr := e.pub[len("http://"):]
	for i := range 2000 { // slowloris: half a request line each, from 2,000 addresses
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 10, byte(i/250), byte(1+i%250))}}
		if c, err := d.Dial("tcp", addr); err == nil {
			io.WriteString(c, "GET /live/x.opus HTTP/1.1\r\nHost: ")
			socks = append(socks, c)
		}
	}
	for g := range 8 { // forged tickets, as fast as they go
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(fmt.Sprintf("127.20.0.%d", g+1))
			for ctx.Err() == nil {
				if resp, err := c.Get(e.pub + "/live/nosuch.opus?t=AAAAforged"); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	time.Sleep(time.Second)
	flooded := startToDisk()
	cancel()
	wg.Wait()
	for _, c := range socks {
		c.Close()
	}
	t.Logf("host start to first program page on disk: %v alone, %v under flood (%d slowloris sockets)", base, flooded, len(socks))
	if flooded > base+100*time.Millisecond {
		t.Fatalf("the start took %v under flood, %v without: over 100 ms later", flooded, base)
	}
}

// TestGateRenewalSkipsTheLine: a listener renewing its ticket (the page
// does a minute before expiry) is already in, so it does not queue behind
// newcomers; a join with a forged ticket is a newcomer.
func TestGateRenewalSkipsTheLine(t *testing.T) {
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.Admit = gate.AdmitConfig{StartRate: 0.2, MinRate: 0.2, MaxRate: 0.2, Burst: 1}
	})
	id, tok := e.space("renewals")
	e.transition(id, tok, "start")
	url := e.pub + "/api/v1/spaces/" + id + "/join"
	code, first, _ := post(t, clientFrom("127.0.3.1"), url, nil)
	if code != 200 {
		t.Fatalf("first join: %d %v", code, first)
	}
	for i := range 3 { // newcomers queue: one admission every 5 s
		if code, body, _ := post(t, clientFrom(fmt.Sprintf("127.0.3.%d", 2+i)), url, nil); code != 202 {
			t.Fatalf("newcomer %d: %d %v, want 202", i, code, body)
		}
	}
	held := first["ticket"].(string)
	code, renewed, _ := post(t, clientFrom("127.0.3.1"), url, map[string]string{"Cookie": "onair_ticket_" + id + "=" + held})
	if code != 200 || renewed["ticket"] == nil {
		t.Fatalf("renewal with the ticket cookie: %d %v, want 200 at once", code, renewed)
	}
	code, again, _ := post(t, clientFrom("127.0.3.1"), url, map[string]string{"Onair-Ticket": renewed["ticket"].(string)})
	if code != 200 {
		t.Fatalf("renewal with the Onair-Ticket header: %d %v", code, again)
	}
	if listenerOf(t, again["ticket"].(string)) != listenerOf(t, held) {
		t.Fatal("a renewed ticket names another listener")
	}
	if code, body, _ := post(t, clientFrom("127.0.3.9"), url, map[string]string{"Onair-Ticket": held[:len(held)-4] + "AAAA"}); code != 202 {
		t.Fatalf("a join with a forged ticket: %d %v, want 202 (a newcomer)", code, body)
	}
}

// listenerOf reads the listener id of a ticket (version, key id, expiry,
// then the listener: see internal/ticket).
func listenerOf(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 21 {
		t.Fatalf("ticket %q: %v", tok, err)
	}
	return fmt.Sprintf("%x", b[13:21])
}

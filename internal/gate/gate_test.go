package gate

import (
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrX = netip.MustParseAddr("192.0.2.99")
)

func TestLimiterBurstThenRate(t *testing.T) {
	l := NewLimiter(10, 5, 1000) // 10/s, bursts of 5
	for i := range 5 {
		if ok, _ := l.Allow(addrA, t0); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow(addrA, t0)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("6th request: %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow(addrB, t0); !ok {
		t.Fatal("another key shares a's budget")
	}
	if ok, _ := l.Allow(addrA, t0.Add(100*time.Millisecond)); !ok {
		t.Fatal("refused after the interval")
	}
}

// TestLimiterMemoryIsBounded: a million distinct sources never grow the
// table past its bound, and the limiter keeps working.
func TestLimiterMemoryIsBounded(t *testing.T) {
	l := NewLimiter(1, 1, 64*1000)
	for i := range 1_000_000 {
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), t0)
	}
	if n := l.Len(); n > 64*1000 {
		t.Fatalf("%d keys tracked, bound 64000", n)
	}
	l.Allow(addrX, t0)
	if ok, _ := l.Allow(addrX, t0); ok {
		t.Fatal("limit not enforced after evictions")
	}
}

func TestAdmissionIsFIFOAtTheRate(t *testing.T) {
	a := NewAdmission(AdmitConfig{StartRate: 10, MinRate: 10, MaxRate: 10, Burst: 1}, t0)
	var tickets []Ticket
	for range 50 { // a crowd of 50 arrives at once
		tickets = append(tickets, a.Join(t0))
	}
	in := 0
	for i, tk := range tickets {
		if tk.Position == 0 {
			in++
			continue
		}
		if tk.Position != uint64(i-in+1) || tk.ETA <= 0 {
			t.Fatalf("ticket %d: position %d ETA %.1f", i, tk.Position, tk.ETA)
		}
	}
	if in > 2 {
		t.Fatalf("%d admitted at once with a burst of 1", in)
	}
	// Two seconds later, about 20 more are in, in arrival order.
	now := t0.Add(2 * time.Second)
	admitted := 0
	for i, tk := range tickets {
		if a.Check(tk.Number, now).Position == 0 {
			admitted++
			if admitted != i+1 {
				t.Fatalf("number %d admitted out of order", i)
			}
		}
	}
	if admitted < 20 || admitted > 22 {
		t.Fatalf("%d admitted after 2 s at 10/s", admitted)
	}
	a.Pause(true)
	if a.Check(tickets[30].Number, now.Add(time.Minute)).Position == 0 {
		t.Fatal("admitted while the node is full")
	}
}

func TestAdmissionAIMD(t *testing.T) {
	a := NewAdmission(AdmitConfig{StartRate: 100, Increase: 10, Decrease: 0.5, MinRate: 20, MaxRate: 200}, t0)
	a.Feedback(true)
	if r := a.Rate(); r != 110 {
		t.Fatalf("after a healthy second: %v", r)
	}
	a.Feedback(false)
	a.Feedback(false)
	a.Feedback(false)
	if r := a.Rate(); r != 20 {
		t.Fatalf("after overload: %v, want the floor", r)
	}
}

func TestTokens(t *testing.T) {
	s, other := newSigner(), newSigner()
	tok := s.seal(kindQueue, "space1", 42)
	if f, err := s.open(tok, kindQueue, "space1", 1); err != nil || f[0] != 42 {
		t.Fatalf("open: %v %v", f, err)
	}
	bad := map[string]string{
		"other space": tok,
		"forged":      other.seal(kindQueue, "space1", 42),
		"other kind":  s.seal(kindChallenge, "space1", 42),
		"garbage":     "!!!",
		"truncated":   tok[:len(tok)-3],
		"oversized":   strings.Repeat("A", 1000),
		"bit flipped": tok[:5] + string(tok[5]^1) + tok[6:],
	}
	for name, b := range bad {
		space := "space1"
		if name == "other space" {
			space = "space2"
		}
		if _, err := s.open(b, kindQueue, space, 1); err == nil {
			t.Errorf("%s token accepted", name)
		}
	}
}

func FuzzTokenOpen(f *testing.F) {
	s := newSigner()
	f.Add(s.seal(kindQueue, "sp", 1))
	f.Add(s.seal(kindChallenge, "sp", 1, 2, 3))
	f.Fuzz(func(t *testing.T, tok string) {
		if f, err := s.open(tok, kindQueue, "sp", 1); err == nil && len(f) != 1 {
			t.Fatal("wrong field count")
		}
		_, _ = s.open(tok, kindChallenge, "sp", 3)
	})
}

func TestProofOfWorkSingleUse(t *testing.T) {
	g := New(Config{PoWBase: 8}, nil)
	ch := g.newChallenge("sp", 8, time.Now())
	nonce := Solve(ch.Token, ch.Difficulty)
	if g.checkSolution("sp", ch.Token, nonce, time.Now()) != true {
		t.Fatal("valid solution refused")
	}
	if g.checkSolution("sp", ch.Token, nonce, time.Now()) {
		t.Fatal("a solution was accepted twice")
	}
	ch2 := g.newChallenge("sp", 8, time.Now())
	wrong := "x"
	for LeadingZeroBits(ch2.Token, wrong) >= 8 {
		wrong += "x"
	}
	if g.checkSolution("sp", ch2.Token, wrong, time.Now()) {
		t.Fatal("a wrong nonce passed")
	}
	if g.checkSolution("other", ch2.Token, Solve(ch2.Token, 8), time.Now()) {
		t.Fatal("a challenge for another space passed")
	}
	ch3 := g.newChallenge("sp", 8, time.Now())
	if g.checkSolution("sp", ch3.Token, Solve(ch3.Token, 8), time.Now().Add(challengeTTL+time.Second)) {
		t.Fatal("an expired challenge passed")
	}
}

func TestDetectorTurnsOnAndCalmsDown(t *testing.T) {
	var d detector
	now := t0
	networks := 200 // the rejects of a step come from this many /24s
	step := func(rejects, passes int) bool {
		for i := range rejects {
			d.reject(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i % networks >> 8), byte(i % networks), 0}), 24))
		}
		for range passes {
			d.pass()
		}
		now = now.Add(time.Second)
		return d.tick(now)
	}
	// A flash crowd: many requests, few rejections.
	for range 10 {
		if step(50, 5000) {
			t.Fatal("a flash crowd looked like an attack")
		}
	}
	step(500, 400)
	if step(500, 400) {
		t.Fatal("two seconds of a moderate attack: under attack already")
	}
	if !step(500, 400) {
		t.Fatal("three seconds of mostly rejected traffic: not under attack")
	}
	for range 30 {
		if !step(0, 100) {
			t.Fatal("calmed down too soon")
		}
	}
	for range 40 {
		step(0, 100)
	}
	if step(0, 100) {
		t.Fatal("still under attack after a quiet minute")
	}
	// An overwhelming second is not waited out.
	if !step(5000, 100) {
		t.Fatal("one second of 5,000 rejects (98%): not under attack")
	}
	if d.lastSpread < 180 || d.lastSpread > 220 {
		t.Fatalf("rejects from 200 networks counted as from %d", d.lastSpread)
	}
}

// TestJoinQueuesAndChallenges drives Admit over HTTP: a crowd is queued
// with positions, a queue token brings its holder in when its turn comes,
// and under attack a join needs a solved challenge.
func TestJoinQueuesAndChallenges(t *testing.T) {
	g := New(Config{Admit: AdmitConfig{StartRate: 5, MinRate: 5, MaxRate: 5, Burst: 1}, PoWBase: 8, Mode: Normal}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Admit(w, r, "sp") {
			io.WriteString(w, "in")
		}
	}))
	defer srv.Close()
	codes := map[int]int{}
	var lastTok string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 { // a crowd arrives at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srv.URL, "", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 202 {
				if c := resp.Header.Get("Set-Cookie"); c > lastTok {
					lastTok = c
				}
				if resp.Header.Get("Retry-After") == "" {
					t.Error("202 without Retry-After")
				}
			}
		}()
	}
	wg.Wait()
	if codes[202] < 15 || codes[200] < 1 {
		t.Fatalf("codes %v", codes)
	}
	tok := strings.TrimPrefix(strings.Split(lastTok, ";")[0], QueueCookie("sp")+"=")
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("POST", srv.URL, nil)
		req.Header.Set("Onair-Queue", tok)
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the last in line never got in")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The served token is spent: replaying it is a newcomer's join.
	req, _ := http.NewRequest("POST", srv.URL, nil)
	req.Header.Set("Onair-Queue", tok)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("a served queue token admitted twice")
	}
	g.SetMode(UnderAttack)
	resp, _ = http.Post(srv.URL, "", nil)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("under attack without a proof: %d", resp.StatusCode)
	}
}

func TestGuardListenerCapsPerIP(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	g := New(Config{}, nil)
	gl := GuardListener(ln, ConnLimits{PerIP: 3}, g)
	defer gl.Close()
	accepted := acceptAll(gl)
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(accepted); n != 3 {
		t.Fatalf("%d connections accepted from one IP, cap 3", n)
	}
	// A closed slot is free again; another source address has its own.
	(<-accepted).Close()
	if c, err := net.DialTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, ln.Addr().(*net.TCPAddr)); err == nil {
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(accepted); n < 3 {
		t.Fatalf("after a close and a new source: %d waiting accepts", n)
	}
	for _, c := range conns {
		c.Close()
	}
}

// A trusted proxy carries many listeners: its connections are not capped
// per source, and closing them gives back no slot of anyone else's.
func TestGuardListenerLetsTrustedProxyThrough(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	g := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}}, nil)
	gl := GuardListener(ln, ConnLimits{PerIP: 2, PerPrefix: 3}, g)
	defer gl.Close()
	accepted := acceptAll(gl)
	dial := func(ip byte) net.Conn {
		c, err := net.DialTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, ip)}, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	settle := func(want int) []net.Conn {
		t.Helper()
		var got []net.Conn
		deadline := time.After(2 * time.Second)
		for len(got) < want {
			select {
			case c := <-accepted:
				got = append(got, c)
			case <-deadline:
				t.Fatalf("%d connections accepted, want %d", len(got), want)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(accepted); n != 0 {
			t.Fatalf("%d more connections accepted than %d", n, want)
		}
		return got
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 10 { // the proxy: far over both caps
		conns = append(conns, dial(9))
	}
	proxied := settle(10)
	for range 3 { // an ordinary source in the same /24: capped at 2
		conns = append(conns, dial(5))
	}
	settle(2)
	for _, c := range proxied { // the proxy's closes free nothing of 127.0.0.5's
		c.Close()
	}
	conns = append(conns, dial(6)) // 127.0.0.6: the /24 has room for one more
	conns = append(conns, dial(7)) // ... and not two
	settle(1)
}

// Numbers nobody claims (bots that queued and left) pass their admission on
// once their claim window is over, so the listeners behind them are not
// held back by them; when every number is claimed the line moves at the
// rate alone.
func TestAdmissionPassesOnUnclaimedNumbers(t *testing.T) {
	wait := func(claimed bool) time.Duration {
		a := NewAdmission(AdmitConfig{StartRate: 10, MinRate: 10, MaxRate: 10, Burst: 1, ClaimWindow: 2 * time.Second}, t0)
		var bots []Ticket
		for range 100 { // 100 arrive at once and draw numbers: 10 s of line at 10/s
			bots = append(bots, a.Join(t0))
		}
		me := a.Join(t0)
		if me.Position == 0 {
			t.Fatal("the last of 101 admitted at once")
		}
		for d := 100 * time.Millisecond; d < time.Minute; d += 100 * time.Millisecond {
			now := t0.Add(d)
			if claimed { // the others come back as soon as it is their turn
				for _, b := range bots {
					a.Check(b.Number, now)
				}
			}
			if a.Check(me.Number, now).Position == 0 {
				return d
			}
		}
		t.Fatal("never admitted")
		return 0
	}
	if d := wait(true); d < 9*time.Second || d > 11*time.Second {
		t.Fatalf("with every number claimed: in after %v, want about 10 s at 10/s", d)
	}
	abandoned := wait(false)
	if abandoned > 7*time.Second {
		t.Fatalf("behind 100 abandoned numbers: in after %v, want well under the 10 s they would take", abandoned)
	}
	t.Logf("behind 100 numbers at 10/s: in after 10 s when they are used, %v when they were abandoned", abandoned)
}

// acceptAll accepts on ln until it is closed, handing over each connection.
func acceptAll(ln net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	return accepted
}

// TestDetectorIgnoresAFloodFromFewNetworks: a flood from one address, or
// from a handful of networks, is contained by the per-source limits; it
// must not make every listener pay a proof of work. The same flood from
// many networks does.
func TestDetectorIgnoresAFloodFromFewNetworks(t *testing.T) {
	d := detector{seed: maphash.MakeSeed()}
	now := t0
	flood := func(networks int) bool {
		for i := range 6000 {
			d.reject(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i % networks), 0}), 24))
		}
		d.pass()
		now = now.Add(time.Second)
		return d.tick(now)
	}
	for _, n := range []int{1, 8} {
		for range 5 {
			if flood(n) {
				t.Fatalf("a flood from %d network(s) turned the gate under attack (%s)", n, d.why())
			}
		}
	}
	if !flood(250) {
		t.Fatalf("a flood from 250 networks did not (%s)", d.why())
	}
	if !strings.Contains(d.why(), "networks") {
		t.Fatalf("the reason does not say how spread it was: %s", d.why())
	}
}

// TestLongWaitsHoldNoSocket: a waiter told to come back in seconds gets its
// answer with the connection closed (a crowd in line would otherwise hold
// an open file each at the edge); one about to get in keeps it.
func TestLongWaitsHoldNoSocket(t *testing.T) {
	g := New(Config{Admit: AdmitConfig{StartRate: 1, MinRate: 1, MaxRate: 1, Burst: 1}, Mode: Normal}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Admit(w, r, "sp") {
			io.WriteString(w, "in")
		}
	}))
	defer srv.Close()
	var kept, closed []int
	for range 10 {
		resp, err := http.Post(srv.URL, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			continue
		}
		retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.Close {
			closed = append(closed, retry)
		} else {
			kept = append(kept, retry)
		}
	}
	if len(kept) == 0 || len(closed) == 0 {
		t.Fatalf("Retry-After of waiters kept %v, closed %v: want both", kept, closed)
	}
	for _, r := range kept {
		if r >= closeWaitsOf {
			t.Errorf("a waiter told to wait %d s kept its connection", r)
		}
	}
	for _, r := range closed {
		if r < closeWaitsOf {
			t.Errorf("a waiter told to wait %d s lost its connection", r)
		}
	}
}

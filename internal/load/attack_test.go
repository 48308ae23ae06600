package load

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/ticket"
)

func TestParseMix(t *testing.T) {
	mix, err := parseMix(DefaultBotMix)
	if err != nil {
		t.Fatal(err)
	}
	if len(mix) != 100 {
		t.Fatalf("%d slots", len(mix))
	}
	want := map[botKind]int{kindJoin: 40, kindNoTicket: 20, kindForged: 20, kindReplay: 20}
	got := map[botKind]int{}
	for _, k := range mix {
		got[k]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d slots, want %d", kindNames[k], got[k], n)
		}
	}
	// Interleaved, not in blocks: any 10 slots in a row (wrapping) hold the
	// mix within one request of each kind.
	for i := range mix {
		w := map[botKind]int{}
		for j := range 10 {
			w[mix[(i+j)%len(mix)]]++
		}
		for k, n := range want {
			if d := w[k] - n/10; d < -1 || d > 1 {
				t.Fatalf("slots %d..%d: %d × %s, want about %d (%v)", i, i+9, w[k], kindNames[k], n/10, mix[:20])
			}
		}
	}
	if mix, err := parseMix("forged=1, join=0"); err != nil || len(mix) != 1 || mix[0] != kindForged {
		t.Fatalf("forged only: %v %v", mix, err)
	}
	for _, bad := range []string{"", "join", "join=x", "join=-1", "flood=3", "join=0", "join=1001"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidateAttack(t *testing.T) {
	ok := Config{Target: "http://127.0.0.1:1", Space: "x", Listeners: 0, Attack: Attack{Botnet: 10}}
	ok.Defaults()
	if _, err := ok.Validate(); err != nil {
		t.Fatalf("a botnet without listeners: %v", err)
	}
	if ok.Attack.BotRate != 50 || ok.Attack.BotSources != DefaultBotSources || ok.Attack.BotMix != DefaultBotMix {
		t.Fatalf("defaults: %+v", ok.Attack)
	}
	for _, c := range []Config{
		{Target: "http://127.0.0.1:1", Space: "x", Attack: Attack{Botnet: 10, BotSources: "10.0.0.0/16"}},         // not loopback
		{Target: "http://127.0.0.1:1", Space: "x", Attack: Attack{Botnet: 10, BotMix: "join=1,dos=2"}},            // mix
		{Target: "http://127.0.0.1:1", Space: "x", Attack: Attack{Botnet: 10, BotRate: 2e6}},                      // rate
		{Target: "http://127.0.0.1:1", Space: "x", Attack: Attack{Slowloris: 5, BotLead: -time.Second}},           // lead
		{Target: "http://127.0.0.1:1", Space: "x", Attack: Attack{ConnFlood: 20_000}},                             // flood
		{Target: "http://127.0.0.1:1", URL: "http://127.0.0.1:1/a.ogg", Listeners: 1, Attack: Attack{Botnet: 10}}, // no space
	} {
		c.Defaults()
		if _, err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c.Attack)
		}
	}
}

// fakeGate answers like onair's public port, from a real keyring: joins
// need a proof of work (difficulty 8) and get a ticket; media need a ticket
// that verifies (403 otherwise, 401 without). It records what came from where.
type fakeGate struct {
	space string
	keys  *ticket.Keyring
	mu    sync.Mutex
	kinds map[string]int         // what the requests were
	srcs  map[string]bool        // bot source addresses
	codes map[string]map[int]int // kind → status answered
	kids  map[uint32]int         // key ids of the tickets shown
	nets  map[string]map[string]bool
}

func newFakeGate() *fakeGate {
	return &fakeGate{space: "sp1", keys: ticket.NewKeyring(ticket.NewKey(7)), kinds: map[string]int{}, srcs: map[string]bool{},
		codes: map[string]map[int]int{}, kids: map[uint32]int{}, nets: map[string]map[string]bool{}}
}

func (f *fakeGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	kind, code := "", 0
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.kinds[kind]++
		if strings.HasPrefix(host, "127.77.") {
			f.srcs[host] = true
		}
		if f.codes[kind] == nil {
			f.codes[kind] = map[int]int{}
		}
		f.codes[kind][code]++
	}()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/spaces/sp1/join":
		kind = "join"
		if pow := r.Header.Get("Onair-PoW"); pow != "" {
			kind = "join+pow"
			ch, nonce, _ := strings.Cut(pow, ":")
			if ch != "chal" || gate.LeadingZeroBits(ch, nonce) < 8 {
				code = 403
				w.WriteHeader(code)
				return
			}
			tok, _, _ := f.keys.Issue(f.space, time.Minute, time.Now())
			code = 200
			fmt.Fprintf(w, `{"ticket":%q,"ogg":"http://x/live/sp1.opus?t=%s"}`, tok, tok)
			return
		}
		code = 401
		w.WriteHeader(code)
		w.Write([]byte(`{"error":"solve","code":"pow","challenge":"chal","difficulty":8}`))
	case r.URL.Path == "/live/sp1.opus" || r.URL.Path == "/hls/sp1/index.m3u8":
		kind = "live"
		if strings.HasPrefix(r.URL.Path, "/hls/") {
			kind = "hls"
		}
		tok := r.URL.Query().Get("t")
		if raw, err := base64.RawURLEncoding.DecodeString(tok); err == nil && len(raw) > 5 {
			f.mu.Lock()
			f.kids[uint32(raw[1])<<24|uint32(raw[2])<<16|uint32(raw[3])<<8|uint32(raw[4])]++
			f.mu.Unlock()
		}
		switch _, err := f.keys.Verify(tok, f.space, time.Now()); {
		case tok == "":
			code = 401
		case err != nil:
			code = 403
		default:
			code = 200
		}
		if code != 200 {
			w.WriteHeader(code)
			w.Write([]byte(`{"error":"no"}`))
			return
		}
		f.mu.Lock()
		if f.nets[tok] == nil {
			f.nets[tok] = map[string]bool{}
		}
		f.nets[tok][host] = true
		f.mu.Unlock()
		if kind == "hls" {
			w.Write([]byte("#EXTM3U\n"))
			return
		}
		w.Header().Set("Content-Type", "audio/ogg")
		w.WriteHeader(200)
		for range 50 { // a stream the bot hangs up on
			if _, err := w.Write(make([]byte, 1000)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// TestBotnetMix runs 20 bots at 400 requests/s for 1.5 s against the fake
// gate: the requests come in the mix, from 20 addresses in 20 networks, and
// each kind meets the answer it should, counted by kind and status.
func TestBotnetMix(t *testing.T) {
	f := newFakeGate()
	ts := httptest.NewServer(f)
	defer ts.Close()
	cfg := Config{Target: ts.URL, Space: "sp1", Listeners: 0, Duration: 1500 * time.Millisecond,
		Attack: Attack{Botnet: 20, BotRate: 400, BotSources: "127.77.0.0/16"}}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	t.Log(sb.String())
	a := rep.Attack
	if a == nil || a.Bots == nil {
		t.Fatalf("no bot report: %+v", a)
	}
	b := a.Bots
	if b.Stolen != stolenTickets || b.Sent < 500 || b.Sent > 700 || b.Missed != 0 {
		t.Errorf("stolen %d, sent %d (want about 600), missed %d", b.Stolen, b.Sent, b.Missed)
	}
	n := func(kind, outcome string) int64 { return b.ByKind[kind][outcome] }
	sum := func(kind string) (s int64) {
		for _, v := range b.ByKind[kind] {
			s += v
		}
		return s
	}
	// The mix: 40/20/20/20 of what was sent, exactly per 100 requests.
	for kind, share := range map[string]float64{"join": 0.4, "noticket": 0.2, "forged": 0.2, "replay": 0.2} {
		if got := float64(sum(kind)) / float64(b.Sent); got < share-0.02 || got > share+0.02 {
			t.Errorf("%s: %.3f of the requests, want %.2f", kind, got, share)
		}
	}
	// Each kind met what it should: a cheap bot gives up on 401.
	if n("join", "401") != sum("join") || n("noticket", "401") != sum("noticket") ||
		n("forged", "403") != sum("forged") || n("replay", "200") != sum("replay") {
		t.Errorf("outcomes by kind: %v", b.ByKind)
	}
	if b.Served != sum("replay") || b.Refused != b.Sent-b.Served || b.Solved != 0 {
		t.Errorf("served %d, refused %d, solved %d", b.Served, b.Refused, b.Solved)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The server saw the same: media alternate between Ogg and HLS; the
	// forged tickets carry the server's key id; replays share 4 tickets.
	if f.codes["join"][401] < int(n("join", "401")) || f.codes["live"][403] == 0 || f.codes["hls"][403] == 0 ||
		f.codes["live"][200] == 0 || f.codes["hls"][200] == 0 || f.codes["live"][401] == 0 || f.codes["hls"][401] == 0 {
		t.Errorf("the server saw %v", f.codes)
	}
	if len(f.kids) != 1 || f.kids[7] == 0 {
		t.Errorf("key ids shown: %v", f.kids)
	}
	if len(f.nets) != stolenTickets {
		t.Errorf("%d distinct tickets replayed, want %d", len(f.nets), stolenTickets)
	}
	nets := map[string]bool{}
	for s := range f.srcs {
		nets[s[:strings.LastIndexByte(s, '.')]] = true
	}
	if len(f.srcs) != 20 || len(nets) != 20 {
		t.Errorf("bots came from %d addresses in %d /24s, want 20 and 20", len(f.srcs), len(nets))
	}
}

// TestBotnetSolves: determined bots solve the proof of work and get in.
func TestBotnetSolves(t *testing.T) {
	f := newFakeGate()
	ts := httptest.NewServer(f)
	defer ts.Close()
	cfg := Config{Target: ts.URL, Space: "sp1", Listeners: 0, Duration: time.Second,
		Attack: Attack{Botnet: 5, BotRate: 100, BotSources: "127.77.0.0/16", BotMix: "join=1", BotSolve: true}}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Attack.Bots
	if b.Sent < 80 || b.ByKind["join"]["200"] != b.Sent || b.Solved != b.Sent || b.Stolen != 0 {
		t.Fatalf("%+v", b)
	}
}

// TestSlowlorisAndFlood: against a server that waits 300 ms for a header,
// 50 slow sockets are held, cut and reopened, and a flood opens connections.
func TestSlowlorisAndFlood(t *testing.T) {
	f := newFakeGate()
	ts := httptest.NewUnstartedServer(f)
	ts.Config.ReadHeaderTimeout = 300 * time.Millisecond
	var conns atomic.Int64
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	cfg := Config{Target: ts.URL, Space: "sp1", Listeners: 0, Duration: 1500 * time.Millisecond,
		Attack: Attack{Slowloris: 50, SlowEvery: 100 * time.Millisecond, ConnFlood: 1, BotSources: "127.78.0.0/16"}}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	t.Log(sb.String())
	s, fl := rep.Attack.Slowloris, rep.Attack.ConnFlood
	if s == nil || s.PeakOpen < 45 || s.Opened < 150 || s.HeldS.P50 < 0.25 || s.HeldS.P50 > 0.6 || s.ConnErrors != 0 {
		t.Errorf("slowloris: %+v", s)
	}
	if fl == nil || fl.Conns < 100 || conns.Load() < fl.Conns/2 {
		t.Errorf("flood: %+v; the server saw %d connections", fl, conns.Load())
	}
}

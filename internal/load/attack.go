package load

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/onair-live/onair/internal/ticket"
)

// The attack scenarios of a run (onair's gate, issue 6): a botnet, a
// slowloris and a connection flood on the server's public port, alone or
// while a legitimate crowd arrives. The attack runs in the parent process
// (never in --procs children), from its own source addresses, and is
// reported apart from the listeners.
//
// The botnet is N bots, one goroutine and one keep-alive connection each,
// bound to its own source address, together sending R requests a second on
// a fixed schedule (open loop: a bot whose answer is late skips the slots
// it missed, and they are counted). Each request is the next of a fixed
// mix of kinds:
//
//   - join: POST join without a proof of work. On 401 a cheap bot gives up;
//     with BotSolve it solves the challenge and asks again, as a determined
//     bot would. A 202 (the waiting room) is never waited out.
//   - noticket: the live Ogg stream or the HLS playlist without a ticket.
//   - forged: the same with a ticket of the right shape and key id, signed
//     with another key (it costs the server one HMAC).
//   - replay: the same with a valid ticket stolen before the attack (the
//     bots' own joins, proof of work solved) and replayed from every bot.
//
// A 200 on the live stream is a stream: the bot reads the header and drops
// the connection. Connections are closed with a reset (SO_LINGER 0), so
// neither side keeps TIME_WAIT state.

// Attack configures the hostile traffic of a run.
type Attack struct {
	Botnet     int           `json:"botnet,omitempty"`      // bots, each from its own source address
	BotRate    float64       `json:"bot_rate,omitempty"`    // requests per second, all bots together
	BotSources string        `json:"bot_sources,omitempty"` // where bots, slowloris and flood come from
	BotMix     string        `json:"bot_mix,omitempty"`     // kind=weight,... (join, noticket, forged, replay)
	BotSolve   bool          `json:"bot_solve,omitempty"`   // bots solve proofs of work
	BotLead    time.Duration `json:"bot_lead_ns,omitempty"` // the attack runs alone this long before the listeners come
	Slowloris  int           `json:"slowloris,omitempty"`   // sockets held with a partial request
	SlowEvery  time.Duration `json:"slowloris_every_ns,omitempty"`
	ConnFlood  int           `json:"conn_flood,omitempty"` // workers opening and resetting connections
}

// Defaults for the attack.
const (
	DefaultBotSources = "127.64.0.0/10" // 4 million loopback addresses, apart from the listeners' usual 127.0.0.0/16
	DefaultBotMix     = "join=40,noticket=20,forged=20,replay=20"
	botTimeout        = 5 * time.Second // bound on one bot request
	stolenTickets     = 4
)

// On reports whether any attack is configured.
func (a *Attack) On() bool { return a.Botnet > 0 || a.Slowloris > 0 || a.ConnFlood > 0 }

func (a *Attack) defaults() {
	if !a.On() {
		return
	}
	if a.BotSources == "" {
		a.BotSources = DefaultBotSources
	}
	if a.BotMix == "" {
		a.BotMix = DefaultBotMix
	}
	if a.Botnet > 0 && a.BotRate <= 0 {
		a.BotRate = 5 * float64(a.Botnet)
	}
	if a.SlowEvery <= 0 {
		a.SlowEvery = 3 * time.Second
	}
}

// validate checks the attack (after defaults) against the run.
func (a *Attack) validate(c *Config) error {
	if !a.On() {
		return nil
	}
	switch {
	case a.Botnet < 0 || a.Slowloris < 0 || a.ConnFlood < 0 || a.BotRate < 0 || a.BotLead < 0:
		return usagef("--botnet, --bot-rate, --slowloris, --conn-flood and --bot-lead must not be negative")
	case a.Botnet > 100_000:
		return usagef("--botnet %d: at most 100,000 bots (each holds a connection)", a.Botnet)
	case a.BotRate > 1e6:
		return usagef("--bot-rate %.0f: at most 1,000,000 requests per second", a.BotRate)
	case a.Slowloris > 1_000_000:
		return usagef("--slowloris %d: at most 1,000,000 sockets", a.Slowloris)
	case a.ConnFlood > 10_000:
		return usagef("--conn-flood %d: at most 10,000 workers", a.ConnFlood)
	case a.BotLead > 10*time.Minute:
		return usagef("--bot-lead %s: at most 10 minutes", a.BotLead)
	case c.Space == "":
		return usagef("the attack scenarios need --space (the join API and the space's streams)")
	}
	src, err := ParseSources(a.BotSources)
	if err != nil {
		return UsageError{fmt.Errorf("--bot-sources: %w", err)}
	}
	if !c.AllowRemote && !src.Loopback() {
		return usagef("--bot-sources %s: not loopback addresses (pass --allow-remote to attack a remote server, and only one that is yours)", a.BotSources)
	}
	if _, err := parseMix(a.BotMix); err != nil {
		return UsageError{fmt.Errorf("--bot-mix: %w", err)}
	}
	return nil
}

// fds is how many descriptors the attack holds at most.
func (a *Attack) fds() int { return a.Botnet + a.Slowloris + a.ConnFlood + stolenTickets }

// botKind is one kind of bot request.
type botKind uint8

const (
	kindJoin botKind = iota
	kindNoTicket
	kindForged
	kindReplay
	numKinds
)

var kindNames = [numKinds]string{"join", "noticket", "forged", "replay"}

// parseMix reads "join=40,noticket=20,..." into a schedule: one kind per
// slot, the kinds interleaved as evenly as their weights allow (smooth
// weighted round-robin), so that any stretch of requests has the mix.
func parseMix(s string) ([]botKind, error) {
	var w [numKinds]int
	total := 0
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, v, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 || n > 1000 {
			return nil, fmt.Errorf("%q: want kind=weight with a weight from 0 to 1000", f)
		}
		k := -1
		for i, kn := range kindNames {
			if kn == strings.TrimSpace(name) {
				k = i
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("%q: the kinds are %s", name, strings.Join(kindNames[:], ", "))
		}
		w[k] += n
		total += n
	}
	if total == 0 {
		return nil, errors.New("no request kind has a weight")
	}
	var cur [numKinds]int
	out := make([]botKind, total)
	for i := range out {
		best := -1
		for k := range w {
			if w[k] == 0 {
				continue
			}
			cur[k] += w[k]
			if best < 0 || cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= total
		out[i] = botKind(best)
	}
	return out, nil
}

// Outcomes of a bot request: the answer's status, or what happened instead.
const (
	out200 = iota
	out202
	out401
	out403
	out404
	out429
	out503
	outOther   // any other status
	outClosed  // the server closed or reset the connection before answering (connection caps)
	outConnect // the connection could not be made
	outTimeout // no answer within botTimeout
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"200", "202", "401", "403", "404", "429", "503", "other", "closed", "connect", "timeout"}

func outcomeOf(status int) int {
	switch status {
	case 200:
		return out200
	case 202:
		return out202
	case 401:
		return out401
	case 403:
		return out403
	case 404:
		return out404
	case 429:
		return out429
	case 503:
		return out503
	}
	return outOther
}

// attack is a running attack.
type attack struct {
	cfg    Config
	a      Attack
	tg     target
	srcs   *Sources
	mix    []botKind
	opt    Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	stolen []string // valid tickets the bots took for themselves
	forged []string // tickets of the right shape, signed with another key
	notes  []string

	errMu   sync.Mutex
	samples map[string]string // the first error of each outcome that is not an answer

	seq    atomic.Uint64
	sent   atomic.Int64
	missed atomic.Int64
	solved atomic.Int64
	out    [numKinds][numOutcomes]atomic.Int64
	lat    Hist // bot request to answer, µs

	slow struct {
		open, peak, opened, refused, answered, connErr atomic.Int64
		held                                           Hist // ms
		slots                                          []lstate
	}
	flood struct{ conns, errs atomic.Int64 }

	mu       sync.Mutex
	timeline []AttackPoint
	lead     *leadCPU
	stopped  bool
}

// leadCPU is the server's CPU while the attack ran alone.
type leadCPU struct {
	from, to procSample
	sent     int64
}

// startAttack starts the attack configured in cfg (nil when there is none):
// it takes its tickets, launches the bots, the slowloris and the flood, and
// holds for BotLead while they run alone.
func startAttack(ctx context.Context, cfg Config, tg target, opt Options) (*attack, error) {
	a := cfg.Attack
	if !a.On() {
		return nil, nil
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, err
	}
	here := 0 // listeners in this process
	if cfg.Procs <= 1 {
		here = cfg.Listeners
	}
	if need := a.fds() + here + fdReserve; uint64(need) > limit {
		return nil, usagef("the attack (%d bots, %d slowloris sockets, %d flood workers) and %d listeners in this process need %d open files, but one process may hold %d: use fewer, or --procs for the listeners",
			a.Botnet, a.Slowloris, a.ConnFlood, here, need, limit)
	}
	srcs, err := ParseSources(a.BotSources)
	if err != nil {
		return nil, err
	}
	mix, err := parseMix(a.BotMix)
	if err != nil {
		return nil, err
	}
	at := &attack{cfg: cfg, a: a, tg: tg, srcs: srcs, mix: mix, opt: opt}
	at.ctx, at.cancel = context.WithCancel(ctx)
	if a.Botnet > 0 {
		at.arm()
	}
	at.start = time.Now()
	if a.Botnet > 0 {
		for i := range a.Botnet {
			at.wg.Add(1)
			go at.bot(i)
		}
	}
	at.slow.slots = make([]lstate, a.Slowloris)
	for j := range a.Slowloris {
		at.wg.Add(1)
		go at.slowloris(j)
	}
	for k := range a.ConnFlood {
		at.wg.Add(1)
		go at.connFlood(k)
	}
	at.wg.Add(1)
	go at.sampler()
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "attack: %s\n", at.describe())
	}
	if a.BotLead > 0 {
		at.lead = &leadCPU{}
		if cfg.ServerPID != 0 {
			at.lead.from, _ = sampleProc(cfg.ServerPID)
		}
		at.hold(ctx, a.BotLead)
		if cfg.ServerPID != 0 {
			at.lead.to, _ = sampleProc(cfg.ServerPID)
		}
		at.lead.sent = at.sent.Load()
	}
	return at, nil
}

func (at *attack) describe() string {
	a := at.a
	var parts []string
	if a.Botnet > 0 {
		solve := "giving up on proofs of work"
		if a.BotSolve {
			solve = "solving proofs of work"
		}
		parts = append(parts, fmt.Sprintf("%d bots from %s, %.0f requests/s in all (%s, %s), %d tickets stolen",
			a.Botnet, a.BotSources, a.BotRate, a.BotMix, solve, len(at.stolen)))
	}
	if a.Slowloris > 0 {
		parts = append(parts, fmt.Sprintf("slowloris of %d sockets (a header byte every %s)", a.Slowloris, a.SlowEvery))
	}
	if a.ConnFlood > 0 {
		parts = append(parts, fmt.Sprintf("connection flood of %d workers", a.ConnFlood))
	}
	s := strings.Join(parts, "; ")
	if a.BotLead > 0 && at.cfg.Listeners > 0 {
		s += fmt.Sprintf("; alone for %s before the listeners", a.BotLead)
	}
	return s
}

// arm takes valid tickets for the replay (the bots' own joins, from their
// own first addresses, proof of work solved and the line waited out, within
// 20 s) and makes forged ones.
func (at *attack) arm() {
	ctx, cancel := context.WithTimeout(at.ctx, 20*time.Second)
	defer cancel()
	wantReplay := false
	for _, k := range at.mix {
		wantReplay = wantReplay || k == kindReplay
	}
	for i := 0; wantReplay && i < stolenTickets && ctx.Err() == nil; i++ {
		tok, err := at.steal(ctx, at.srcs.At(i))
		if err != nil {
			at.notes = append(at.notes, "stealing a ticket: "+err.Error())
			break
		}
		at.stolen = append(at.stolen, tok)
	}
	if wantReplay && len(at.stolen) == 0 {
		at.notes = append(at.notes, "no ticket could be taken: the replay requests go without one")
	}
	kid := uint32(1)
	if len(at.stolen) > 0 {
		if raw, err := base64.RawURLEncoding.DecodeString(at.stolen[0]); err == nil && len(raw) > 5 {
			kid = binary.BigEndian.Uint32(raw[1:5])
		}
	}
	kr := ticket.NewKeyring(ticket.NewKey(kid)) // the server's key id, another secret
	for range 16 {
		tok, _, err := kr.Issue(at.cfg.Space, 10*time.Minute, time.Now())
		if err == nil {
			at.forged = append(at.forged, tok)
		}
	}
}

// steal joins once from src like a determined listener and returns the ticket.
func (at *attack) steal(ctx context.Context, src net.IP) (string, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: at.cfg.ConnectTimeout}
	c := http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: botTimeout}
	var queue, pow string
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+at.tg.host+"/api/v1/spaces/"+at.cfg.Space+"/join", nil)
		req.Header.Set("User-Agent", "onair-load (bot)")
		if queue != "" {
			req.Header.Set("Onair-Queue", queue)
		}
		if pow != "" {
			req.Header.Set("Onair-PoW", pow)
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var ja joinAnswer
		_ = json.Unmarshal(b, &ja)
		pow = ""
		switch resp.StatusCode {
		case 200:
			if ja.Ticket == "" {
				return "", errors.New("join answered 200 without a ticket")
			}
			return ja.Ticket, nil
		case 202, 429, 503:
			if resp.StatusCode == 202 {
				queue = ja.QueueToken
			}
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(min(max(wait, 1), 5)) * time.Second):
			case <-ctx.Done():
			}
		case 401:
			if ja.Challenge == "" || ja.Difficulty > maxPoWBits {
				return "", fmt.Errorf("join answered 401: %s", oneLine(string(b), 100))
			}
			pow = ja.Challenge + ":" + solvePoW(ja.Challenge, ja.Difficulty)
		default:
			return "", fmt.Errorf("join answered %d: %s", resp.StatusCode, oneLine(string(b), 100))
		}
	}
	return "", fmt.Errorf("no ticket within 20 s: %v", ctx.Err())
}

// bot is bot i: its share of the schedule, from its own address, on one
// keep-alive connection while the server keeps it.
func (at *attack) bot(i int) {
	defer at.wg.Done()
	src := at.srcs.At(i)
	interval := time.Duration(float64(at.a.Botnet) / at.a.BotRate * float64(time.Second))
	next := at.start.Add(time.Duration(float64(i) / at.a.BotRate * float64(time.Second)))
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	var hc *hconn
	var scratch []byte
	defer func() {
		if hc != nil {
			resetClose(hc.c)
		}
	}()
	for {
		select {
		case <-t.C:
		case <-at.ctx.Done():
			return
		}
		if late := time.Since(next); late > max(interval, time.Second) {
			k := int64(late / interval)
			at.missed.Add(k)
			next = next.Add(time.Duration(k) * interval)
		}
		n := at.seq.Add(1)
		hc, scratch = at.request(hc, src, i, n, scratch)
		next = next.Add(interval)
		t.Reset(time.Until(next))
	}
}

// request sends bot request n (its kind is the mix's slot n) on hc (dialled first when nil) and
// counts its outcome; it returns the connection if it is still usable.
func (at *attack) request(hc *hconn, src net.IP, i int, n uint64, scratch []byte) (*hconn, []byte) {
	kind := at.mix[n%uint64(len(at.mix))]
	at.sent.Add(1)
	t0 := time.Now()
	if hc == nil {
		ctx, cancel := context.WithTimeout(at.ctx, botTimeout)
		c, err := dial(ctx, at.tg.addr, src, botTimeout)
		cancel()
		if err != nil {
			if at.ctx.Err() == nil {
				at.count(kind, outConnect, i, t0)
				at.sample(outcomeNames[outConnect], err)
			}
			return nil, scratch
		}
		hc = newHconn(c, at.tg.host, 4<<10)
	}
	_ = hc.c.SetDeadline(t0.Add(botTimeout))
	status, closeAfter, raw, err := at.exchange(hc, i, n, "", scratch)
	if err == nil && status == 401 && kind == kindJoin && at.a.BotSolve && !closeAfter {
		var ja joinAnswer
		if json.Unmarshal(raw, &ja) == nil && ja.Challenge != "" && ja.Difficulty <= maxPoWBits {
			pow := ja.Challenge + ":" + solvePoW(ja.Challenge, ja.Difficulty)
			at.solved.Add(1)
			_ = hc.c.SetDeadline(time.Now().Add(botTimeout))
			status, closeAfter, raw, err = at.exchange(hc, i, n, pow, scratch)
		}
	}
	scratch = raw[:0]
	if err != nil {
		if at.ctx.Err() == nil {
			o := outClosed
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				o = outTimeout
			}
			at.count(kind, o, i, t0)
			at.sample(outcomeNames[o], err)
		}
		resetClose(hc.c)
		return nil, scratch
	}
	at.count(kind, outcomeOf(status), i, t0)
	if closeAfter {
		resetClose(hc.c)
		return nil, scratch
	}
	return hc, scratch
}

// sample keeps the first error of each kind.
func (at *attack) sample(kind string, err error) {
	at.errMu.Lock()
	defer at.errMu.Unlock()
	if at.samples == nil {
		at.samples = map[string]string{}
	}
	if _, ok := at.samples[kind]; !ok {
		at.samples[kind] = err.Error()
	}
}

func (at *attack) count(kind botKind, o int, i int, t0 time.Time) {
	at.out[kind][o].Add(1)
	at.lat.Record(i, time.Since(t0).Microseconds())
}

// exchange sends bot request n and reads the answer (the header only for a
// stream). Media requests alternate, a round of the mix at a time, between
// the live Ogg stream and the HLS playlist. closeAfter: the connection
// cannot carry another request.
func (at *attack) exchange(hc *hconn, i int, n uint64, pow string, scratch []byte) (status int, closeAfter bool, raw []byte, err error) {
	kind := at.mix[n%uint64(len(at.mix))]
	round := n / uint64(len(at.mix))
	live := round%2 == 0
	post := kind == kindJoin
	var b []byte
	if post {
		b = hc.begin("POST ")
		b = append(b, "/api/v1/spaces/"...)
		b = append(b, at.cfg.Space...)
		b = append(b, "/join"...)
	} else {
		b = hc.begin("GET ")
		if live {
			b = append(b, "/live/"...)
			b = append(b, at.cfg.Space...)
			b = append(b, ".opus"...)
		} else {
			b = append(b, "/hls/"...)
			b = append(b, at.cfg.Space...)
			b = append(b, "/index.m3u8"...)
		}
		var tok string
		switch {
		case kind == kindForged && len(at.forged) > 0:
			tok = at.forged[(round+uint64(i))%uint64(len(at.forged))]
		case kind == kindReplay && len(at.stolen) > 0:
			tok = at.stolen[(round+uint64(i))%uint64(len(at.stolen))]
		}
		if tok != "" {
			b = append(b, "?t="...)
			b = append(b, tok...)
		}
	}
	if err := hc.end(b, post, header("Onair-PoW", pow)); err != nil {
		return 0, true, scratch, err
	}
	var rh respHead
	if err := hc.readHead(&rh); err != nil {
		return 0, true, scratch, err
	}
	if !post && live && rh.status == 200 {
		return 200, true, scratch, nil // a stream: the bot had what it wanted
	}
	var bd body
	bd.start(&rh)
	raw, err = hc.readBody(&bd, scratch[:0], 64<<10)
	return rh.status, rh.close || bd.mode == bodyClose, raw, err
}

// resetClose drops a connection with a reset: no TIME_WAIT on either side.
func resetClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// slowloris holds socket j open with a request that never ends: its
// header, a byte every SlowEvery. When the server cuts it, it comes back.
func (at *attack) slowloris(j int) {
	defer at.wg.Done()
	slot := &at.slow.slots[j]
	src := at.srcs.At(at.a.Botnet + j)
	every := at.a.SlowEvery
	// Spread the sockets' first bytes over the interval.
	phase := time.Duration(int64(every) * int64(j%1000) / 1000)
	head := "GET /live/" + at.cfg.Space + ".opus HTTP/1.1\r\nHost: " + at.tg.host + "\r\nUser-Agent: onair-load (slowloris)\r\nX-Slow: "
	buf := make([]byte, 512)
	for at.ctx.Err() == nil {
		c, err := dial(at.ctx, at.tg.addr, src, at.cfg.ConnectTimeout) // the dialer bounds the connect
		if err != nil {
			if at.ctx.Err() == nil {
				at.slow.connErr.Add(1)
				at.pause(time.Second)
			}
			continue
		}
		if !slot.attach(c) {
			return
		}
		t0 := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			resetClose(c)
			at.slow.refused.Add(1)
			at.pause(time.Second)
			continue
		}
		at.slow.opened.Add(1)
		if o := at.slow.open.Add(1); o > at.slow.peak.Load() {
			for p := at.slow.peak.Load(); o > p && !at.slow.peak.CompareAndSwap(p, o); p = at.slow.peak.Load() {
			}
		}
		next := t0.Add(phase)
		answered := false
		for {
			_ = c.SetReadDeadline(next)
			n, err := c.Read(buf)
			if n > 0 {
				answered = true
				break
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				break // closed by the server, or by the end of the run
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				break
			}
			next = time.Now().Add(every)
		}
		held := time.Since(t0)
		at.slow.open.Add(-1)
		resetClose(c)
		if at.ctx.Err() != nil {
			return
		}
		at.slow.held.Record(j, held.Milliseconds())
		switch {
		case answered:
			at.slow.answered.Add(1)
		case held < 100*time.Millisecond:
			at.slow.refused.Add(1) // closed at once: a connection cap
			at.pause(time.Second)
		}
	}
}

// connFlood opens connections and resets them at once, as fast as it can.
func (at *attack) connFlood(k int) {
	defer at.wg.Done()
	src := at.srcs.At(at.a.Botnet + at.a.Slowloris + k)
	for at.ctx.Err() == nil {
		c, err := dial(at.ctx, at.tg.addr, src, at.cfg.ConnectTimeout) // the dialer bounds the connect
		if err != nil {
			if at.ctx.Err() == nil {
				at.flood.errs.Add(1)
				at.pause(10 * time.Millisecond)
			}
			continue
		}
		resetClose(c)
		at.flood.conns.Add(1)
	}
}

// pause sleeps d unless the attack ends first.
func (at *attack) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-at.ctx.Done():
	}
}

// AttackPoint is one second of the attack.
type AttackPoint struct {
	T          float64 `json:"t"` // since the attack began
	Sent       int64   `json:"bot_requests"`
	Served     int64   `json:"bot_served"`  // 200
	Queued     int64   `json:"bot_queued"`  // 202
	Refused    int64   `json:"bot_refused"` // every other outcome
	SlowOpen   int64   `json:"slowloris_open"`
	FloodConns int64   `json:"flood_conns"`
	ServerCPUS float64 `json:"server_cpu_s,omitempty"` // since the attack began
}

// sampler keeps the attack's timeline, a point a second.
func (at *attack) sampler() {
	defer at.wg.Done()
	var cpu0 procSample
	if at.cfg.ServerPID != 0 {
		cpu0, _ = sampleProc(at.cfg.ServerPID)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-at.ctx.Done():
			return
		case now := <-t.C:
			p := at.point(now)
			if at.cfg.ServerPID != 0 {
				if s, err := sampleProc(at.cfg.ServerPID); err == nil {
					p.ServerCPUS = (s.CPU - cpu0.CPU).Seconds()
				}
			}
			at.mu.Lock()
			at.timeline = append(at.timeline, p)
			at.mu.Unlock()
		}
	}
}

func (at *attack) point(now time.Time) AttackPoint {
	p := AttackPoint{T: now.Sub(at.start).Seconds(), Sent: at.sent.Load(), SlowOpen: at.slow.open.Load(), FloodConns: at.flood.conns.Load()}
	for k := range numKinds {
		for o := range numOutcomes {
			v := at.out[k][o].Load()
			switch o {
			case out200:
				p.Served += v
			case out202:
				p.Queued += v
			default:
				p.Refused += v
			}
		}
	}
	return p
}

// status is the attack's part of a progress line.
func (at *attack) status() string {
	at.mu.Lock()
	defer at.mu.Unlock()
	var parts []string
	n := len(at.timeline)
	if n == 0 {
		return ""
	}
	p, prev := at.timeline[n-1], AttackPoint{}
	if n > 1 {
		prev = at.timeline[n-2]
	}
	dt := max(p.T-prev.T, 1e-3)
	if at.a.Botnet > 0 {
		sent := p.Sent - prev.Sent
		ref := p.Refused - prev.Refused
		parts = append(parts, fmt.Sprintf("bots %.0f req/s, %.0f%% refused", float64(sent)/dt, 100*float64(ref)/float64(max(sent, 1))))
	}
	if at.a.Slowloris > 0 {
		parts = append(parts, fmt.Sprintf("slowloris %d open", p.SlowOpen))
	}
	if at.a.ConnFlood > 0 {
		parts = append(parts, fmt.Sprintf("flood %.0f conn/s", float64(p.FloodConns-prev.FloodConns)/dt))
	}
	return strings.Join(parts, ", ")
}

// hold lets the attack run alone for d (the lead, or a run without
// listeners), showing its progress.
func (at *attack) hold(ctx context.Context, d time.Duration) {
	end := time.Now().Add(d)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var printed time.Time
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(end)):
		case now := <-t.C:
			st := at.status()
			if at.opt.Progress == nil || st == "" {
				continue
			}
			line := fmt.Sprintf("%4.0fs  attack alone: %s", now.Sub(at.start).Seconds(), st)
			if at.opt.TTY {
				if w := at.opt.Width; w > 1 && len([]rune(line)) >= w {
					line = string([]rune(line)[:w-1])
				}
				fmt.Fprintf(at.opt.Progress, "\r\033[K%s", line)
			} else if now.Sub(printed) >= 5*time.Second {
				fmt.Fprintln(at.opt.Progress, line)
				printed = now
			}
		}
	}
	if at.opt.Progress != nil && at.opt.TTY {
		fmt.Fprintln(at.opt.Progress)
	}
}

// stop ends the attack and returns its report; rep is the run's report
// (for the server's figures). Safe on nil and more than once.
func (at *attack) stop() *AttackReport {
	if at == nil {
		return nil
	}
	at.mu.Lock()
	if at.stopped {
		at.mu.Unlock()
		return nil
	}
	at.stopped = true
	at.mu.Unlock()
	end := time.Now()
	last := at.point(end)
	at.cancel()
	for i := range at.slow.slots {
		at.slow.slots[i].stop()
	}
	if !waitTimeout(&at.wg, 10*time.Second) {
		fmt.Fprintln(stderr, "warning: some attack goroutines did not stop within 10 s")
	}
	return at.report(end, last)
}

// AttackReport is what the attack did and met.
type AttackReport struct {
	Attack    Attack           `json:"attack"`
	ElapsedS  float64          `json:"elapsed_s"`
	Bots      *BotReport       `json:"bots,omitempty"`
	Slowloris *SlowlorisReport `json:"slowloris,omitempty"`
	ConnFlood *ConnFloodReport `json:"conn_flood,omitempty"`
	// The server's CPU (with --server-pid) while the attack ran alone (the
	// lead), against its idle rate before the run.
	LeadS                    float64           `json:"lead_s,omitempty"`
	LeadBotRequests          int64             `json:"lead_bot_requests,omitempty"`
	ServerIdleCPUMsPerS      float64           `json:"server_idle_cpu_ms_per_s,omitempty"`
	ServerLeadCPUMsPerS      float64           `json:"server_lead_cpu_ms_per_s,omitempty"`
	ServerRunCPUMsPerS       float64           `json:"server_run_cpu_ms_per_s,omitempty"` // the whole attack, crowd included
	ServerCPUPerBotRequestUs float64           `json:"server_cpu_per_bot_request_us,omitempty"`
	Notes                    []string          `json:"notes,omitempty"`
	ErrorSamples             map[string]string `json:"error_samples,omitempty"` // the first error of each outcome that is not an answer
	Timeline                 []AttackPoint     `json:"timeline"`
}

// BotReport counts the bots' requests by kind and outcome.
type BotReport struct {
	Bots       int                         `json:"bots"`
	RateAsked  float64                     `json:"rate_asked"`
	RateSent   float64                     `json:"rate_sent"`
	Sent       int64                       `json:"sent"`
	Missed     int64                       `json:"missed"` // schedule slots skipped: the bots were late
	Stolen     int                         `json:"stolen_tickets"`
	Solved     int64                       `json:"pow_solved"`
	ByKind     map[string]map[string]int64 `json:"by_kind"`
	Total      map[string]int64            `json:"total"`
	Served     int64                       `json:"served"`  // 200
	Queued     int64                       `json:"queued"`  // 202: sent to the waiting room (and never back)
	Refused    int64                       `json:"refused"` // 401, 403, 429, closed and every other outcome
	ServedPct  float64                     `json:"served_pct"`
	QueuedPct  float64                     `json:"queued_pct"`
	RefusedPct float64                     `json:"refused_pct"`
	AnswerMs   Summary                     `json:"answer_ms"`
}

// SlowlorisReport is what became of the slow sockets.
type SlowlorisReport struct {
	Sockets    int     `json:"sockets"`
	PeakOpen   int64   `json:"peak_open"`
	OpenAtEnd  int64   `json:"open_at_end"`
	Opened     int64   `json:"opened"`
	Answered   int64   `json:"answered"` // the server answered the partial request (408, 400) before closing
	Refused    int64   `json:"refused"`  // closed at once (connection caps)
	ConnErrors int64   `json:"connect_errors"`
	HeldS      Summary `json:"held_s"` // how long the server let a socket hang
}

// ConnFloodReport counts the flood's connections.
type ConnFloodReport struct {
	Workers int     `json:"workers"`
	Conns   int64   `json:"conns"`
	PerS    float64 `json:"per_s"`
	Errors  int64   `json:"errors"`
}

func (at *attack) report(end time.Time, last AttackPoint) *AttackReport {
	el := end.Sub(at.start).Seconds()
	r := &AttackReport{Attack: at.a, ElapsedS: el, Notes: at.notes}
	at.errMu.Lock()
	r.ErrorSamples = maps.Clone(at.samples)
	at.errMu.Unlock()
	at.mu.Lock()
	r.Timeline = append(at.timeline, last)
	at.mu.Unlock()
	if at.a.Botnet > 0 {
		b := &BotReport{Bots: at.a.Botnet, RateAsked: at.a.BotRate, Sent: at.sent.Load(), Missed: at.missed.Load(),
			Stolen: len(at.stolen), Solved: at.solved.Load(), ByKind: map[string]map[string]int64{}, Total: map[string]int64{},
			AnswerMs: at.lat.Snapshot().Summarize("ms", 1e3)}
		b.RateSent = float64(b.Sent) / max(el, 1e-3)
		for k := range numKinds {
			for o := range numOutcomes {
				v := at.out[k][o].Load()
				if v == 0 {
					continue
				}
				if b.ByKind[kindNames[k]] == nil {
					b.ByKind[kindNames[k]] = map[string]int64{}
				}
				b.ByKind[kindNames[k]][outcomeNames[o]] += v
				b.Total[outcomeNames[o]] += v
				switch o {
				case out200:
					b.Served += v
				case out202:
					b.Queued += v
				default:
					b.Refused += v
				}
			}
		}
		if n := float64(b.Served + b.Queued + b.Refused); n > 0 {
			b.ServedPct, b.QueuedPct, b.RefusedPct = 100*float64(b.Served)/n, 100*float64(b.Queued)/n, 100*float64(b.Refused)/n
		}
		r.Bots = b
	}
	if at.a.Slowloris > 0 {
		r.Slowloris = &SlowlorisReport{Sockets: at.a.Slowloris, PeakOpen: at.slow.peak.Load(), OpenAtEnd: last.SlowOpen,
			Opened: at.slow.opened.Load(), Answered: at.slow.answered.Load(), Refused: at.slow.refused.Load(),
			ConnErrors: at.slow.connErr.Load(), HeldS: at.slow.held.Snapshot().Summarize("s", 1e3)}
	}
	if at.a.ConnFlood > 0 {
		n := at.flood.conns.Load()
		r.ConnFlood = &ConnFloodReport{Workers: at.a.ConnFlood, Conns: n, PerS: float64(n) / max(el, 1e-3), Errors: at.flood.errs.Load()}
	}
	if l := at.lead; l != nil {
		r.LeadS, r.LeadBotRequests = at.a.BotLead.Seconds(), l.sent
		if d := l.to.At.Sub(l.from.At).Seconds(); d > 0 && !l.from.At.IsZero() && !l.to.At.IsZero() {
			r.LeadS = d
			r.ServerLeadCPUMsPerS = (l.to.CPU - l.from.CPU).Seconds() / d * 1e3
		}
	}
	if n := len(r.Timeline); n > 0 && at.cfg.ServerPID != 0 && r.Timeline[n-1].ServerCPUS == 0 {
		// the last point was taken without a server sample
		if n > 1 {
			r.Timeline[n-1].ServerCPUS = r.Timeline[n-2].ServerCPUS
		}
	}
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		if p := r.Timeline[i]; p.ServerCPUS > 0 {
			r.ServerRunCPUMsPerS = p.ServerCPUS / max(p.T, 1e-3) * 1e3
			break
		}
	}
	return r
}

// finish completes the attack's figures with the run's: the server's idle rate.
func (r *AttackReport) finish(srv *serverSampler) {
	if r == nil {
		return
	}
	if srv != nil {
		r.ServerIdleCPUMsPerS = srv.idleRate * 1e3
	}
	// The cost of a bot request, when the bots were the whole attack.
	if a := r.Attack; r.Bots != nil && a.Slowloris == 0 && a.ConnFlood == 0 && r.ServerLeadCPUMsPerS > 0 && r.LeadS > 0 && r.LeadBotRequests > 0 {
		rate := float64(r.LeadBotRequests) / r.LeadS
		r.ServerCPUPerBotRequestUs = (r.ServerLeadCPUMsPerS - r.ServerIdleCPUMsPerS) * 1e3 / rate
	}
}

// writeAttack writes the attack's part of the summary, next to the
// listeners' outcomes.
func (rep *Report) writeAttack(w io.Writer) {
	r := rep.Attack
	if r == nil {
		return
	}
	fmt.Fprintln(w)
	if b := r.Bots; b != nil {
		fmt.Fprintf(w, "botnet      %d bots from %s: %.0f requests/s asked, %.0f/s sent (%d requests, %d slots missed); mix %s; %d tickets stolen",
			b.Bots, r.Attack.BotSources, b.RateAsked, b.RateSent, b.Sent, b.Missed, r.Attack.BotMix, b.Stolen)
		if r.Attack.BotSolve {
			fmt.Fprintf(w, "; %d proofs of work solved", b.Solved)
		}
		fmt.Fprintln(w)
		var cols []int
		for o := range numOutcomes {
			if b.Total[outcomeNames[o]] > 0 {
				cols = append(cols, o)
			}
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "            kind\tsent")
		for _, o := range cols {
			fmt.Fprintf(tw, "\t%s", outcomeNames[o])
		}
		fmt.Fprintln(tw, "\trefused\t")
		row := func(name string, m map[string]int64) {
			var n, ref int64
			for o, v := range m {
				n += v
				if o != "200" && o != "202" {
					ref += v
				}
			}
			fmt.Fprintf(tw, "            %s\t%d", name, n)
			for _, o := range cols {
				fmt.Fprintf(tw, "\t%d", m[outcomeNames[o]])
			}
			fmt.Fprintf(tw, "\t%.1f%%\t\n", 100*float64(ref)/float64(max(n, 1)))
		}
		for k := range numKinds {
			if m := b.ByKind[kindNames[k]]; m != nil {
				row(kindNames[k], m)
			}
		}
		row("all", b.Total)
		tw.Flush()
		fmt.Fprintf(w, "            answers to bots: p50 %s, p99 %s, max %s\n", fmtValue(b.AnswerMs.P50, "ms"), fmtValue(b.AnswerMs.P99, "ms"), fmtValue(b.AnswerMs.Max, "ms"))
	}
	if s := r.Slowloris; s != nil {
		fmt.Fprintf(w, "slowloris   %d sockets: %d open at the peak, %d at the end; %d opened in all, held p50 %.1f s, max %.1f s; %d answered, %d refused at once, %d connect errors\n",
			s.Sockets, s.PeakOpen, s.OpenAtEnd, s.Opened, s.HeldS.P50, s.HeldS.Max, s.Answered, s.Refused, s.ConnErrors)
	}
	if f := r.ConnFlood; f != nil {
		fmt.Fprintf(w, "conn flood  %d workers: %d connections opened and reset (%.0f/s), %d errors\n", f.Workers, f.Conns, f.PerS, f.Errors)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note        %s\n", n)
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		fmt.Fprintf(w, "bot errors  %s: %s\n", k, oneLine(r.ErrorSamples[k], 100))
	}
	if rep.Config.Listeners > 0 {
		rep.writeSideBySide(w)
	}
	if r.ServerLeadCPUMsPerS > 0 || r.ServerRunCPUMsPerS > 0 {
		fmt.Fprintf(w, "server CPU  idle %.1f ms/s", r.ServerIdleCPUMsPerS)
		if r.ServerLeadCPUMsPerS > 0 {
			fmt.Fprintf(w, "; attack alone (%.1f s): %.1f ms/s = +%.1f ms/s, %.1f%% of %d CPUs", r.LeadS, r.ServerLeadCPUMsPerS,
				r.ServerLeadCPUMsPerS-r.ServerIdleCPUMsPerS, (r.ServerLeadCPUMsPerS-r.ServerIdleCPUMsPerS)/10/float64(runtime.NumCPU()), runtime.NumCPU())
			if r.ServerCPUPerBotRequestUs > 0 {
				fmt.Fprintf(w, " (%.1f µs per bot request)", r.ServerCPUPerBotRequestUs)
			}
		}
		if r.ServerRunCPUMsPerS > 0 {
			fmt.Fprintf(w, "; whole attack: %.1f ms/s", r.ServerRunCPUMsPerS)
		}
		fmt.Fprintln(w)
	}
}

// writeSideBySide puts the legitimate listeners' outcomes next to the bots'.
func (rep *Report) writeSideBySide(w io.Writer) {
	l, cfg := rep.Listeners, rep.Config
	pct := func(n, of int64) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(max(of, 1))) }
	var queued, limited, solved, errs int64
	for k, v := range rep.Waits {
		switch {
		case strings.HasPrefix(k, "join: 202"):
			queued += v
		case strings.HasPrefix(k, "join: 401"):
			solved += v
		case strings.HasPrefix(k, "join: "):
			limited += v
		}
	}
	for _, v := range rep.Errors {
		errs += v
	}
	tw := newTab(w)
	if rep.Attack.Bots != nil {
		fmt.Fprintln(tw, "\nside by side\tlegitimate listeners\tbots\t")
	} else {
		fmt.Fprintln(tw, "\nlegitimate listeners\t\t")
	}
	var bots []string
	if b := rep.Attack.Bots; b != nil {
		bots = []string{fmt.Sprintf("%d requests (%.0f/s)", b.Sent, b.RateSent),
			fmt.Sprintf("served (200): %d (%.1f%%)", b.Served, b.ServedPct),
			fmt.Sprintf("waiting room (202), abandoned: %d (%.1f%%)", b.Queued, b.QueuedPct),
			fmt.Sprintf("refused: %d (%.1f%%)", b.Refused, b.RefusedPct),
			fmt.Sprintf("  401 %d, 403 %d, 429 %d, closed %d", b.Total["401"], b.Total["403"], b.Total["429"], b.Total["closed"]),
		}
	}
	legit := [][2]string{
		{"arrived", fmt.Sprintf("%d of %d", l.Started, cfg.Listeners)},
		{"joined", fmt.Sprintf("%d (%s)", l.Joined, pct(l.Joined, int64(cfg.Listeners)))},
		{"waited", fmt.Sprintf("%d × waiting room, %d × 429/503", queued, limited)},
		{"PoW solved", strconv.FormatInt(solved, 10)},
		{"got audio", fmt.Sprintf("%d (%s)", l.GotAudio, pct(l.GotAudio, int64(cfg.Listeners)))},
		{"stalls", fmt.Sprintf("%d on %d listeners", rep.Stalls.Events, rep.Stalls.Listeners)},
		{"errors", strconv.FormatInt(errs, 10)},
	}
	for i, row := range legit {
		bot := ""
		if i < len(bots) {
			bot = bots[i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", row[0], row[1], bot)
	}
	tw.Flush()
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// AttackFlags registers the attack's command-line flags on fs.
func AttackFlags(fs *flag.FlagSet, a *Attack) {
	fs.IntVar(&a.Botnet, "botnet", 0, "attack with this many bots, each from its own address of --bot-sources and on its own keep-alive connection (with --listeners 0: the attack alone, for --duration)")
	fs.Float64Var(&a.BotRate, "bot-rate", 0, "requests per second of all bots together, on a fixed schedule (default: 5 per bot)")
	fs.StringVar(&a.BotSources, "bot-sources", DefaultBotSources, "CIDR blocks or IPs the bots, the slowloris and the connection flood come from, a /24 at a time")
	fs.StringVar(&a.BotMix, "bot-mix", DefaultBotMix, "the bots' requests, kind=weight: join (POST join, no proof of work), noticket, forged (a ticket signed with another key) and replay (a valid ticket the bots took, from every bot); media requests alternate between the live Ogg stream and the HLS playlist")
	fs.BoolVar(&a.BotSolve, "bot-solve", false, "bots solve the join's proof of work and ask again, as a determined bot would (default: they give up on 401, as a cheap one would)")
	fs.DurationVar(&a.BotLead, "bot-lead", 0, "the attack runs alone this long before the listeners come: with --server-pid, the server's CPU then is the attack's cost")
	fs.IntVar(&a.Slowloris, "slowloris", 0, "hold this many sockets open with a request header that never ends (a byte every --slowloris-every), reopening those the server cuts")
	fs.DurationVar(&a.SlowEvery, "slowloris-every", 3*time.Second, "how often a slowloris socket sends another header byte")
	fs.IntVar(&a.ConnFlood, "conn-flood", 0, "this many workers open connections and reset them at once, in a loop, for the whole run")
}

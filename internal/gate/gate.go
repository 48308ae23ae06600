package gate

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/onair-live/onair/internal/telemetry"
)

// Mode is how suspicious the gate is.
type Mode string

// The modes: normal; under attack (joins need proof of work); auto (the
// detector switches between the two).
const (
	Normal      Mode = "normal"
	UnderAttack Mode = "under_attack"
	Auto        Mode = "auto"
)

// Config sets the gate's budgets. Zero values take defaults sized for one
// node of this project's reference machine.
type Config struct {
	Conns ConnLimits
	// Per-source request budgets (per second, burst), per address and per prefix.
	JoinRate, JoinPrefixRate   float64 // default 2/s per IP, 50/s per prefix
	MediaRate, MediaPrefixRate float64 // default 20/s per IP, 2000/s per prefix
	PageRate, PagePrefixRate   float64 // default 10/s, 500/s
	MaxKeys                    int     // rate-limit table size (default 1,000,000)
	Admit                      AdmitConfig
	// Capacity is how many listeners this node holds; joins wait beyond it.
	Capacity int
	// PoW difficulty in leading zero bits: base, and the most it rises to.
	PoWBase, PoWMax int
	Mode            Mode
	// TrustedProxies may say whom they forward for (X-Forwarded-For).
	TrustedProxies []netip.Prefix
	// Line is the waiting line joins draw numbers from (nil: the node's
	// own Admission, one line for the node).
	Line Line
	// TokenKey is a secret every edge of a cluster shares (at least 16
	// bytes): the key and epoch that sign queue tokens and proof-of-work
	// challenges derive from it, so one edge's are valid on any other and
	// across a restart. Nil: a random key per process (its tokens die with
	// it). Replays are still refused per edge (see Admit).
	TokenKey []byte
	// Telemetry counts every decision for the node's receipts (nil: a
	// collector of the gate's own, whose records go nowhere).
	Telemetry *telemetry.Collector
}

func (c *Config) defaults() {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.JoinRate, 2)
	def(&c.JoinPrefixRate, 50)
	def(&c.MediaRate, 20)
	def(&c.MediaPrefixRate, 2000)
	def(&c.PageRate, 10)
	def(&c.PagePrefixRate, 500)
	if c.MaxKeys <= 0 {
		c.MaxKeys = 1_000_000
	}
	if c.PoWBase <= 0 {
		c.PoWBase = 16
	}
	if c.PoWMax < c.PoWBase {
		c.PoWMax = c.PoWBase + 6
	}
	if c.Mode == "" {
		c.Mode = Auto
	}
	if c.Telemetry == nil {
		c.Telemetry = telemetry.New("", nil, nil, nil)
	}
}

// Load is what the node reports about itself each control period.
type Load struct {
	Listeners int
	CPU       float64 // busy share of the node's cores, 0..1
}

// Gate holds every stage's state. It is safe for concurrent use.
type Gate struct {
	cfg    Config
	limits map[Class][2]*Limiter // per IP, per prefix
	admit  *Admission            // this node's own controller: its admit rate, its line by default
	line   Line
	sign   *signer
	ids    atomic.Uint64 // challenge ids, from a random start: unique across edges sharing a key
	spent  spentSet
	replay replayGuard // the networks each ticket was used from
	load   func() Load

	mode     atomic.Value // Mode set by the operator
	attacked atomic.Bool  // the detector's verdict (in auto mode)
	det      detector
	reason   atomic.Value // string: why the gate is in its state
	changed  atomic.Bool  // the state changed since the last telemetry second
	tel      *telemetry.Collector

	mu   sync.Mutex
	last Load
}

// Class is a budget: what kind of request it is.
type Class string

// The request classes with separate budgets.
const (
	ClassJoin  Class = "join"
	ClassMedia Class = "media"
	ClassPage  Class = "page"
)

// New returns a gate; load reports the node's state once per second to the
// admission controller (nil: never overloaded). It panics on a TokenKey that
// CheckTokenKey refuses: check configuration with it first.
func New(cfg Config, load func() Load) *Gate {
	cfg.defaults()
	sign, err := signerFor(cfg.TokenKey)
	if err != nil {
		panic(err)
	}
	g := &Gate{cfg: cfg, sign: sign, load: load, admit: NewAdmission(cfg.Admit, time.Now()), tel: cfg.Telemetry}
	var start [8]byte
	_, _ = rand.Read(start[:])
	// Below the spent set's queue bit, and far from any other edge's ids.
	g.ids.Store(binary.BigEndian.Uint64(start[:]) &^ (queueBit | 1<<62))
	g.line = cfg.Line
	if g.line == nil {
		g.line = localLine{g.admit}
	}
	g.det.seed = maphash.MakeSeed()
	g.reason.Store("mode " + string(cfg.Mode) + " at start")
	per := func(ip, prefix float64) [2]*Limiter {
		return [2]*Limiter{NewLimiter(ip, int(max(ip*5, 10)), cfg.MaxKeys), NewLimiter(prefix, int(prefix*5), cfg.MaxKeys/16)}
	}
	g.limits = map[Class][2]*Limiter{
		ClassJoin:  per(cfg.JoinRate, cfg.JoinPrefixRate),
		ClassMedia: per(cfg.MediaRate, cfg.MediaPrefixRate),
		ClassPage:  per(cfg.PageRate, cfg.PagePrefixRate),
	}
	g.mode.Store(cfg.Mode)
	return g
}

// Run drives the admission controller and the attack detector until stop.
func (g *Gate) Run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var cpu cpuMeter
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			l := Load{}
			if g.load != nil {
				l = g.load()
			}
			l.CPU = cpu.sample(now)
			g.control(l, now)
		}
	}
}

// control is one control period: AIMD on headroom, and the detector.
func (g *Gate) control(l Load, now time.Time) {
	g.mu.Lock()
	g.last = l
	g.mu.Unlock()
	full := g.cfg.Capacity > 0 && l.Listeners >= g.cfg.Capacity
	g.admit.Pause(full)
	g.admit.Feedback(l.CPU < 0.85 && !full)
	g.line.Follow(g.admit.Rate(), full)
	metricRate.Set(g.admit.Rate())
	metricWaiting.Set(float64(g.line.Waiting()))
	if on := g.det.tick(now); on != g.attacked.Load() {
		g.attacked.Store(on)
		metricModeChanges.WithLabelValues(strconv.FormatBool(on)).Inc()
		g.setReason("detector: " + g.det.why())
	}
	metricUnderAttack.Set(b2f(g.UnderAttack()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// AdmitRate is this node's own admit rate (its controller's), for its load
// report: a shared line moves at the sum of its edges'.
func (g *Gate) AdmitRate() float64 { return g.admit.Rate() }

// SetMode is the operator's switch.
func (g *Gate) SetMode(m Mode) bool {
	switch m {
	case Normal, UnderAttack, Auto:
		g.mode.Store(m)
		metricModeChanges.WithLabelValues(string(m)).Inc()
		g.setReason("operator set mode " + string(m))
		return true
	}
	return false
}

func (g *Gate) setReason(why string) {
	g.reason.Store(why)
	g.changed.Store(true)
}

// Reason says why the gate is in its state, and whether that changed since
// the last call (once a second, for the receipts).
func (g *Gate) Reason() (why string, changed bool) {
	return g.reason.Load().(string), g.changed.Swap(false)
}

// UnderAttack reports whether joins need proof of work now.
func (g *Gate) UnderAttack() bool {
	switch g.mode.Load().(Mode) {
	case UnderAttack:
		return true
	case Auto:
		return g.attacked.Load()
	}
	return false
}

// Limit wraps next with the per-source budgets of class: 429 and
// Retry-After over budget, before anything else is looked at.
func (g *Gate) Limit(class Class, next http.Handler) http.Handler {
	lim := g.limits[class]
	// A request within its budget is counted for the receipts only: the
	// metrics and the detector count decisions that say something.
	passed := g.tel.Tally.Counter(telemetry.Decision{Stage: string(class), Outcome: "passed", Reason: "budget"})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := RequestSource(r, g.cfg.TrustedProxies)
		g.tel.Sources.Request(src.Addr, src.Prefix)
		if class == ClassJoin {
			g.tel.Sources.JoinAttempt(src.Addr, src.Prefix)
		}
		now := time.Now()
		okIP, waitIP := lim[0].Allow(src.Addr, now)
		okPrefix, waitPrefix := true, time.Duration(0)
		if okIP {
			okPrefix, waitPrefix = lim[1].Allow(src.Prefix.Addr(), now)
		}
		if !okIP || !okPrefix {
			reason := "rate_ip"
			if okIP {
				reason = "rate_prefix"
			}
			g.countFrom(src, string(class), "rejected", reason)
			secs := int(max(waitIP, waitPrefix)/time.Second) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "too many requests from your network; retry later", "code": reason, "retry_after": secs})
			return
		}
		passed.Add(1)
		next.ServeHTTP(w, r)
	})
}

// count records one decision of a stage (for metrics, the receipts and the
// detector).
func (g *Gate) count(stage, outcome, reason string) { g.countFrom(Source{}, stage, outcome, reason) }

// countFrom is count for a decision about a request from src (a reject's
// network tells the detector how spread an attack is).
func (g *Gate) countFrom(src Source, stage, outcome, reason string) {
	metricDecisions.WithLabelValues(stage, outcome, reason).Inc()
	g.tel.Tally.Add(telemetry.Decision{Stage: stage, Outcome: outcome, Reason: reason}, 1)
	if outcome == "rejected" {
		g.det.reject(src.Prefix)
	} else {
		g.det.pass()
	}
}

// Count lets the server report decisions made outside the gate (tickets).
func (g *Gate) Count(stage, outcome, reason string) { g.count(stage, outcome, reason) }

// CountFrom is Count for a decision about request r.
func (g *Gate) CountFrom(r *http.Request, stage, outcome, reason string) {
	g.countFrom(RequestSource(r, g.cfg.TrustedProxies), stage, outcome, reason)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// cpuMeter turns process CPU time into a busy share of the machine.
type cpuMeter struct {
	lastCPU  time.Duration
	lastWall time.Time
}

func (c *cpuMeter) sample(now time.Time) float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	defer func() { c.lastCPU, c.lastWall = cpu, now }()
	if c.lastWall.IsZero() {
		return 0
	}
	return float64(cpu-c.lastCPU) / float64(now.Sub(c.lastWall)) / float64(numCPU())
}

// queueParam reads a queue token from the request (header, query or cookie).
func queueParam(r *http.Request, space string) string {
	if v := r.Header.Get("Onair-Queue"); v != "" {
		return v
	}
	if v := r.URL.Query().Get("q"); v != "" {
		return v
	}
	if c, err := r.Cookie(QueueCookie(space)); err == nil {
		return c.Value
	}
	return ""
}

// QueueCookie names the cookie that keeps a place in a space's line.
func QueueCookie(space string) string { return "onair_queue_" + space }

// powParam reads "challenge:nonce" from the Onair-PoW header or ?pow=.
func powParam(r *http.Request) (string, string) {
	v := r.Header.Get("Onair-PoW")
	if v == "" {
		v = r.URL.Query().Get("pow")
	}
	c, n, _ := strings.Cut(v, ":")
	return c, n
}

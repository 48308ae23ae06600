package line

import (
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/gate"
)

// ClientConfig configures an edge's view of the shared line.
type ClientConfig struct {
	// Key is the cluster's token key (the gates' TokenKey).
	Key []byte
	// Timeout bounds a request to the keeper (default 500 ms): long enough
	// that a machine a surge saturates answers late rather than not at all
	// (a timed-out draw is asked again: work done twice where it is short).
	Timeout time.Duration
	// Probe is how often, while fallen back, the keeper is pinged (default
	// 250 ms): the first answer brings the edge back to the shared line.
	Probe time.Duration
	// Patience is how long the keeper's requests may keep timing out before
	// the edge falls back (default 3 s; see bearWith). A keeper that died is
	// known at once (no responders): this is for one that hangs.
	Patience time.Duration
	// Fallback bounds the local line (give it the gate's own Admit); its
	// rate follows the gate's controller (Follow).
	Fallback gate.AdmitConfig
	Log      *slog.Logger
}

// Client is a gate.Line for an edge: places come from the keeper's line
// for the space, or, while the keeper does not answer, from a local line
// of the edge's own, as a lone node's.
type Client struct {
	nc    *nats.Conn
	cfg   ClientConfig
	local tagged
	macs  sync.Pool
	down  atomic.Bool
	// failing is when the keeper's requests began timing out (unix ns; 0
	// while it answers).
	failing atomic.Int64
	stop    chan struct{}
	once    sync.Once

	shared, locals, fallbacks atomic.Uint64

	mu   sync.Mutex
	seen map[string]lineSeen // each space's line as the keeper last told
}

type lineSeen struct {
	waiting uint64
	rate    float64
	at      time.Time
	served  uint64 // number − position as the keeper last told: ahead of n are n − served
}

// NewClient returns the edge's line over nc.
func NewClient(nc *nats.Conn, cfg ClientConfig) (*Client, error) {
	key, err := macKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.Probe <= 0 {
		cfg.Probe = 250 * time.Millisecond
	}
	if cfg.Patience <= 0 {
		cfg.Patience = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{nc: nc, cfg: cfg, local: newTagged(cfg.Fallback, false, time.Now()), stop: make(chan struct{}), seen: make(map[string]lineSeen)}
	c.macs.New = func() any { return newMacer(key) }
	return c, nil
}

// Close stops probing for the keeper.
func (c *Client) Close() { c.once.Do(func() { close(c.stop) }) }

// Join implements gate.Line.
func (c *Client) Join(space string, now time.Time) gate.Ticket {
	if r, ok := c.ask(space, kindDraw, 0, now); ok == answered {
		return r.ticket
	}
	return c.decideLocally(c.local.join(now))
}

// Check implements gate.Line. A place in the local line stays there (the
// fallback keeps moving after the keeper is back); a place in the keeper's
// line the keeper cannot be asked about is stale: its holder draws again
// here, rather than wait on a line nobody moves. While the keeper is only
// slow, the holder keeps its place and asks again in a second: asking
// twice could find the place claimed by the first ask's lost answer.
func (c *Client) Check(space string, n uint64, now time.Time) gate.Ticket {
	if c.local.owns(n) {
		return c.decideLocally(c.local.check(n, now))
	}
	if n&keptBit == 0 { // another edge's fallback, or a lone node's
		return gate.Ticket{Number: n, Stale: true}
	}
	switch r, ok := c.ask(space, kindCheck, n, now); ok {
	case answered:
		return r.ticket
	case slow:
		return c.guess(space, n, now)
	}
	return c.decideLocally(gate.Ticket{Number: n, Stale: true})
}

func (c *Client) decideLocally(t gate.Ticket) gate.Ticket {
	c.locals.Add(1)
	localDecisions.Inc()
	return t
}

// asked is how a request to the keeper went.
type asked int

const (
	answered asked = iota
	slow           // timed out, for less than cfg.Patience so far
	down           // the keeper is not asked (fallen back, full, or gone)
)

// ask puts a request to the keeper, unless the edge has fallen back. A
// draw that times out is asked again (a number drawn for a lost answer is
// passed on by the claim audit); a check or a spend is not (the first may
// have claimed or spent it).
func (c *Client) ask(space string, kind byte, n uint64, now time.Time) (reply, asked) {
	if c.down.Load() || !subjectToken(space) {
		return reply{}, down
	}
	r, err := c.request(subjectPrefix+space, kind, n, now)
	for err != nil && c.bearWith(err) {
		metricRetries.Inc()
		if kind != kindDraw {
			return reply{}, slow
		}
		r, err = c.request(subjectPrefix+space, kind, n, time.Now())
	}
	if err != nil {
		c.fallBack(err)
		return reply{}, down
	}
	c.failing.Store(0)
	if r.status == statusFull {
		return reply{}, down
	}
	c.shared.Add(1)
	sharedDecisions.Inc()
	if kind == kindSpend {
		return r, answered
	}
	c.mu.Lock()
	if len(c.seen) > 4096 {
		clear(c.seen)
	}
	c.seen[space] = lineSeen{waiting: r.waiting, rate: r.rate, at: now, served: r.ticket.Number - r.ticket.Position}
	c.mu.Unlock()
	return r, answered
}

// bearWith says whether err is a timeout of a keeper that has timed out
// for less than cfg.Patience: a timeout is not proof the keeper is gone
// (under a surge the machine or the bus may be slow for a moment), and an
// edge that fell back at its first one admitted from its own line beside
// the keeper's, which went on admitting at every edge's rate. "No
// responders" (no keeper subscribed) is proof: it falls back at once.
func (c *Client) bearWith(err error) bool {
	if !errors.Is(err, nats.ErrTimeout) {
		return false
	}
	now := time.Now()
	c.failing.CompareAndSwap(0, now.UnixNano())
	return now.Sub(time.Unix(0, c.failing.Load())) < c.cfg.Patience
}

// guess is a place the keeper could not be asked about for a moment: the
// same number, with its position and wait from the keeper's last word on
// the line (a second at least).
func (c *Client) guess(space string, n uint64, now time.Time) gate.Ticket {
	c.mu.Lock()
	s, ok := c.seen[space]
	c.mu.Unlock()
	pos, eta := uint64(1), 1.0
	if ok {
		if ahead := math.Ceil(float64(int64(n-s.served)) - s.rate*now.Sub(s.at).Seconds()); ahead >= 1 {
			pos = uint64(ahead)
		}
		// The wait the place has ahead, not a second's: telling a crowd to
		// ask again at once is what keeps a slow machine slow.
		if s.rate > 0 {
			eta = max(eta, float64(pos)/s.rate)
		}
	}
	return gate.Ticket{Number: n, Position: pos, ETA: eta}
}

// Spend implements gate.Spender: a solved challenge lets one join through
// across the edges. While the keeper cannot be asked, the edge's own
// spent set alone holds.
func (c *Client) Spend(space string, id uint64, now time.Time) bool {
	r, ok := c.ask(space, kindSpend, id, now)
	return ok != answered || r.status != statusClaimed
}

// subjectToken says whether space can be one token of a subject.
func subjectToken(space string) bool {
	return space != "" && len(space) <= 255 && !strings.ContainsAny(space, ".*> \t\r\n")
}

func (c *Client) request(subject string, kind byte, n uint64, now time.Time) (reply, error) {
	m := c.macs.Get().(*macer)
	defer c.macs.Put(m)
	req := appendRequest(make([]byte, 0, requestLen), m, subject, kind, n, now)
	msg, err := c.nc.Request(subject, req, c.cfg.Timeout)
	if err != nil {
		return reply{}, err
	}
	r, err := decodeReply(m, req[requestLen-macLen:], msg.Data)
	if err != nil {
		drop("bad_reply")
	}
	return r, err
}

// fallBack turns the edge to its own line, once per outage, and probes
// until the keeper answers again.
func (c *Client) fallBack(err error) {
	if !c.down.CompareAndSwap(false, true) {
		return
	}
	c.fallbacks.Add(1)
	metricFallbacks.Inc()
	c.cfg.Log.Warn("line: the keeper of the shared line does not answer; admitting from this edge's own line until it does", "err", err)
	go c.probe()
}

func (c *Client) probe() {
	t := time.NewTicker(c.cfg.Probe)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			if _, err := c.request(pingSubject, kindPing, 0, now); err == nil {
				c.failing.Store(0)
				c.down.Store(false)
				c.cfg.Log.Info("line: the keeper answers again; back on the shared line")
				return
			}
			if c.nc.IsClosed() { // it will not come back
				return
			}
		}
	}
}

// Shared reports whether the edge draws from the keeper's line now.
func (c *Client) Shared() bool { return !c.down.Load() }

// Local reports whether the edge admits from its own line now: fallen
// back, or back on the shared line with its own line's waiters still to
// let in. Its load report says so, and the keeper leaves its rate out of
// the shared lines' pace meanwhile: otherwise the edge's rate is spent
// twice, once by its own line and once as its share of the keeper's.
func (c *Client) Local() bool { return c.down.Load() || c.local.adm.Waiting() > 0 }

// Stats counts the decisions made by each line, and the fallbacks.
type Stats struct {
	Shared, Local, Fallbacks uint64
}

// Stats returns the counts so far.
func (c *Client) Stats() Stats {
	return Stats{Shared: c.shared.Load(), Local: c.locals.Load(), Fallbacks: c.fallbacks.Load()}
}

// Waiting implements gate.Line: the waiting in the shared lines this edge
// heard of in the last seconds, and in its own.
func (c *Client) Waiting() uint64 {
	w, _ := c.sums()
	return w + c.local.adm.Waiting()
}

// Rate implements gate.Line: the shared lines' rates, or the edge's own
// while fallen back.
func (c *Client) Rate() float64 {
	if c.down.Load() {
		return c.local.adm.Rate()
	}
	_, r := c.sums()
	if r == 0 {
		return c.local.adm.Rate()
	}
	return r
}

// seenFor is how long the keeper's word about a line counts.
const seenFor = 10 * time.Second

func (c *Client) sums() (waiting uint64, rate float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, s := range c.seen {
		if now.Sub(s.at) < seenFor {
			waiting += s.waiting
			rate += s.rate
		}
	}
	return waiting, rate
}

// Follow implements gate.Line: the local line moves at the edge's own rate.
func (c *Client) Follow(rate float64, full bool) {
	c.local.adm.SetRate(rate)
	c.local.adm.Pause(full)
}

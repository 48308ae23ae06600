package line

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/gate"
)

// KeeperConfig configures the keeper of the lines.
type KeeperConfig struct {
	// Key is the cluster's token key (the gates' TokenKey).
	Key []byte
	// Capacity says, once a period, the sum of the edges' admit rates and
	// whether every edge is full (from their load reports). The lines with
	// people waiting share the rate; all full pauses them.
	Capacity func() (rate float64, allFull bool)
	// Admit bounds each line (default MaxRate 1,000,000: a sum of edges).
	Admit gate.AdmitConfig
	// Period is how often Capacity is asked (default 1 s).
	Period time.Duration
	// State is a KV bucket (History 1, TTL an hour or more, replicated)
	// where the lines' counters are saved each period, for a keeper that
	// takes over; nil: none, a new keeper starts the lines anew.
	State jetstream.KeyValue
	// MaxSpaces bounds the lines kept (default 10,000); past it, the edges
	// are told to decide a new space's joins locally.
	MaxSpaces int
	Log       *slog.Logger
}

// Keeper keeps one line per space for every edge: it runs on the active
// origin and answers draws and checks on onair.line.<space>.
type Keeper struct {
	nc   *nats.Conn
	cfg  KeeperConfig
	subs []*nats.Subscription
	stop chan struct{}
	once sync.Once
	done sync.WaitGroup

	mu    sync.Mutex // the lines and the MAC
	mac   *macer
	lines map[string]*spaceLine
	share float64 // each busy line's rate, as of the last period
	full  bool
	spent spentChallenges
}

// spaceLine is one space's line on the keeper.
type spaceLine struct {
	tagged
	claimed claimedSet
	used    time.Time  // the last request for it
	marks   []servedAt // the served mark each minute, for forgetting claims
	saved   lineState  // as last saved
	pace    uint64     // places drawn in the last period
	drawn   uint64     // the next place, at the last period
}

type servedAt struct {
	at     time.Time
	served uint64
}

// lineIdle is how long a line nobody waits in is kept after its last
// request: past any queue token's life, so dropping it forgets nothing a
// valid token could still ask about.
const lineIdle = time.Hour + 5*time.Minute

// NewKeeper subscribes and starts steering the lines' rates; Close stops it.
func NewKeeper(nc *nats.Conn, cfg KeeperConfig) (*Keeper, error) {
	key, err := macKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Capacity == nil {
		return nil, errors.New("line: keeper without a capacity callback")
	}
	if cfg.Admit.MaxRate <= 0 {
		cfg.Admit.MaxRate = 1_000_000
	}
	if cfg.Period <= 0 {
		cfg.Period = time.Second
	}
	if cfg.MaxSpaces <= 0 {
		cfg.MaxSpaces = 10_000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	k := &Keeper{nc: nc, cfg: cfg, mac: newMacer(key), lines: make(map[string]*spaceLine), stop: make(chan struct{})}
	k.steer(time.Now())
	if cfg.State != nil {
		k.load(time.Now())
	}
	for _, subj := range []string{subjectPrefix + "*", pingSubject} {
		s, err := nc.Subscribe(subj, k.handle)
		if err != nil {
			k.unsubscribe()
			return nil, err
		}
		k.subs = append(k.subs, s)
	}
	// The subscriptions are at the server before anyone is told the keeper
	// is up.
	if err := nc.Flush(); err != nil {
		k.unsubscribe()
		return nil, err
	}
	k.done.Add(1)
	go k.run()
	cfg.Log.Info("line: keeping the waiting lines", "server", nc.ConnectedUrlRedacted())
	return k, nil
}

func (k *Keeper) unsubscribe() {
	for _, s := range k.subs {
		_ = s.Unsubscribe()
	}
}

// Close stops answering (a standby that lost the lease, a shutdown): the
// edges fall back to their own lines until another keeper answers. It is
// idempotent.
func (k *Keeper) Close() {
	k.once.Do(func() {
		k.unsubscribe()
		close(k.stop)
		k.done.Wait()
	})
}

func (k *Keeper) run() {
	defer k.done.Done()
	t := time.NewTicker(k.cfg.Period)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case now := <-t.C:
			k.steer(now)
		}
	}
}

// steer sets every line's rate from the edges' capacity, and forgets what
// no valid token can ask about any more.
func (k *Keeper) steer(now time.Time) {
	rate, full := k.cfg.Capacity()
	k.mu.Lock()
	puts := k.adjust(rate, full, now)
	k.mu.Unlock()
	if k.cfg.State != nil {
		k.save(puts)
	}
}

// adjust is steer under the lock; it returns the lines' counters to save.
func (k *Keeper) adjust(rate float64, full bool, now time.Time) map[string][]byte {
	busy := 0
	for space, l := range k.lines {
		if l.adm.Waiting() > 0 {
			busy++
		} else if now.Sub(l.used) > lineIdle {
			delete(k.lines, space)
		}
	}
	metricSpaces.Set(float64(len(k.lines)))
	k.spent.expire(now)
	share := rate / float64(max(busy, 1))
	k.share, k.full = share, full
	for _, l := range k.lines {
		l.adm.SetRate(share)
		l.adm.Pause(full)
		l.remember(now)
		next, _ := l.adm.Mark(now)
		l.pace, l.drawn = next-min(l.drawn, next), next
	}
	if k.cfg.State == nil {
		return nil
	}
	return k.saves(now)
}

// remember notes the served mark once a minute and forgets the claims of
// places served a queue token's life ago.
func (l *spaceLine) remember(now time.Time) {
	if n := len(l.marks); n == 0 || now.Sub(l.marks[n-1].at) >= time.Minute {
		_, served := l.adm.Mark(now)
		l.marks = append(l.marks, servedAt{at: now, served: served})
	}
	i := 0
	for ; i < len(l.marks) && now.Sub(l.marks[i].at) > lineIdle; i++ {
		l.claimed.forget(l.marks[i].served)
	}
	l.marks = l.marks[i:]
}

// settled is the served mark a minute or more ago (0: none known).
func (l *spaceLine) settled(now time.Time) uint64 {
	for i := len(l.marks) - 1; i >= 0; i-- {
		if now.Sub(l.marks[i].at) >= time.Minute {
			return l.marks[i].served
		}
	}
	return l.claimed.base
}

// handle answers one request; anything malformed or foreign is counted
// and dropped without an answer.
func (k *Keeper) handle(m *nats.Msg) {
	now := time.Now()
	q, err := decodeRequest(m.Data)
	space := strings.TrimPrefix(m.Subject, subjectPrefix)
	switch {
	case err != nil || (m.Subject != pingSubject && !subjectToken(space)):
		drop("malformed")
		return
	case m.Reply == "":
		drop("no_reply")
		return
	case (q.kind == kindPing) != (m.Subject == pingSubject):
		drop("malformed")
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := verify(k.mac, m.Subject, m.Data, q, now); err != nil {
		drop(map[bool]string{true: "foreign", false: "stale"}[err == errMAC])
		return
	}
	var r reply
	switch {
	case q.kind == kindSpend:
		r = k.spent.spend(q.number, now)
	case q.kind != kindPing:
		if l := k.line(space, now); l != nil {
			r = l.answer(q, now)
		} else {
			metricRefused.Inc()
			r.status = statusFull
		}
	}
	metricRequests.WithLabelValues(kindName[q.kind]).Inc()
	_ = m.Respond(appendReply(make([]byte, 0, replyLen), k.mac, q.mac, r))
}

var kindName = map[byte]string{kindDraw: "draw", kindCheck: "check", kindPing: "ping", kindSpend: "spend"}

// line is space's line, made on first use (nil: too many spaces).
func (k *Keeper) line(space string, now time.Time) *spaceLine {
	l := k.lines[space]
	if l == nil {
		if len(k.lines) >= k.cfg.MaxSpaces {
			return nil
		}
		l = &spaceLine{tagged: newTagged(k.cfg.Admit, true, now)}
		// Until the next period, a new line moves at the last share.
		l.adm.SetRate(k.share)
		l.adm.Pause(k.full)
		k.lines[space] = l
		metricSpaces.Set(float64(len(k.lines)))
	}
	l.used = now
	return l
}

// answer draws or checks a place; a place admitted is claimed, once.
func (l *spaceLine) answer(q request, now time.Time) reply {
	var t gate.Ticket
	if q.kind == kindDraw {
		t = l.join(now)
	} else {
		t = l.check(q.number, now)
	}
	r := reply{ticket: t, waiting: l.adm.Waiting(), rate: l.adm.Rate()}
	switch {
	case t.Stale:
		r.status = statusStale
	case t.Position == 0 && !l.claimed.claim(t.Number&seqMask):
		r.status, r.ticket.Claimed = statusClaimed, true
	}
	return r
}

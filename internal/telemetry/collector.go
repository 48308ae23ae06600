package telemetry

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// Sink keeps entries: the receipts log.
type Sink interface {
	Append(entry []byte) (int64, error)
}

// Collector is a node's telemetry: the counters its stages add to as they
// decide, and the loop that closes each second into a Record for the sink.
type Collector struct {
	Name    string
	Tally   Tally
	Flows   Flows
	Sources *Sources
	// Now is the node's clock for the seconds it closes and the events it
	// stamps (time.Now if nil; tests set a skewed one).
	Now func() time.Time

	sink Sink
	log  *slog.Logger
	proc procMeter
	// closing is held while a second is closed: the ticker's and the
	// shutdown's last one must not interleave (the proc meter, the takes).
	closing sync.Mutex

	mu     sync.Mutex // the fill function, appends and the recent records
	fill   func(*Record)
	recent []Record // the last keepRecent seconds, oldest first, for the dashboard
	events []Event  // the last keepEvents events
}

// What the collector keeps in memory for the live dashboard.
const (
	keepRecent = 900
	keepEvents = 200
)

// Recent returns the records of the seconds after since (at most the last
// 15 minutes) and the recent show events.
func (c *Collector) Recent(since int64) ([]Record, []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.recent)
	for i > 0 && c.recent[i-1].T > since {
		i--
	}
	return append([]Record(nil), c.recent[i:]...), append([]Event(nil), c.events...)
}

func (c *Collector) keep(v any) {
	switch v := v.(type) {
	case Record:
		if len(c.recent) >= keepRecent {
			c.recent = append(c.recent[:0], c.recent[len(c.recent)-keepRecent+1:]...)
		}
		c.recent = append(c.recent, v)
	case Event:
		if len(c.events) >= keepEvents {
			c.events = append(c.events[:0], c.events[1:]...)
		}
		c.events = append(c.events, v)
	}
}

// New returns a collector for node name writing to sink (nil: the records
// are made and dropped, which keeps the counters' cost the same).
func New(name string, sink Sink, seen *SeenBefore, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.Default()
	}
	return &Collector{Name: name, Sources: NewSources(seen), sink: sink, log: log}
}

// OnSecond sets what fills the parts of a record that are state rather
// than counts (listeners, the fan-out, the gate), read once a second.
func (c *Collector) OnSecond(fill func(*Record)) {
	c.mu.Lock()
	c.fill = fill
	c.mu.Unlock()
}

func (c *Collector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run closes a record at every whole second until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	c.proc.sample(time.Now())
	for {
		now := c.now()
		next := now.Truncate(time.Second).Add(time.Second)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		c.Second(next.Unix() - 1)
	}
}

// Second closes second t now: takes the counts, fills the state, appends.
func (c *Collector) Second(t int64) Record {
	c.closing.Lock()
	defer c.closing.Unlock()
	r := c.record(t)
	c.append(r)
	return r
}

func (c *Collector) record(t int64) Record {
	n := c.Tally.Take()
	r := Record{V: 1, Kind: "second", T: t}
	r.Node = c.proc.sample(time.Now())
	r.Node.Name = c.Name
	r.Joins = Joins{
		Admitted: n.Sum("join", "admitted", ""), FromQueue: n.Sum("join", "admitted", "queue"),
		Renewed: n.Sum("join", "renewed", ""), Queued: n.Sum("join", "queued", ""),
		Challenged: n.Sum("join", "challenged", ""), Solved: n.Sum("pow", "passed", ""),
		Rejected: n.ByReason("join", "rejected"),
	}
	for reason, k := range n.ByReason("pow", "rejected") {
		r.Joins.Rejected["pow_"+reason] += k
	}
	r.Tickets = n.ByReason("ticket", "rejected")
	r.Conns = Conns{Accepted: n.Sum("conn", "accepted", ""), Refused: n.ByReason("conn", "rejected")}
	r.Requests = map[string]Outcomes{}
	for _, class := range []string{"join", "media", "page"} {
		r.Requests[class] = Outcomes{Passed: n.Sum(class, "passed", ""), Rejected: n.Sum(class, "rejected", "")}
	}
	r.Decisions = n.Flat()
	r.Sources = c.Sources.Take()
	r.Flows = c.Flows.take(t)
	r.Flows.Challenges = [2]int64{r.Joins.Challenged, r.Joins.Solved}
	r.Flows.Queue = [2]int64{r.Joins.Queued, r.Joins.FromQueue}
	c.mu.Lock()
	fill := c.fill
	c.mu.Unlock()
	if fill != nil {
		fill(&r)
	}
	return r
}

// Event logs a show event now.
func (c *Collector) Event(e Event) {
	now := c.now()
	e.V, e.Kind, e.Node = 1, "event", c.Name
	if e.TMS == 0 {
		e.TMS = now.UnixMilli()
	}
	e.T = e.TMS / 1000
	c.append(e)
}

func (c *Collector) append(v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keep(v)
	if c.sink == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("receipts: record", "err", err)
		return
	}
	if _, err := c.sink.Append(b); err != nil {
		c.log.Error("receipts: append", "err", err)
	}
}

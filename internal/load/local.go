package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// lstate is what the shared sweeper knows of a listener: its connection (to
// cut it when its time is up), when it leaves, and when it would stall.
type lstate struct {
	mu      sync.Mutex
	c       net.Conn
	stopped atomic.Bool
	end     atomic.Int64 // Unix ns the listener leaves (0: not arrived)
	// arrival is when the listener was due (Unix ns), set before its
	// goroutine starts: its waits count from then, so a generator that
	// falls behind its schedule (its cores short) does not hide the time.
	arrival  int64
	deadline atomic.Int64 // Unix ns it stalls if no audio arrives (0: not streaming)
	edge     atomic.Int32 // the edge it streams from now (edgeStats.idx; 0: none)
}

// attach makes c the listener's connection; false (and c closed) once the
// listener was stopped.
func (l *lstate) attach(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped.Load() {
		c.Close()
		return false
	}
	l.c = c
	return true
}

// stop cuts the listener: its blocked read returns at once.
func (l *lstate) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped.Swap(true) && l.c != nil {
		l.c.Close()
	}
}

// run is the listeners of one process.
type run struct {
	cfg     Config
	tgs     []target // the --target edges; joins go round-robin
	hosts   *hostChecks
	sources *Sources
	ls      []lstate

	started, joined, gotAudio, connected atomic.Int64
	completed, stallEvents               atomic.Int64
	listenerNs, bytes, skippedNs, reads  atomic.Int64
	requests, streams                    atomic.Int64
	errTotal, waitTotal                  atomic.Int64

	h     struct{ connect, join, first, g2g, stalls, stalled, rate, gap Hist }
	edges edgeSet
	fo    failoverCounts

	errMu   sync.Mutex
	errs    map[string]int64
	waits   map[string]int64
	samples map[string]string

	wg sync.WaitGroup
}

// global returns the run-wide index of local listener k.
func (r *run) global(k int) int {
	if r.cfg.ChildCount > 1 {
		return r.cfg.ChildIndex + k*r.cfg.ChildCount
	}
	return k
}

// fail counts an error of the given kind, keeping the first message of each.
func (r *run) fail(kind string, err error) {
	r.errTotal.Add(1)
	r.errMu.Lock()
	defer r.errMu.Unlock()
	r.errs[kind]++
	if _, ok := r.samples[kind]; !ok && err != nil {
		r.samples[kind] = err.Error()
	}
}

// waited counts a wait the server asked for (rate limit, waiting room,
// proof of work) that the listener honoured before asking again: not an
// error, but what a crowd meets.
func (r *run) waited(kind string, err error) {
	r.waitTotal.Add(1)
	r.errMu.Lock()
	defer r.errMu.Unlock()
	r.waits[kind]++
	if _, ok := r.samples[kind]; !ok && err != nil {
		r.samples[kind] = err.Error()
	}
}

// errClass names the kind of a network error.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local address/port"
	case errors.Is(err, syscall.EADDRINUSE):
		return "address in use"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "premature end"
	case errors.Is(err, errHeadTooBig), errors.Is(err, errBadHead), errors.Is(err, errBadChunk), errors.Is(err, errBodyTooBig):
		return "bad response"
	case errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

// Progress is a process's running totals, sent once a second.
type Progress struct {
	Elapsed     time.Duration `json:"elapsed"`
	Started     int64         `json:"started"`
	Joined      int64         `json:"joined"`
	GotAudio    int64         `json:"got_audio"`
	Connected   int64         `json:"connected"`
	StallEvents int64         `json:"stall_events"`
	StalledNow  int64         `json:"stalled_now"`
	Errors      int64         `json:"errors"`
	Waits       int64         `json:"waits"`
	Reconnects  int64         `json:"reconnects"`
	FailingOver int64         `json:"failing_over"`
	G2G         HistSnap      `json:"g2g"`
	CPU         int64         `json:"cpu_ns"`
	RSSKiB      int64         `json:"rss_kib"`
}

func (p *Progress) add(o Progress) {
	p.Started += o.Started
	p.Joined += o.Joined
	p.GotAudio += o.GotAudio
	p.Connected += o.Connected
	p.StallEvents += o.StallEvents
	p.StalledNow += o.StalledNow
	p.Errors += o.Errors
	p.Waits += o.Waits
	p.Reconnects += o.Reconnects
	p.FailingOver += o.FailingOver
	p.G2G.Merge(o.G2G)
	p.CPU += o.CPU
	p.RSSKiB += o.RSSKiB
}

// procResult is everything one process measured; results of several
// processes merge exactly.
type procResult struct {
	Started       int64               `json:"started"`
	Joined        int64               `json:"joined"`
	Streams       int64               `json:"streams"`
	GotAudio      int64               `json:"got_audio"`
	PeakConnected int64               `json:"peak_connected"`
	Completed     int64               `json:"completed"`
	StallEvents   int64               `json:"stall_events"`
	ListenerNs    int64               `json:"listener_ns"`
	Bytes         int64               `json:"bytes"`
	SkippedNs     int64               `json:"skipped_ns"`
	Reads         int64               `json:"reads"`
	Requests      int64               `json:"requests"`
	Hists         map[string]HistSnap `json:"hists"`
	Errors        map[string]int64    `json:"errors"`
	Waits         map[string]int64    `json:"waits"`
	ErrorSamples  map[string]string   `json:"error_samples"`
	Edges         []EdgeReport        `json:"edges"`
	Failover      FailoverReport      `json:"failover"`
	CPUNs         int64               `json:"cpu_ns"`
	RSSStartKiB   int64               `json:"rss_start_kib"`
	RSSPeakKiB    int64               `json:"rss_peak_kib"`
	ElapsedNs     int64               `json:"elapsed_ns"`
}

func (p *procResult) merge(o procResult) {
	p.Started += o.Started
	p.Joined += o.Joined
	p.Streams += o.Streams
	p.GotAudio += o.GotAudio
	p.PeakConnected += o.PeakConnected // peaks of the processes are near-simultaneous; the parent's timeline has the true peak
	p.Completed += o.Completed
	p.StallEvents += o.StallEvents
	p.ListenerNs += o.ListenerNs
	p.Bytes += o.Bytes
	p.SkippedNs += o.SkippedNs
	p.Reads += o.Reads
	p.Requests += o.Requests
	if p.Hists == nil {
		p.Hists = map[string]HistSnap{}
		p.Errors = map[string]int64{}
		p.Waits = map[string]int64{}
		p.ErrorSamples = map[string]string{}
	}
	for k, h := range o.Hists {
		m := p.Hists[k]
		m.Merge(h)
		p.Hists[k] = m
	}
	for k, v := range o.Errors {
		p.Errors[k] += v
	}
	for k, v := range o.Waits {
		p.Waits[k] += v
	}
	for k, v := range o.ErrorSamples {
		if _, ok := p.ErrorSamples[k]; !ok {
			p.ErrorSamples[k] = v
		}
	}
	p.Edges = mergeEdges(p.Edges, o.Edges)
	p.Failover.merge(o.Failover)
	p.CPUNs += o.CPUNs
	p.RSSStartKiB += o.RSSStartKiB
	p.RSSPeakKiB += o.RSSPeakKiB
	p.ElapsedNs = max(p.ElapsedNs, o.ElapsedNs)
}

// runLocal runs this process's share of the listeners. childOut, when set,
// receives the progress and the result as JSON lines (a child process);
// otherwise progress goes to the user.
func runLocal(ctx context.Context, cfg Config, tgs []target, opt Options, srv *serverSampler, childOut io.Writer) (procResult, []TimelinePoint, error) {
	r := &run{cfg: cfg, tgs: tgs, hosts: &hostChecks{allowRemote: cfg.AllowRemote}, errs: map[string]int64{}, waits: map[string]int64{}, samples: map[string]string{}}
	if cfg.Sources != "" {
		var err error
		if r.sources, err = ParseSources(cfg.Sources); err != nil {
			return procResult{}, nil, err
		}
	}
	n := cfg.Listeners
	if cfg.ChildCount > 1 {
		n = (cfg.Listeners - cfg.ChildIndex + cfg.ChildCount - 1) / cfg.ChildCount
	}
	r.ls = make([]lstate, n)

	self0 := selfSample()
	start := time.Now()
	if cfg.StartAt != 0 {
		start = time.Unix(0, cfg.StartAt)
	}
	end := start.Add(cfg.End())
	hard := start.Add(cfg.MaxTime)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	launched := make(chan struct{})
	go func() {
		defer close(launched)
		r.schedule(runCtx, start)
	}()
	allDone := make(chan struct{})
	go func() {
		<-launched
		r.wg.Wait()
		close(allDone)
	}()

	var mon *monitor
	if childOut == nil {
		mon = newMonitor(cfg, opt, srv, start)
	}
	enc := json.NewEncoder(childOut)
	var peak int64
	rssPeak := self0.RSSKiB
	tick := func(now time.Time) {
		stalledNow := r.sweep(now)
		c := r.connected.Load()
		peak = max(peak, c)
		self := selfSample()
		rssPeak = max(rssPeak, self.RSSKiB)
		p := Progress{Elapsed: now.Sub(start), Started: r.started.Load(), Joined: r.joined.Load(),
			GotAudio: r.gotAudio.Load(), Connected: c, StallEvents: r.stallEvents.Load(), StalledNow: stalledNow,
			Errors: r.errTotal.Load(), Waits: r.waitTotal.Load(), Reconnects: r.fo.reconnects.Load(),
			FailingOver: r.fo.failingNow.Load(), G2G: r.h.g2g.Snapshot(), CPU: int64(self.CPU - self0.CPU), RSSKiB: self.RSSKiB}
		if childOut != nil {
			_ = enc.Encode(childLine{Progress: &p})
		} else {
			mon.tick(now, p)
		}
	}

	// The first tick comes a second after the start, on the shared clock.
	t := time.NewTimer(time.Until(start.Add(time.Second)))
	defer t.Stop()
	next := start.Add(time.Second)
	interrupted := false
loop:
	for {
		select {
		case <-t.C:
			now := time.Now()
			tick(now)
			if !now.Before(end) || !now.Before(hard) {
				break loop
			}
			for !next.After(now) {
				next = next.Add(time.Second)
			}
			t.Reset(time.Until(next))
		case <-allDone:
			tick(time.Now())
			break loop
		case <-ctx.Done():
			interrupted = true
			break loop
		}
	}
	cancel()
	<-launched
	for i := range r.ls {
		r.ls[i].stop()
	}
	waitTimeout(&r.wg, 5*time.Second)
	if interrupted {
		tick(time.Now())
	}
	if mon != nil {
		mon.finish()
	}
	self1 := selfSample()
	res := procResult{Started: r.started.Load(), Joined: r.joined.Load(), Streams: r.streams.Load(), GotAudio: r.gotAudio.Load(),
		PeakConnected: peak, Completed: r.completed.Load(), StallEvents: r.stallEvents.Load(),
		ListenerNs: r.listenerNs.Load(), Bytes: r.bytes.Load(), SkippedNs: r.skippedNs.Load(), Reads: r.reads.Load(),
		Requests: r.requests.Load(),
		Hists: map[string]HistSnap{"connect": r.h.connect.Snapshot(), "join": r.h.join.Snapshot(),
			"first_audio": r.h.first.Snapshot(), "g2g": r.h.g2g.Snapshot(), "stalls": r.h.stalls.Snapshot(),
			"stalled": r.h.stalled.Snapshot(), "rate": r.h.rate.Snapshot(), "gap": r.h.gap.Snapshot()},
		Edges: r.edges.reports(), Failover: r.fo.report(!cfg.NoReconnect),
		CPUNs: int64(self1.CPU - self0.CPU), RSSStartKiB: self0.RSSKiB, RSSPeakKiB: max(rssPeak, self1.RSSKiB),
		ElapsedNs: int64(time.Since(start))}
	r.errMu.Lock() // copies: a listener stuck past the wait may still count
	res.Errors, res.Waits, res.ErrorSamples = maps.Clone(r.errs), maps.Clone(r.waits), maps.Clone(r.samples)
	r.errMu.Unlock()
	if childOut != nil {
		_ = enc.Encode(childLine{Result: &res})
		return res, nil, nil
	}
	return res, mon.timeline, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// schedule starts each listener at its arrival time.
func (r *run) schedule(ctx context.Context, start time.Time) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for k := range r.ls {
		g := r.global(k)
		at := start.Add(Arrival(r.cfg.Shape, r.cfg.Window, g, r.cfg.Listeners))
		if d := time.Until(at); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		stay := r.cfg.Duration
		if r.cfg.Patience > 0 {
			stay = r.cfg.Patience // until it gets in (join sets its stay then)
		}
		r.ls[k].end.Store(at.Add(stay).UnixNano())
		r.ls[k].arrival = at.UnixNano()
		r.wg.Add(1)
		go r.listen(k, g)
	}
}

// sweep runs once a second over every listener: it counts those stalled
// right now and cuts those whose time is up but that are blocked without
// data (those receiving data leave by themselves).
func (r *run) sweep(now time.Time) (stalled int64) {
	ns := now.UnixNano()
	onEdge := make([]int64, len(r.edges.all()))
	for i := range r.ls {
		l := &r.ls[i]
		if d := l.deadline.Load(); d != 0 && ns > d {
			stalled++
		}
		if e := int(l.edge.Load()); e > 0 && e <= len(onEdge) {
			onEdge[e-1]++
		}
		if e := l.end.Load(); e != 0 && ns > e+int64(500*time.Millisecond) && !l.stopped.Load() {
			l.stop()
		}
	}
	r.edges.sweepPeaks(onEdge)
	return stalled
}

// childLine is one line a child process writes.
type childLine struct {
	Progress *Progress   `json:"progress,omitempty"`
	Result   *procResult `json:"result,omitempty"`
}

// RunChild runs a child's share (cfg.ChildIndex of cfg.ChildCount) and
// writes its progress and result to out as JSON lines.
func RunChild(ctx context.Context, cfg Config, out io.Writer) error {
	cfg.Defaults()
	tgs, err := cfg.Validate()
	if err != nil {
		return err
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	_, _, err = runLocal(ctx, cfg, tgs, Options{}, nil, out)
	return err
}

// stderr is where warnings go (a variable for tests).
var stderr io.Writer = os.Stderr

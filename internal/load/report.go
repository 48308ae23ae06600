package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured; --json writes it as is.
type Report struct {
	Config          Config             `json:"config"`
	Space           SpaceInfo          `json:"space"`
	Start           time.Time          `json:"start"`
	ElapsedS        float64            `json:"elapsed_s"`
	Listeners       ListenerCounts     `json:"listeners"`
	Metrics         map[string]Summary `json:"metrics"`
	Stalls          StallReport        `json:"stalls"`
	SkippedS        float64            `json:"skipped_s"` // audio the server skipped listeners past
	Errors          map[string]int64   `json:"errors"`
	Waits           map[string]int64   `json:"waits"` // waits the server asked for and listeners honoured
	ErrorSamples    map[string]string  `json:"error_samples,omitempty"`
	ListenerSeconds float64            `json:"listener_seconds"`
	Bytes           int64              `json:"bytes"`
	Client          ClientReport       `json:"client"`
	Server          *ServerReport      `json:"server,omitempty"`
	Timeline        []TimelinePoint    `json:"timeline"`
	Attack          *AttackReport      `json:"attack,omitempty"`
	// By the edge listeners streamed from (report_edges.go), and how they
	// came back when a stream was lost.
	Edges    []EdgeReport   `json:"edges"`
	Failover FailoverReport `json:"failover"`
}

// SpaceInfo is what the preflight join said of the space.
type SpaceInfo struct {
	State string `json:"state"`
	Title string `json:"title"`
}

// ListenerCounts follows the listeners through the run.
type ListenerCounts struct {
	Target        int   `json:"target"`
	Started       int64 `json:"started"`
	Joined        int64 `json:"joined"`
	Streams       int64 `json:"streams"` // streams opened: each listener's first, and one per re-join that got one
	GotAudio      int64 `json:"got_audio"`
	PeakConnected int64 `json:"peak_connected"`
	Completed     int64 `json:"completed"` // stayed their whole time
}

// StallReport sums the stalls.
type StallReport struct {
	ThresholdS float64 `json:"threshold_s"`
	Events     int64   `json:"events"`
	Listeners  int64   `json:"listeners"` // listeners with at least one stall
	Seconds    float64 `json:"seconds"`   // stalled, all listeners together
}

// ClientReport is the load generator's own cost.
type ClientReport struct {
	Procs                  int     `json:"procs"`
	CPUSeconds             float64 `json:"cpu_s"`
	CPUPerListenerSecondUs float64 `json:"cpu_per_listener_second_us"`
	// Reads that returned data, per listener-second while streaming: for
	// Ogg, about the server's writes per listener-second; the client's CPU
	// is mostly a cost per read.
	ReadsPerListenerSecond float64 `json:"reads_per_listener_second"`
	// HTTP requests sent per listener-second while streaming (the join
	// and the first playlist load are not counted): HLS's request rate.
	RequestsPerListenerSecond float64 `json:"requests_per_listener_second"`
	CPUPerReadUs              float64 `json:"cpu_per_read_us"`
	// At full load only (the seconds with at least 99% of the peak
	// connected): the streaming cost without the joins.
	FullLoadCPUPerListenerSecondUs float64 `json:"full_load_cpu_per_listener_second_us"`
	RSSStartKiB                    int64   `json:"rss_start_kib"`
	RSSPeakKiB                     int64   `json:"rss_peak_kib"`
	RSSPerListenerKiB              float64 `json:"rss_per_listener_kib"`
}

// ServerReport is the server's cost, from /proc.
type ServerReport struct {
	PID                int     `json:"pid"`
	IdleCPUPerSecondMs float64 `json:"idle_cpu_ms_per_s"` // before the run, with no load
	CPUSeconds         float64 `json:"cpu_s"`             // during the run
	// Per listener-second over the whole run, and at full load only (the
	// seconds with at least 99% of the peak connected); net: less the idle rate.
	CPUPerListenerSecondUs         float64 `json:"cpu_per_listener_second_us"`
	FullLoadCPUPerListenerSecondUs float64 `json:"full_load_cpu_per_listener_second_us"`
	FullLoadNetCPUPerListenerSecUs float64 `json:"full_load_net_cpu_per_listener_second_us"`
	FullLoadSeconds                float64 `json:"full_load_s"`
	RSSBeforeKiB                   int64   `json:"rss_before_kib"`
	RSSPeakKiB                     int64   `json:"rss_peak_kib"` // at full load
	RSSPerListenerKiB              float64 `json:"rss_per_listener_kib"`
	// Settled: at the last second of full load, once the arrivals' garbage
	// may have been collected and returned (the peak is often the arrivals).
	RSSSettledKiB            int64   `json:"rss_settled_kib"`
	RSSSettledPerListenerKiB float64 `json:"rss_settled_per_listener_kib"`
	Error                    string  `json:"error,omitempty"`
}

// TimelinePoint is one second of the run.
type TimelinePoint struct {
	T            float64 `json:"t"`
	Started      int64   `json:"started"`
	Joined       int64   `json:"joined"`
	GotAudio     int64   `json:"got_audio"`
	Connected    int64   `json:"connected"`
	StalledNow   int64   `json:"stalled_now"`
	StallEvents  int64   `json:"stall_events"`
	Errors       int64   `json:"errors"`
	Waits        int64   `json:"waits"`
	Reconnects   int64   `json:"reconnects"`   // failovers ended so far
	FailingOver  int64   `json:"failing_over"` // listeners between a lost stream and audio again
	G2GP50Ms     float64 `json:"g2g_p50_ms"`
	ClientCPUS   float64 `json:"client_cpu_s"`
	ClientRSSKiB int64   `json:"client_rss_kib"`
	ServerCPUS   float64 `json:"server_cpu_s,omitempty"` // since just before the run
	ServerRSSKiB int64   `json:"server_rss_kib,omitempty"`
}

// Metric names and how to show them.
var metrics = []struct {
	key, hist, label, unit string
	scale                  float64
}{
	{"connect_ms", "connect", "TCP connect", "ms", 1e3},
	{"join_ms", "join", "join (connect + POST join)", "ms", 1e3},
	{"first_audio_ms", "first_audio", "time to first audio", "ms", 1e3},
	{"glass_to_glass_ms", "g2g", "glass-to-glass latency", "ms", 1e3},
	{"stalls_per_listener", "stalls", "stalls per listener", "", 1},
	{"stalled_s_per_listener", "stalled", "stalled time per listener", "s", 1e6},
	{"bytes_per_s", "rate", "bytes/s per listener", "B/s", 1},
	{"failover_gap_ms", "gap", "failover gap (last audio to audio again)", "ms", 1e3},
}

func (rep *Report) build(res procResult, tl []TimelinePoint, srv *serverSampler) {
	cfg := rep.Config
	rep.Start = time.Now().Add(-time.Duration(res.ElapsedNs))
	rep.ElapsedS = float64(res.ElapsedNs) / 1e9
	peak := res.PeakConnected
	if len(tl) > 0 {
		peak = 0
		for _, p := range tl {
			peak = max(peak, p.Connected)
		}
	}
	rep.Listeners = ListenerCounts{Target: cfg.Listeners, Started: res.Started, Joined: res.Joined, Streams: res.Streams,
		GotAudio: res.GotAudio, PeakConnected: peak, Completed: res.Completed}
	rep.Metrics = map[string]Summary{}
	for _, m := range metrics {
		rep.Metrics[m.key] = res.Hists[m.hist].Summarize(m.unit, m.scale)
	}
	st := res.Hists["stalls"]
	var zero uint64
	if len(st.Buckets) > 0 && st.Buckets[0][0] == 0 {
		zero = st.Buckets[0][1]
	}
	rep.Stalls = StallReport{ThresholdS: cfg.StallThreshold.Seconds(), Events: res.StallEvents,
		Listeners: int64(st.N - zero), Seconds: float64(res.Hists["stalled"].Sum) / 1e6}
	rep.SkippedS = float64(res.SkippedNs) / 1e9
	rep.Errors, rep.Waits, rep.ErrorSamples = res.Errors, res.Waits, res.ErrorSamples
	if rep.Errors == nil {
		rep.Errors = map[string]int64{}
	}
	if rep.Waits == nil {
		rep.Waits = map[string]int64{}
	}
	rep.ListenerSeconds = float64(res.ListenerNs) / 1e9
	rep.Bytes = res.Bytes
	rep.Edges, rep.Failover = res.Edges, res.Failover
	if rep.Edges == nil {
		rep.Edges = []EdgeReport{}
	}
	rep.Client = ClientReport{Procs: cfg.Procs, CPUSeconds: float64(res.CPUNs) / 1e9,
		RSSStartKiB: res.RSSStartKiB, RSSPeakKiB: res.RSSPeakKiB}
	if rep.ListenerSeconds > 0 {
		rep.Client.CPUPerListenerSecondUs = float64(res.CPUNs) / 1e3 / rep.ListenerSeconds
		rep.Client.ReadsPerListenerSecond = float64(res.Reads) / rep.ListenerSeconds
		rep.Client.RequestsPerListenerSecond = float64(res.Requests) / rep.ListenerSeconds
	}
	if res.Reads > 0 {
		rep.Client.CPUPerReadUs = float64(res.CPUNs) / 1e3 / float64(res.Reads)
	}
	if peak > 0 {
		rep.Client.RSSPerListenerKiB = float64(res.RSSPeakKiB-res.RSSStartKiB) / float64(peak)
	}
	rep.Timeline = tl
	if ls, cpu, _ := fullLoad(tl, peak, func(p TimelinePoint) float64 { return p.ClientCPUS }); ls > 0 {
		rep.Client.FullLoadCPUPerListenerSecondUs = cpu * 1e6 / ls
	}
	if srv != nil {
		rep.Server = serverReport(srv, tl, peak)
	}
}

// fullLoad sums, over the intervals of the timeline with at least 99% of the
// peak connected at both ends, the listener-seconds, the growth of the
// cumulative value cum (CPU seconds) and the time.
func fullLoad(tl []TimelinePoint, peak int64, cum func(TimelinePoint) float64) (ls, delta, secs float64) {
	full := func(p TimelinePoint) bool { return peak > 0 && float64(p.Connected) >= 0.99*float64(peak) }
	for i := 1; i < len(tl); i++ {
		a, b := tl[i-1], tl[i]
		if full(a) && full(b) {
			dt := b.T - a.T
			ls += float64(a.Connected+b.Connected) / 2 * dt
			delta += cum(b) - cum(a)
			secs += dt
		}
	}
	return ls, delta, secs
}

// serverReport turns the server samples of the timeline into costs per listener.
func serverReport(srv *serverSampler, tl []TimelinePoint, peak int64) *ServerReport {
	s := &ServerReport{PID: srv.pid, IdleCPUPerSecondMs: srv.idleRate * 1e3, RSSBeforeKiB: srv.before.RSSKiB}
	if srv.err != nil {
		s.Error = srv.err.Error()
	}
	var ls, cpu, fullLS, fullCPU, fullT float64
	full := func(p TimelinePoint) bool { return peak > 0 && float64(p.Connected) >= 0.99*float64(peak) }
	for i := 1; i < len(tl); i++ {
		a, b := tl[i-1], tl[i]
		if b.ServerRSSKiB == 0 || (i > 1 && a.ServerRSSKiB == 0) {
			continue // a sample is missing
		}
		dt := b.T - a.T
		l := float64(a.Connected+b.Connected) / 2 * dt
		c := b.ServerCPUS - a.ServerCPUS
		ls += l
		cpu += c
		if full(a) && full(b) {
			fullLS += l
			fullCPU += c
			fullT += dt
		}
		if full(b) {
			s.RSSPeakKiB = max(s.RSSPeakKiB, b.ServerRSSKiB)
			s.RSSSettledKiB = b.ServerRSSKiB
		}
		s.CPUSeconds = b.ServerCPUS
	}
	if ls > 0 {
		s.CPUPerListenerSecondUs = cpu * 1e6 / ls
	}
	if fullLS > 0 {
		s.FullLoadSeconds = fullT
		s.FullLoadCPUPerListenerSecondUs = fullCPU * 1e6 / fullLS
		s.FullLoadNetCPUPerListenerSecUs = (fullCPU - srv.idleRate*fullT) * 1e6 / fullLS
	}
	if peak > 0 && s.RSSPeakKiB > 0 {
		s.RSSPerListenerKiB = float64(s.RSSPeakKiB-s.RSSBeforeKiB) / float64(peak)
		s.RSSSettledPerListenerKiB = float64(s.RSSSettledKiB-s.RSSBeforeKiB) / float64(peak)
	}
	return s
}

// WriteTable writes the summary for people.
func (rep *Report) WriteTable(w io.Writer) {
	cfg := rep.Config
	if cfg.Listeners == 0 && rep.Attack != nil {
		fmt.Fprintf(w, "\nonair load: an attack without listeners on %s\n", cfg.what())
		rep.writeAttack(w)
		return
	}
	arrive := "all at once"
	switch cfg.Shape {
	case ShapeRamp:
		arrive = "ramp over " + cfg.Window.String()
	case ShapeFlash:
		arrive = "flash crowd over " + cfg.Window.String()
	}
	procs := ""
	if cfg.Procs > 1 {
		procs = fmt.Sprintf(", %d processes", cfg.Procs)
	}
	state := ""
	if rep.Space.State != "" {
		state = " (" + rep.Space.State + ")"
	}
	fmt.Fprintf(w, "\nonair load: %d %s listeners (%s, each staying %s%s) on %s%s\n\n",
		cfg.Listeners, cfg.kind(), arrive, cfg.Duration, procs, cfg.what(), state)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tn\tp50\tp95\tp99\tmax\t")
	for _, m := range metrics {
		s := rep.Metrics[m.key]
		if m.hist == "gap" && s.N == 0 {
			continue
		}
		f := func(v float64) string { return fmtValue(v, m.unit) }
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", m.label, s.N, f(s.P50), f(s.P95), f(s.P99), f(s.Max))
	}
	tw.Flush()
	l := rep.Listeners
	fmt.Fprintf(w, "\nlisteners   %d started, %d joined, %d got audio, %d connected at the peak, %d stayed their whole time\n",
		l.Started, l.Joined, l.GotAudio, l.PeakConnected, l.Completed)
	fmt.Fprintf(w, "stalls      %d on %d listeners, %.1f s stalled in all (a stall: audio more than %s behind real time)\n",
		rep.Stalls.Events, rep.Stalls.Listeners, rep.Stalls.Seconds, cfg.StallThreshold)
	rep.writeFailover(w)
	if rep.SkippedS > 0 {
		fmt.Fprintf(w, "skipped     the server skipped listeners past %.1f s of audio in all\n", rep.SkippedS)
	}
	if len(rep.Errors) == 0 {
		fmt.Fprintln(w, "errors      none")
	} else {
		rep.writeKinds(w, "errors      ", rep.Errors)
	}
	if len(rep.Waits) > 0 {
		rep.writeKinds(w, "waits       ", rep.Waits)
	}
	fmt.Fprintf(w, "traffic     %s in %.0f listener-seconds (%s/s per listener on average)\n",
		fmtBytes(float64(rep.Bytes)), rep.ListenerSeconds, fmtBytes(float64(rep.Bytes)/max(rep.ListenerSeconds, 1e-9)))
	c := rep.Client
	fmt.Fprintf(w, "client      %.2f s CPU = %.1f µs per listener-second (%.1f reads of %.1f µs", c.CPUSeconds,
		c.CPUPerListenerSecondUs, c.ReadsPerListenerSecond, c.CPUPerReadUs)
	if cfg.Protocol == ProtoHLS {
		fmt.Fprintf(w, ", %.2f requests", c.RequestsPerListenerSecond)
	}
	fmt.Fprint(w, ")")
	if c.FullLoadCPUPerListenerSecondUs > 0 {
		fmt.Fprintf(w, "; at full load: %.1f µs", c.FullLoadCPUPerListenerSecondUs)
	}
	fmt.Fprintf(w, "\n            RSS %s → %s = %.1f KiB per listener; %d process(es)\n",
		fmtKiB(c.RSSStartKiB), fmtKiB(c.RSSPeakKiB), c.RSSPerListenerKiB, c.Procs)
	if s := rep.Server; s != nil {
		fmt.Fprintf(w, "server      pid %d: %.2f s CPU during the run = %.1f µs per listener-second", s.PID, s.CPUSeconds, s.CPUPerListenerSecondUs)
		if s.FullLoadSeconds > 0 {
			fmt.Fprintf(w, "; at full load (%.0f s): %.1f µs, %.1f µs net of its idle %.1f ms/s",
				s.FullLoadSeconds, s.FullLoadCPUPerListenerSecondUs, s.FullLoadNetCPUPerListenerSecUs, s.IdleCPUPerSecondMs)
		}
		fmt.Fprintf(w, "\n            RSS %s before → %s at full load = %.1f KiB per listener (at its peak); %s = %.1f KiB at the end\n",
			fmtKiB(s.RSSBeforeKiB), fmtKiB(s.RSSPeakKiB), s.RSSPerListenerKiB, fmtKiB(s.RSSSettledKiB), s.RSSSettledPerListenerKiB)
		if s.Error != "" {
			fmt.Fprintf(w, "            (sampling: %s)\n", s.Error)
		}
	}
	rep.writeEdges(w)
	rep.writeAttack(w)
}

// writeKinds lists counts by kind, most frequent first, with the first
// message seen of each.
func (rep *Report) writeKinds(w io.Writer, head string, counts map[string]int64) {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	for i, k := range keys {
		if i > 0 {
			head = strings.Repeat(" ", len(head))
		}
		sample := ""
		if s := rep.ErrorSamples[k]; s != "" {
			sample = "  (" + oneLine(s, 100) + ")"
		}
		fmt.Fprintf(w, "%s%d × %s%s\n", head, counts[k], k, sample)
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func fmtValue(v float64, unit string) string {
	switch unit {
	case "ms":
		switch {
		case v >= 10000:
			return fmt.Sprintf("%.1fs", v/1000)
		case v >= 100:
			return fmt.Sprintf("%.0fms", v)
		case v >= 10:
			return fmt.Sprintf("%.1fms", v)
		}
		return fmt.Sprintf("%.2fms", v)
	case "s":
		return fmt.Sprintf("%.2fs", v)
	case "B/s":
		return fmtBytes(v) + "/s"
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtBytes(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f GB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kB", v/1e3)
	}
	return fmt.Sprintf("%.0f B", v)
}

func fmtKiB(k int64) string {
	if k >= 10<<10 {
		return fmt.Sprintf("%.0f MiB", float64(k)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(k)/1024)
}

// monitor shows progress and keeps the timeline.
type monitor struct {
	cfg      Config
	opt      Options
	srv      *serverSampler
	start    time.Time
	timeline []TimelinePoint
	last     TimelinePoint
	printed  time.Time
	drawn    bool
}

func newMonitor(cfg Config, opt Options, srv *serverSampler, start time.Time) *monitor {
	m := &monitor{cfg: cfg, opt: opt, srv: srv, start: start}
	p0 := TimelinePoint{}
	if srv != nil {
		p0.ServerRSSKiB = srv.before.RSSKiB
	}
	m.timeline = append(m.timeline, p0)
	m.last = p0
	return m
}

func (m *monitor) tick(now time.Time, p Progress) {
	pt := TimelinePoint{T: now.Sub(m.start).Seconds(), Started: p.Started, Joined: p.Joined, GotAudio: p.GotAudio,
		Connected: p.Connected, StalledNow: p.StalledNow, StallEvents: p.StallEvents, Errors: p.Errors, Waits: p.Waits,
		Reconnects: p.Reconnects, FailingOver: p.FailingOver, G2GP50Ms: float64(p.G2G.Quantile(0.5)) / 1e3, ClientCPUS: float64(p.CPU) / 1e9, ClientRSSKiB: p.RSSKiB}
	if m.srv != nil {
		if s, ok := m.srv.sample(); ok {
			pt.ServerCPUS = (s.CPU - m.srv.before.CPU).Seconds()
			pt.ServerRSSKiB = s.RSSKiB
		}
	}
	joinRate := float64(pt.Joined-m.last.Joined) / max(pt.T-m.last.T, 1e-3)
	m.timeline = append(m.timeline, pt)
	m.last = pt
	if m.opt.Progress == nil {
		return
	}
	line := fmt.Sprintf("%4.0fs  %d/%d connected  %.0f joins/s  %d stalled now, %d stalls  g2g p50 %s  %d errors",
		pt.T, pt.Connected, m.cfg.Listeners, joinRate, pt.StalledNow, pt.StallEvents, fmtValue(pt.G2GP50Ms, "ms"), pt.Errors)
	if pt.Waits > 0 {
		line += fmt.Sprintf(", %d waits", pt.Waits)
	}
	if pt.Reconnects > 0 || pt.FailingOver > 0 {
		line += fmt.Sprintf(", %d reconnects (%d failing over now)", pt.Reconnects, pt.FailingOver)
	}
	if m.opt.status != nil {
		if s := m.opt.status(); s != "" {
			line += "  " + s
		}
	}
	if m.srv != nil && pt.ServerRSSKiB > 0 && len(m.timeline) > 1 {
		prev := m.timeline[len(m.timeline)-2]
		line += fmt.Sprintf("  server %.0f%% CPU %s", 100*(pt.ServerCPUS-prev.ServerCPUS)/max(pt.T-prev.T, 1e-3), fmtKiB(pt.ServerRSSKiB))
	}
	switch {
	case m.opt.TTY:
		if w := m.opt.Width; w > 1 && len([]rune(line)) >= w { // one line, or \r cannot redraw it
			line = string([]rune(line)[:w-1])
		}
		fmt.Fprintf(m.opt.Progress, "\r\033[K%s", line)
		m.drawn = true
	case now.Sub(m.printed) >= 5*time.Second || m.printed.IsZero():
		fmt.Fprintln(m.opt.Progress, line)
		m.printed = now
	}
}

func (m *monitor) finish() {
	if m.drawn {
		fmt.Fprintln(m.opt.Progress)
	}
}

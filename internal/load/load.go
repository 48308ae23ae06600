// Package load is onair's load generator: real listeners over real sockets
// that join a space through the join API and then stream it (progressive
// Ogg/Opus, or HLS as a low-latency or a classic player), arriving in a ramp or a flash crowd, each measuring
// join latency, time to first audio, stalls, glass-to-glass latency and
// throughput into fixed-bucket histograms, while the server's CPU and
// memory are sampled.
//
// It is built to be cheap: one goroutine per listener with a small fixed
// read buffer, a hand-rolled HTTP/1.1 client, Ogg pages parsed
// incrementally without CRCs or allocations, no per-listener timers (one
// shared sweeper), and histograms whose size does not grow with the run. A
// run can spread over several processes (--procs) whose results merge
// exactly.
//
// Glass-to-glass latency is measured for the newest audio of each Ogg page,
// HLS part (low-latency player) or HLS segment (classic player): from the wall-clock time its last 20 ms frame was mixed to the
// time its last byte arrived here. For Ogg, the server's
// Onair-First-Capture-Ms header is the mix time of the first sample of the
// first audio page sent and Onair-First-Granule its granule position; an
// Ogg/Opus granule counts decoded samples (pre-skip included) at 48 kHz up
// to the end of the page, so the sample clock at the end of a page with
// granule g reads capture + (g - first_granule)/48000 s, and its last frame
// was mixed one frame (20 ms) before that. For HLS, a part ends at its
// segment's EXT-X-PROGRAM-DATE-TIME plus the durations of the parts up to and
// including it, a segment at its date plus its EXTINF duration, and the last
// frame was mixed 20 ms before. (Taking the end itself would put the newest
// audio 20 ms in the future: the mixer stamps a frame when it makes it, at
// the start of its 20 ms.) A player adds its own buffer on top: the start-up
// burst for Ogg, PART-HOLD-BACK for LL-HLS, three target durations for a
// classic HLS player; the audio it starts with (mixed before it first asked)
// is not counted. Both
// compare wall clocks, so they are exact on one machine and as good as the
// clock sync between two.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is one load run.
type Config struct {
	Target    string        `json:"target"`               // base URLs of the servers' public ports (edges), comma-separated
	Space     string        `json:"space"`                // space id
	URL       string        `json:"url,omitempty"`        // instead of Space: a progressive Ogg URL streamed without the join API (Icecast, a baseline)
	Protocol  string        `json:"protocol"`             // ogg or hls
	HLSPlayer string        `json:"hls_player,omitempty"` // with hls: ll (low-latency) or classic
	Listeners int           `json:"listeners"`
	Shape     string        `json:"shape"`       // burst, ramp or flash
	Window    time.Duration `json:"window_ns"`   // arrival window of the ramp or flash
	Duration  time.Duration `json:"duration_ns"` // how long each listener stays
	// Patience, when set, is how long a listener waits to get in at most;
	// its Duration then counts from its admission rather than its arrival,
	// as for an audience that waits in line and then listens.
	Patience       time.Duration `json:"patience_ns,omitempty"`
	Grace          time.Duration `json:"grace_ns"`    // after the last listener's stay, before the run is cut
	MaxTime        time.Duration `json:"max_time_ns"` // hard bound on the whole run
	Sources        string        `json:"sources,omitempty"`
	AllowRemote    bool          `json:"allow_remote,omitempty"`
	Procs          int           `json:"procs"`
	StallThreshold time.Duration `json:"stall_threshold_ns"`
	ConnectTimeout time.Duration `json:"connect_timeout_ns"`
	NoReconnect    bool          `json:"no_reconnect,omitempty"` // a listener whose stream is lost stops, rather than re-joining elsewhere
	ServerPID      int           `json:"server_pid,omitempty"`
	Attack         Attack        `json:"attack,omitzero"` // bots, slowloris, connection flood (attack.go)

	// Set by the parent for a child process (--procs): the child runs the
	// listeners i with i % ChildCount == ChildIndex, on the shared clock StartAt.
	ChildIndex int   `json:"child_index,omitempty"`
	ChildCount int   `json:"child_count,omitempty"`
	StartAt    int64 `json:"start_at,omitempty"` // Unix ns
}

// Protocols.
const (
	ProtoOgg = "ogg"
	ProtoHLS = "hls"
)

// Defaults fills in what was left zero.
func (c *Config) Defaults() {
	if c.Protocol == "" {
		c.Protocol = ProtoOgg
	}
	if c.Protocol == ProtoHLS && c.HLSPlayer == "" {
		c.HLSPlayer = HLSPlayerLL
	}
	if c.Shape == "" {
		c.Shape = ShapeBurst
		if c.Window > 0 {
			c.Shape = ShapeRamp
		}
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Second
	}
	if c.StallThreshold <= 0 {
		c.StallThreshold = time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.Procs <= 0 {
		c.Procs = 1
	}
	if c.MaxTime <= 0 {
		c.MaxTime = c.Window + c.Patience + c.Duration + c.Grace + 30*time.Second
	}
	c.Attack.defaults()
}

// End is when the run ends by itself, from its start: every listener has
// waited at most its patience and stayed its time, plus the grace period.
func (c *Config) End() time.Duration {
	return min(c.Window+c.Patience+c.Duration+c.Grace, c.MaxTime)
}

// UsageError is a mistake in the configuration, as opposed to a failure to run.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// Validate checks the configuration (after Defaults) and resolves the
// targets.
func (c *Config) Validate() ([]target, error) {
	var t target
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		switch {
		case err != nil || u.Host == "" || u.Scheme != "http":
			return nil, usagef("--url %q: want an http:// URL of a progressive Ogg stream", c.URL)
		case c.Space != "":
			return nil, usagef("--url and --space: give one (--url streams without the join API)")
		case c.Protocol != ProtoOgg:
			return nil, usagef("--url streams progressive Ogg only, not %s", c.Protocol)
		}
		t.path = u.RequestURI()
		c.Target = u.Scheme + "://" + u.Host
	}
	switch {
	case c.Space == "" && c.URL == "":
		return nil, usagef("--space is required: the id of a live space (onair space list, or onair demo's output)")
	case c.Protocol != ProtoOgg && c.Protocol != ProtoHLS:
		return nil, usagef("--protocol %q: want ogg or hls", c.Protocol)
	case c.HLSPlayer != "" && c.Protocol != ProtoHLS:
		return nil, usagef("--hls-player is for --protocol hls, not %s", c.Protocol)
	case c.Protocol == ProtoHLS && c.HLSPlayer != HLSPlayerLL && c.HLSPlayer != HLSPlayerClassic:
		return nil, usagef("--hls-player %q: want ll (low-latency) or classic", c.HLSPlayer)
	case c.Listeners < 1 && !c.Attack.On():
		return nil, usagef("--listeners must be at least 1")
	case c.Listeners > 10_000_000:
		return nil, usagef("--listeners %d: at most 10,000,000", c.Listeners)
	case c.Shape != ShapeBurst && c.Shape != ShapeRamp && c.Shape != ShapeFlash:
		return nil, usagef("arrival shape %q: want burst, ramp or flash", c.Shape)
	case c.Procs > 256:
		return nil, usagef("--procs %d: at most 256", c.Procs)
	case c.Procs > max(c.Listeners, 1):
		return nil, usagef("--procs %d is more than --listeners %d", c.Procs, c.Listeners)
	case strings.ContainsAny(c.Space, "/?#% "):
		return nil, usagef("--space %q is not a space id", c.Space)
	}
	tgs, norm, err := parseTargets(c.Target, c.AllowRemote)
	if err != nil {
		return nil, err
	}
	c.Target = norm
	tgs[0].path = t.path
	if len(tgs) > 1 && c.Attack.On() {
		return nil, usagef("the attack scenarios aim at one --target, not %d", len(tgs))
	}
	if c.Sources != "" {
		if _, err := ParseSources(c.Sources); err != nil {
			return nil, UsageError{fmt.Errorf("--sources: %w", err)}
		}
	}
	if err := c.Attack.validate(c); err != nil {
		return nil, err
	}
	return tgs, nil
}

// Options are how a run talks to its user.
type Options struct {
	Progress io.Writer // live progress (nil: none)
	TTY      bool      // Progress is a terminal: redraw one line
	Width    int       // the terminal's width (0: unknown)
	// Exe is the binary to re-execute for --procs, with ChildArgs before the
	// child's JSON configuration (e.g. ["load", "--child-json"]).
	Exe       string
	ChildArgs []string
	status    func() string // more for the progress line (the attack's)
}

// Run runs the load described by cfg and returns the report. An error
// means the run could not start (or, with a report, that no listener got
// any audio).
func Run(ctx context.Context, cfg Config, opt Options) (*Report, error) {
	cfg.Defaults()
	tgs, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, err
	}
	perProc := (cfg.Listeners + cfg.Procs - 1) / cfg.Procs
	if uint64(perProc+fdReserve) > limit {
		need := (cfg.Listeners + int(limit) - fdReserve - 1) / (int(limit) - fdReserve)
		return nil, usagef("%d listeners per process need %d open files, but one process may hold %d (RLIMIT_NOFILE hard limit): use --procs %d or more",
			perProc, perProc+fdReserve, limit, max(need, cfg.Procs+1))
	}
	if cfg.Sources == "" {
		if lo, hi, ok := ephemeralPorts(); ok && cfg.Listeners > hi-lo {
			fmt.Fprintf(stderr, "warning: %d listeners from one source address may exhaust its %d ephemeral ports: add --sources 127.0.0.0/16\n",
				cfg.Listeners, hi-lo+1)
		}
	}
	if cfg.ServerPID != 0 {
		if err := procAlive(cfg.ServerPID); err != nil {
			return nil, usagef("--server-pid %d: cannot read the process's CPU and memory: %v", cfg.ServerPID, err)
		}
	}

	rep := &Report{Config: cfg}
	var srv *serverSampler
	if cfg.ServerPID != 0 {
		srv = startServerSampler(cfg.ServerPID)
	}
	if err := preflight(ctx, cfg, tgs, rep); err != nil {
		return nil, err
	}
	if srv != nil {
		srv.idle(ctx) // the server's own CPU rate with no load, over about a second
	}
	if opt.Progress != nil {
		arrive := "all at once"
		if cfg.Shape != ShapeBurst {
			arrive = cfg.Shape + " over " + cfg.Window.String()
		}
		fmt.Fprintf(opt.Progress, "onair load: %d %s listeners on %s, arriving %s, each staying %s; ends within %s\n",
			cfg.Listeners, cfg.kind(), cfg.what(), arrive, cfg.Duration, cfg.End())
	}

	atk, err := startAttack(ctx, cfg, tgs[0], opt) // nil without one; it runs alone for its lead
	if err != nil {
		return nil, err
	}
	defer atk.stop()
	if atk != nil {
		opt.status = atk.status
	}
	var res procResult
	var tl []TimelinePoint
	switch {
	case cfg.Listeners == 0: // the attack alone
		atk.hold(ctx, cfg.Duration)
	case cfg.Procs > 1:
		res, tl, err = runParent(ctx, cfg, opt, srv)
	default:
		res, tl, err = runLocal(ctx, cfg, tgs, opt, srv, nil)
	}
	if err != nil {
		return nil, err
	}
	rep.Attack = atk.stop()
	rep.build(res, tl, srv)
	rep.Attack.finish(srv)
	if rep.Listeners.GotAudio == 0 && cfg.Listeners > 0 {
		return rep, errors.New("no listener got any audio: see the errors above")
	}
	return rep, nil
}

// kind names the listeners' protocol, and for HLS the player: "OGG",
// "HLS (classic player)".
func (c *Config) kind() string {
	k := strings.ToUpper(c.Protocol)
	switch c.HLSPlayer {
	case HLSPlayerLL:
		k += " (low-latency player)"
	case HLSPlayerClassic:
		k += " (classic player)"
	}
	return k
}

// what names what is loaded: the target and space, or the --url.
func (c *Config) what() string {
	if c.URL != "" {
		return c.URL
	}
	return c.Target + ", space " + c.Space
}

// ephemeralPorts reads the kernel's local port range.
func ephemeralPorts() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

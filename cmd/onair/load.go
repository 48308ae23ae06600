package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/receipts"
)

// childFlag runs one child process of "onair load --procs N": its
// configuration comes as JSON from the parent; it is not for people, so it
// is not in --help.
const childFlag = "--child-json"

func runLoad(args []string) error {
	if len(args) == 2 && args[0] == childFlag {
		return runLoadChild(args[1])
	}
	fs := newFlagSet("load", "onair load --space ID [flags]",
		"Play a crowd of real listeners against a running server: each joins the space through\n"+
			"the join API (its own ticket) and streams it over its own socket, as progressive Ogg or\n"+
			"as an HLS player, low-latency or classic (--hls-player): the LL-HLS player does blocking\n"+
			"playlist reloads, then fetches each part (about 10 requests a second); the classic one\n"+
			"(RFC 8216 without LL, like Safari without LL, ffplay, VLC or a smart TV) starts three\n"+
			"segments from the live edge, reloads the playlist every target duration (half of one\n"+
			"when nothing changed) and fetches whole segments (about 1 request a second). Arrivals\n"+
			"come all at once, in a linear --ramp or as a --flash crowd (most in the first seconds);\n"+
			"each listener stays --duration and the run ends by itself. Reports p50/p95/p99/max of\n"+
			"join latency, time to first audio, stalls (audio more than --stall-threshold behind real\n"+
			"time: count and time), glass-to-glass latency of live delivery (mix time of the newest\n"+
			"audio in each page, part or segment to its arrival; Ogg: the Onair-First-Capture-Ms and\n"+
			"Onair-First-Granule headers plus page granules; HLS: EXT-X-PROGRAM-DATE-TIME), bytes/s,\n"+
			"errors by kind, its own CPU and memory, and the server's with --server-pid. Loopback\n"+
			"targets only, unless --allow-remote.\n\n"+
			"Several edges: --target takes several URLs, comma-separated; joins go round-robin over\n"+
			"them (a listener whose edge cannot be reached tries the next ones) and follow a 307 to\n"+
			"another edge, and a listener streams from the media URL its join answered, perhaps on\n"+
			"another edge, when a cluster answered (the answer lists alternates) or the URL is on one\n"+
			"of the targets (otherwise one process answered with its public URL, which may name what\n"+
			"is in front of it: the stream stays on the server joined). A\n"+
			"listener whose stream ends or fails before its stay is over re-joins with its ticket (a\n"+
			"renewal: no queue) on its join answer's alternates first, then the other targets, at once\n"+
			"and then every 100 ms, 200 ms, ... up to 1 s until its stay ends, and streams on\n"+
			"(--no-reconnect: it stops). The report counts the streams lost, the reconnects, the\n"+
			"failed re-joins and the listeners that gave up, and the failover gap (last audio before\n"+
			"the loss to the first new audio after it); a gap that ran the player's buffer dry past\n"+
			"--stall-threshold is also a stall. Per edge (host:port of the media URL): listeners,\n"+
			"peak, traffic, stalls, streams lost, reconnects.\n\n"+
			"Afterwards it signs a summary of the run (listeners held, stalls, errors) with its own key\n"+
			"(--key-file) and posts it to the target, which logs it in its receipts: the claim is then\n"+
			"an entry anyone can check (--no-claim: not). Over several edges, each edge that served\n"+
			"listeners gets the claim with its own share added.\n\n"+
			"Example:\n"+
			"  onair load --space ID --listeners 2000 --flash 5s --duration 20s --sources 127.0.0.0/16 \\\n"+
			"    --server-pid $(pgrep -f 'onair serve') --json load.json\n"+
			"  onair load --space ID --target http://127.0.0.1:8090,http://127.0.0.1:8091 --listeners 2000")
	var cfg load.Config
	var ramp, flash time.Duration
	var jsonFile, keyFile string
	var noClaim bool
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "public port URL of the server to load, or of several edges, comma-separated (joins go round-robin over them)")
	fs.StringVar(&cfg.Space, "space", "", "id of the space to listen to (required, unless --url)")
	fs.StringVar(&cfg.URL, "url", "", "instead of --space: stream this progressive Ogg URL directly, without the join API (another server, e.g. Icecast, for comparison)")
	fs.StringVar(&cfg.Protocol, "protocol", "ogg", "how listeners stream: ogg (progressive Ogg/Opus) or hls (HLS, with a low-latency or a classic player: --hls-player)")
	fs.StringVar(&cfg.HLSPlayer, "hls-player", "", "with --protocol hls, the player: ll (the default: low-latency, blocking reloads and parts) or classic (plain reloads every target duration and whole segments, starting three segments from the live edge)")
	fs.IntVar(&cfg.Listeners, "listeners", 100, "number of listeners")
	fs.DurationVar(&ramp, "ramp", 0, "arrivals spread linearly over this long (default: all at once)")
	fs.DurationVar(&flash, "flash", 0, "arrivals as a flash crowd over this long: exponential decay, 63% in the first fifth")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long each listener stays; the run ends after the arrivals, this, and --grace")
	fs.DurationVar(&cfg.Patience, "patience", 0, "how long a listener waits to get in at most (the waiting room, rate limits); with it, --duration counts from when the listener got in, as for an audience that waits and then listens (default: --duration counts from arrival, waiting included)")
	fs.DurationVar(&cfg.Grace, "grace", 5*time.Second, "time left after the last listener's stay before the run is cut")
	fs.DurationVar(&cfg.MaxTime, "max-time", 0, "hard bound on the whole run (default: arrivals + patience + duration + grace + 30s)")
	fs.StringVar(&cfg.Sources, "sources", "", "bind each listener to its own source address from these CIDR blocks or IPs, comma-separated (e.g. 127.0.0.0/16: 65,024 addresses, consecutive listeners in different /24s), so per-IP and per-prefix limits see a crowd and ephemeral ports last")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address (load only servers that are yours)")
	fs.IntVar(&cfg.Procs, "procs", 1, "spread the listeners over this many processes (one process holds at most its open-file limit of sockets)")
	fs.DurationVar(&cfg.StallThreshold, "stall-threshold", time.Second, "a listener stalls when its audio falls this far behind real time")
	fs.BoolVar(&cfg.NoReconnect, "no-reconnect", false, "a listener whose stream ends or fails before its stay is over stops there, instead of re-joining with its ticket on another edge (and one whose edge cannot be reached does not try the next)")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 10*time.Second, "bound on each TCP connect (and on the preflight join)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "pid of the server, when it runs on this machine: sample its CPU and RSS from /proc every second (and for one idle second before the run)")
	load.AttackFlags(fs, &cfg.Attack)
	fs.BoolVar(&noClaim, "no-claim", false, "do not sign the run's summary and post it to the receipts log (POST /receipts/claims) of the target, or of each edge that served listeners")
	fs.StringVar(&keyFile, "key-file", receipts.DefaultClaimKeyPath(), "the load generator's own signing key for its claims, created there on first use")
	fs.StringVar(&jsonFile, "json", "", "write everything measured (config, percentiles, counts, errors, CPU, RSS, timeline) to this JSON file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case ramp > 0 && flash > 0:
		return usagef("--ramp and --flash are two arrival shapes: give one")
	case ramp < 0 || flash < 0 || cfg.Duration <= 0:
		return usagef("--ramp, --flash and --duration must be positive")
	case cfg.Patience < 0:
		return usagef("--patience must be positive (or 0: --duration counts from arrival)")
	case ramp > 0:
		cfg.Shape, cfg.Window = load.ShapeRamp, ramp
	case flash > 0:
		cfg.Shape, cfg.Window = load.ShapeFlash, flash
	default:
		cfg.Shape = load.ShapeBurst
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, _ := os.Stderr.Stat()
	opt := load.Options{Progress: os.Stderr, TTY: st != nil && st.Mode()&os.ModeCharDevice != 0,
		Width: termWidth(os.Stderr), Exe: exe, ChildArgs: []string{"load", childFlag}}
	rep, err := load.Run(ctx, cfg, opt)
	if ue := (load.UsageError{}); errors.As(err, &ue) {
		return usageError{ue.Err}
	}
	if rep == nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	if !noClaim && cfg.URL == "" {
		postClaims(rep, keyFile, os.Stdout)
	}
	if jsonFile != "" {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(jsonFile, append(b, '\n'), 0o644)
		}
		if jerr != nil {
			return fmt.Errorf("--json: %v", jerr)
		}
		fmt.Printf("\nwrote %s\n", jsonFile)
	}
	return err
}

// termWidth returns the width of the terminal f, or 0.
func termWidth(f *os.File) int {
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.Col)
}

// runLoadChild runs one child process of a --procs run: progress and result
// go to stdout as JSON lines for the parent.
func runLoadChild(js string) error {
	var cfg load.Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		return usagef("%s: %v", childFlag, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return load.RunChild(ctx, cfg, os.Stdout)
}

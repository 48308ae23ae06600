package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/onair-live/onair/internal/server"
)

// serverFlags registers the flags shared by serve and demo.
func serverFlags(fs *flag.FlagSet, cfg *server.Config, logLevel *string) {
	cfg.Listen, cfg.HostListen = ":8080", "127.0.0.1:8081"
	fs.Var((*addrFlag)(&cfg.Listen), "listen", "public address for listeners (join, live streams, replays, pages)")
	fs.Var((*addrFlag)(&cfg.HostListen), "host-listen", "host address for speakers and operators (API, ingest, metrics); keep it private")
	fs.StringVar(&cfg.DataDir, "data", "./onair-data", "directory for the state database, admin key and recordings")
	fs.StringVar(&cfg.AdminKey, "admin-key", "", "admin API key; when empty, one is generated on first start, stored in the data dir and printed once")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base URL listeners reach the public port at, for links (default: from --listen)")
	fs.StringVar(&cfg.HostURL, "host-url", "", "base URL speakers reach the host port at, for links (default: from --host-listen)")
	fs.IntVar(&cfg.Bitrate, "bitrate", 48000, "program bitrate in bit/s (Opus, mono, 48 kHz)")
	fs.IntVar(&cfg.MaxSpeakers, "max-speakers", 32, "most speakers mixed at once per space")
	fs.DurationVar(&cfg.TicketTTL, "ticket-ttl", 10*time.Minute, "how long a join ticket stays valid for starting a stream")
	fs.DurationVar(&cfg.KeyRotation, "ticket-key-rotation", 6*time.Hour, "how often the origin makes a new ticket signing key, shipped to every edge "+
		"(0: never); tickets signed with the three keys before it still verify, so keep the period over a third of an HLS player's ticket life (12 h past its expiry)")
	fs.DurationVar(&cfg.OggBatch, "ogg-batch", 500*time.Millisecond,
		"how often progressive Ogg listeners are written to (0: at every 100 ms page); larger batches cost less CPU per listener and add that much delay")
	fs.IntVar(&cfg.WHEPMax, "whep-max", 200, "most WebRTC (WHEP) listeners on this node; past it, listeners are sent to HLS")
	fs.Var((*portRange)(&cfg.RTC), "rtc-ports", "UDP port range for WebRTC, MIN-MAX (default: any free port)")
	fs.Var((*ipList)(&cfg.RTC.PublicIPs), "rtc-public-ip", "public IP(s) to announce in WebRTC candidates when behind 1:1 NAT, comma-separated")
	cfg.Gate.Mode = gate.Auto
	fs.IntVar(&cfg.Gate.Capacity, "capacity", 0, "listeners this node holds; joins wait in line beyond it (0: limited by CPU headroom only)")
	fs.Var((*modeFlag)(&cfg.Gate.Mode), "gate-mode", "gate mode: auto (proof of work when an attack is detected), normal, under_attack")
	fs.Float64Var(&cfg.Gate.JoinRate, "join-rate", 2, "joins per second allowed per source address (bursts of 5x)")
	fs.Float64Var(&cfg.Gate.Admit.MaxRate, "admit-rate-max", 5000, "most joins admitted per second; the controller stays below it")
	fs.Var((*prefixList)(&cfg.Gate.TrustedProxies), "trusted-proxy", "networks whose X-Forwarded-For is believed (your own cache or load balancer), comma-separated CIDRs")
	fs.StringVar(&cfg.NodeName, "node-name", "", "the node's name in its receipts log and checkpoints (default: host name and public port)")
	fs.Var((*offFlag)(&cfg.NoReceipts), "receipts", "keep the signed per-second receipts log in DATA/receipts (false only to measure what it costs)")
	fs.Var((*witnessList)(&cfg.Witnesses), "receipts-witness",
		"witnesses that cosign the log's checkpoints, URL=VERIFIER_KEY (comma-separated): the node polls each and serves its cosignatures with the checkpoint")
	*logLevel = "info"
	fs.Var((*levelFlag)(logLevel), "log-level", "log level: debug, info, warn, error")
}

// witnessList is URL=KEY,... of receipts witnesses.
type witnessList []server.Witness

func (l *witnessList) String() string {
	var parts []string
	for _, w := range *l {
		parts = append(parts, w.URL+"="+w.Key)
	}
	return strings.Join(parts, ",")
}

func (l *witnessList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		i := strings.LastIndexByte(f, '=') // a verifier key holds no '=' (33 bytes: no base64 padding)
		if i < 0 {
			i = len(f)
		}
		u, k := f[:i], strings.TrimPrefix(f[i:], "=")
		if !strings.HasPrefix(u, "http") || k == "" {
			return fmt.Errorf("%q: want URL=VERIFIER_KEY, such as http://witness.example:8090=KEY where KEY is the witness key it printed (name+hash+base64)", f)
		}
		*l = append(*l, server.Witness{URL: u, Key: k})
	}
	return nil
}

// offFlag is a boolean flag, true by default, stored as its negation (so
// that a Config's zero value means "on").
type offFlag bool

func (o *offFlag) String() string   { return strconv.FormatBool(!bool(*o)) }
func (o *offFlag) IsBoolFlag() bool { return true }

func (o *offFlag) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*o = offFlag(!b)
	return nil
}

// addrFlag is a listen address, checked when given so that a typo is
// reported as such (naming the flag or variable) rather than by the bind.
type addrFlag string

func (a *addrFlag) String() string { return string(*a) }

func (a *addrFlag) Set(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return errors.New("want HOST:PORT, such as :8080 or 127.0.0.1:8081 (port 0 picks a free port)")
	}
	*a = addrFlag(v)
	return nil
}

// levelFlag is a log level, checked when given.
type levelFlag string

func (l *levelFlag) String() string { return string(*l) }

func (l *levelFlag) Set(v string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(v)); err != nil {
		return errors.New("want debug, info, warn or error")
	}
	*l = levelFlag(v)
	return nil
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func runServe(args []string) error {
	fs := newFlagSet("serve", "onair serve [flags]",
		"Run an onair node. Speakers and operators use the host port; listeners use the public port.\n"+
			"SIGINT/SIGTERM end live shows cleanly: listeners get the end of stream, recordings are finalized.\n"+
			"For tests only: ONAIR_TEST_CLOCK_OFFSET=DURATION (e.g. 5s, -2.5s) runs the node's receipts records,\n"+
			"show events and cluster load reports on its clock shifted by DURATION, as a node whose clock is off\n"+
			"would (the verdict aligns such logs: onair receipts verdict --help).")
	var cfg server.Config
	var level string
	var err error
	var log *slog.Logger
	var bo busOpts
	var role, clusterKey string
	serverFlags(fs, &cfg, &level)
	busFlags(fs, &bo)
	fs.StringVar(&role, "role", "all", "what this node does: all (everything in one process, the default), "+
		"origin (host port: spaces, ingest, WHIP, studio, the mix and the recording; no listeners) or "+
		"edge (public port: joins, Ogg, HLS, WHEP, pages, replays, fed by the origin; its --host-listen port serves only /metrics and /healthz); "+
		"origin and edge need --nats and --cluster-key; run --role origin twice or more for a standby that takes over "+
		"(one active, chosen by a lease: see --lease-ttl)")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", control.DefaultLeaseTTL, "with two or more --role origin: the active origin renews a lease in the control plane "+
		"every third of this; when it dies a standby takes over once the lease has gone unrenewed this long (the same on every origin; "+
		"shorter fails over faster, but a NATS hiccup that long makes the active one step down)")
	fs.StringVar(&clusterKey, "cluster-key", "", "the cluster's shared secret, the same on every origin and edge (16 characters or more): "+
		"nodes sign their load reports with it, so a node without it cannot steer joins")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Role, err = server.ParseRole(role); err != nil {
		return usagef("--role: %v", err)
	}
	if cfg.Role != server.RoleAll && bo.nats == "" {
		return usagef("--role %s needs the NATS bus: add --nats nats://HOST:PORT or --nats embedded", role)
	}
	if cfg.Role != server.RoleAll && len(clusterKey) < 16 {
		return usagef("--role %s needs --cluster-key (16 characters or more, the same on every node)", role)
	}
	cfg.ClusterKey = []byte(clusterKey)
	if cfg.ClockOffset, err = testClockOffset(); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := bo.check(fs); err != nil {
		return err
	}
	log, err = newLogger(level)
	if err != nil {
		return err
	}
	cfg.Log = log
	jsDir := ""
	if cfg.Role != server.RoleAll {
		jsDir = filepath.Join(cfg.DataDir, "nats")
	}
	b, closeBus, err := bo.open(cfg.NodeName, jsDir, log)
	if err != nil {
		return err
	}
	defer closeBus() // after the shutdown, so the shows' ends go out first
	cfg.Bus = b
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if k := srv.GeneratedAdminKey; k != "" {
		fmt.Printf("Admin key (shown once; stored in %s/admin.key):\n  %s\n", cfg.DataDir, k)
	}
	if k := srv.ReceiptsKey(); k != "" {
		fmt.Printf("Receipts log in %s/receipts; its verifier key (to check checkpoints, and for witnesses):\n  %s\n", cfg.DataDir, k)
	}
	srv.Serve()
	return waitAndShutdown(srv, log)
}

// testClockOffset is ONAIR_TEST_CLOCK_OFFSET: a test's way to run a node
// whose clock is off, which one machine cannot otherwise give.
func testClockOffset() (time.Duration, error) {
	v := os.Getenv("ONAIR_TEST_CLOCK_OFFSET")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d > 24*time.Hour || d < -24*time.Hour {
		return 0, usagef("ONAIR_TEST_CLOCK_OFFSET=%q: want a duration within a day, e.g. 5s or -2.5s", v)
	}
	return d, nil
}

// waitAndShutdown blocks until SIGINT or SIGTERM, then shuts down gracefully.
func waitAndShutdown(srv *server.Server, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-srv.Fenced():
		// Another origin holds the lease now: stop at once, shows left
		// live for it (a clean shutdown would end them).
		return errors.New("this origin lost its lease to a standby and stopped; restart it to stand by")
	}
	stop() // a second signal kills at once
	log.Info("shutting down: ending live shows, finalizing recordings")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// portRange is a WebRTC UDP port range flag, MIN-MAX.
type portRange rtc.Config

func (p *portRange) String() string {
	if p == nil || p.UDPPortMin == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d", p.UDPPortMin, p.UDPPortMax)
}

func (p *portRange) Set(v string) error {
	lo, hi, ok := strings.Cut(v, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
		return errors.New("want a port range such as 40000-40999")
	}
	p.UDPPortMin, p.UDPPortMax = uint16(a), uint16(b)
	return nil
}

// ipList is a comma-separated list of IP addresses.
type ipList []string

func (l *ipList) String() string { return strings.Join(*l, ",") }

func (l *ipList) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if net.ParseIP(strings.TrimSpace(s)) == nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
		*l = append(*l, strings.TrimSpace(s))
	}
	return nil
}

// modeFlag is the gate mode.
type modeFlag gate.Mode

func (m *modeFlag) String() string { return string(*m) }

func (m *modeFlag) Set(v string) error {
	switch gate.Mode(v) {
	case gate.Auto, gate.Normal, gate.UnderAttack:
		*m = modeFlag(v)
		return nil
	}
	return errors.New(`want "auto", "normal" or "under_attack"`)
}

// prefixList is a comma-separated list of CIDR prefixes.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8", s)
		}
		*l = append(*l, p)
	}
	return nil
}

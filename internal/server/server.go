// Package server starts a node in its role: an origin (host port), an edge
// (public port), or both in one process over the in-process bus (--role all).
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/edge"
	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/origin"
	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/rtc"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/telemetry"
	"github.com/onair-live/onair/internal/ticket"
	"github.com/onair-live/onair/internal/whep"
	"github.com/onair-live/onair/internal/whip"
)

// Config is everything `onair serve` takes.
type Config struct {
	Listen      string // public port: listeners
	HostListen  string // host port: speakers, operators
	DataDir     string
	AdminKey    string // generated and stored in DataDir on first start when empty
	PublicURL   string // base URL listeners reach the public port at (links in responses)
	HostURL     string // base URL speakers reach the host port at
	Bitrate     int
	MaxSpeakers int
	TicketTTL   time.Duration
	WHEPMax     int           // most WebRTC listeners on this node
	OggBatch    time.Duration // how often Ogg listeners are written to (0: every page)
	Gate        gate.Config   // the public port's request pipeline
	RTC         rtc.Config    // WebRTC ports and public addresses
	NodeName    string        // names the node in its receipts (default: host name and public port)
	NoReceipts  bool          // keep no receipts log (to measure its cost: the counters still count)
	Witnesses   []Witness     // who cosigns the log's checkpoints
	Bus         bus.Bus       // program bus (default: in-process; NATS when clustered)
	Role        Role          // all (default), origin or edge; origin and edge need a NATS bus
	// ClusterKey is the cluster's shared secret: nodes sign their load
	// reports and the waiting line's tokens with it (origin and edge).
	ClusterKey []byte
	// KeyRotation is how often a node that keeps the store makes a new
	// ticket signing key (0: never); tickets of the three keys before it
	// still verify.
	KeyRotation time.Duration
	// Keys signs and verifies join tickets instead of the store's own
	// keyring (an edge's copy of the cluster's keys; tests of two nodes).
	Keys *ticket.Keyring
	// Alternates lists the base URLs of other edges that carry a space,
	// for join responses and redundant HLS pathways (nil: none).
	Alternates func(space string) []string
	// LeaseTTL is how long the active origin of a cluster holds its lease
	// without renewing it (0: control.DefaultLeaseTTL): the longest a
	// cluster goes without an active origin when one dies.
	LeaseTTL time.Duration
	// ClockOffset shifts the clock of the node's receipts (records, show
	// events) and cluster load reports: tests run a node whose clock is
	// off with it (ONAIR_TEST_CLOCK_OFFSET). Zero in real use.
	ClockOffset time.Duration
	Log         *slog.Logger
}

// Server is one running node (origin and edge in one process).
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      *store.Store
	acc     *access.Checker // the space directory, the ticket keys
	cluster                 // the control plane and its loops, when clustered
	bus     bus.Bus
	mgr     *space.Manager
	hub     *fanout.Hub
	whip    *whip.Server
	whep    *whep.Server
	gate    *gate.Gate
	admin   string         // SHA-256 of the admin key
	org     *origin.Origin // the host port and the stage (nil on an edge)
	edg     *edge.Edge     // the public port (nil on an origin of a cluster)

	tel      *telemetry.Collector // counts what the node decides, per second
	rlog     *receipts.Log        // the receipts log (nil when off)
	lastWHEP atomic.Int64
	mixStats mix.Stats

	shutOnce sync.Once
	shutErr  error

	// GeneratedAdminKey is set when this start created the admin key, so the
	// caller can show it once.
	GeneratedAdminKey string

	pubLn, hostLn   net.Listener
	pubSrv, hostSrv *http.Server
	ctx             context.Context
	cancel          context.CancelFunc
}

// New opens the data dir and binds the role's ports; Serve starts answering.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = 10 * time.Minute
	}
	if cfg.Role == "" {
		cfg.Role = RoleAll
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if cfg.Bus == nil {
		cfg.Bus = bus.NewLocal()
	}
	s := &Server{acc: &access.Checker{Log: cfg.Log}, cfg: cfg, log: cfg.Log, bus: cfg.Bus}
	var undo []func()
	fail := func(err error) (*Server, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	if err := s.joinCluster(); err != nil {
		return fail(err)
	}
	undo = append(undo, s.leaveCluster)
	if err := s.openTelemetry(); err != nil {
		return fail(err)
	}
	undo = append(undo, s.closeLog)
	if err := s.openRole(); err != nil {
		return fail(err)
	}
	undo = append(undo, s.closeState)
	if err := s.bind(); err != nil {
		return fail(err)
	}
	undo = append(undo, s.closeListeners)
	s.hub = fanout.NewHub(s.bus, fanout.Config{BurstPages: 5, WriteBatch: cfg.OggBatch})
	s.hub.Stats().Left = s.tel.Flows.Left
	settle := newSettler()
	s.gate = gate.New(s.cfg.Gate, func() gate.Load { // once a second
		l := gate.Load{Listeners: int(s.hub.Total()) + s.whep.Sessions().Len()}
		settle.sample(time.Now(), l.Listeners)
		return l
	})
	s.acc.Gate = s.gate // ticket checks count into the gate
	if s.pubLn != nil {
		// Connection caps act at accept, before a byte is read.
		s.pubLn = gate.GuardListener(s.pubLn, cfg.Gate.Conns, s.gate)
	}
	// The admin key is made only once the ports are ours, so a first start
	// that fails never leaves a key that was not shown.
	if err := errors.Join(s.loadAdminKey(), s.startRTC()); err != nil {
		return fail(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.assemble()
	if s.clusteredOrigin() { // once the host URL is known: the lease names it
		if err := s.org.OpenElection(); err != nil {
			s.cancel()
			return fail(err)
		}
	}
	if s.edg != nil {
		s.pubSrv = &http.Server{Handler: s.edg.Routes(), ReadHeaderTimeout: 5 * time.Second, ConnContext: gate.ConnContext,
			IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug)}
	}
	s.hostSrv = &http.Server{Handler: s.hostRoutes(), ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug)}
	return s, nil
}

// openRole opens what the role keeps: the store and the shows on a node
// with a stage, the cluster's copy of spaces and keys on an edge.
func (s *Server) openRole() error {
	if !s.cfg.Role.stage() {
		return s.openEdge()
	}
	if err := s.openState(); err != nil {
		return err
	}
	s.acc.Dir = s.st
	return nil
}

func (s *Server) closeState() {
	if s.st != nil {
		s.st.Close()
	}
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.pubLn, s.hostLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

func (s *Server) openState() error {
	st, err := store.Open(filepath.Join(s.cfg.DataDir, "onair.db"))
	if err != nil {
		return err
	}
	s.st = st
	fail := func(err error) error { st.Close(); return err }
	keys := s.cfg.Keys
	if keys == nil {
		if keys, err = st.TicketKeys(); err != nil {
			return fail(err)
		}
	}
	s.SetKeys(keys)
	s.mgr, err = space.NewManager(st, s.bus, space.Config{DataDir: s.cfg.DataDir, Bitrate: s.cfg.Bitrate,
		MaxSpeakers: s.cfg.MaxSpeakers, OnEvent: s.showEvent, MixStats: &s.mixStats}, s.log)
	if err != nil {
		return fail(err)
	}
	if s.clusteredOrigin() {
		return nil // its shows are taken on with the lease (origin/standby.go)
	}
	return s.mgr.Recover()
}

func (s *Server) loadAdminKey() error {
	key, generated, err := adminKey(s.cfg.DataDir, s.cfg.AdminKey)
	if err != nil {
		return err
	}
	s.admin = store.HashToken(key)
	if generated {
		s.GeneratedAdminKey = key
	}
	return nil
}

func (s *Server) startRTC() error {
	api, err := rtc.NewAPI(s.cfg.RTC)
	if err != nil {
		return fmt.Errorf("webrtc: %w", err)
	}
	if s.cfg.WHEPMax <= 0 {
		s.cfg.WHEPMax = 200
	}
	s.whip = whip.New(api, s.log)
	s.whep = whep.New(api, s.bus, s.cfg.WHEPMax, s.log)
	return nil
}

// adminKey returns the configured key, or the one stored in the data dir,
// creating it (readable by the owner only) on first start.
func adminKey(dir, configured string) (string, bool, error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dir, "admin.key")
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	k := "adm_" + store.RandomToken(24)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store admin key: %w", err)
	}
	return k, true, nil
}

func (s *Server) bind() error {
	var err error
	port := map[bool]string{true: "host port", false: "ops port"}[s.cfg.Role.stage()]
	if s.hostLn, err = net.Listen("tcp", s.cfg.HostListen); err != nil {
		return fmt.Errorf("%s %s: %w", port, s.cfg.HostListen, err)
	}
	if !s.cfg.Role.listeners() {
		s.cfg.HostURL = strings.TrimRight(cmp.Or(s.cfg.HostURL, baseURL(s.hostLn.Addr())), "/")
		return nil
	}
	if s.pubLn, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		s.hostLn.Close()
		return fmt.Errorf("public port %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.PublicURL == "" {
		s.cfg.PublicURL = baseURL(s.pubLn.Addr())
	}
	if s.cfg.HostURL == "" {
		s.cfg.HostURL = baseURL(s.hostLn.Addr())
	}
	s.cfg.PublicURL = strings.TrimRight(s.cfg.PublicURL, "/")
	s.cfg.HostURL = strings.TrimRight(s.cfg.HostURL, "/")
	return nil
}

// baseURL turns a bound address into a URL a local client can use:
// a wildcard bind is reached at localhost.
func baseURL(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// PublicURL and HostURL are the base URLs of the two ports.
func (s *Server) PublicURL() string { return s.cfg.PublicURL }

// HostURL is the base URL of the host port.
func (s *Server) HostURL() string { return s.cfg.HostURL }

// listeners counts a space's listeners on this node, every protocol.
// On an origin, the audience is on the edges: their load reports count it.
func (s *Server) listeners(id string) int64 {
	n := s.hub.Listeners(id) + int64(s.whep.Listeners(id))
	if s.plane != nil && s.cfg.Role == RoleOrigin {
		for _, r := range s.plane.Reports() {
			n += int64(r.Spaces[id])
		}
	}
	return n
}

// RTCSessions is the number of open WHIP and WHEP sessions.
func (s *Server) RTCSessions() int { return s.whip.Sessions().Len() + s.whep.Sessions().Len() }

// Manager gives in-process callers (the demo) the origin's spaces.
func (s *Server) Manager() *space.Manager { return s.mgr }

// Store gives in-process callers the control-plane state.
func (s *Server) Store() *store.Store { return s.st }

// Log is the server's logger.
func (s *Server) Log() *slog.Logger { return s.log }

// Keys is the ticket keyring.
func (s *Server) Keys() *ticket.Keyring { return s.acc.Keys() }

// SetKeys replaces the ticket keyring (a rotation, or an edge's copy of the
// cluster's keys): tickets signed with any key it holds verify.
func (s *Server) SetKeys(kr *ticket.Keyring) { s.acc.SetKeys(kr) }

// Serve answers on both ports until Shutdown.
func (s *Server) Serve() {
	go s.gate.Run(s.ctx.Done())
	go s.runTelemetry(s.ctx)
	go s.serve(s.hostSrv, s.hostLn, "host")
	if s.pubSrv != nil {
		go s.serve(s.pubSrv, s.pubLn, "public")
	}
	s.runCluster(s.ctx)
	if s.org != nil {
		go s.org.RotateKeys(s.ctx, s.cfg.KeyRotation)
	}
	// Once both ports answer: a show that fell due while the node was down
	// starts now, for listeners who are already waiting.
	if s.mgr != nil && !s.clusteredOrigin() { // a clustered origin arms them with the lease
		if err := s.mgr.ArmSchedules(); err != nil {
			s.log.Error("arm auto-starts", "err", err)
		}
	}
	s.log.Info("onair serving", "public", s.cfg.PublicURL, "host", s.cfg.HostURL, "data", s.cfg.DataDir, "role", s.cfg.Role)
}

func (s *Server) serve(srv *http.Server, ln net.Listener, name string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("server stopped", "port", name, "err", err)
	}
}

// Shutdown ends live shows cleanly (EOS to listeners, recordings finalized),
// then closes both ports, the receipts log and the store. Calls after the
// first return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() { s.shutErr = s.shutdown(ctx) })
	return s.shutErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.whip.Sessions().CloseAll()
	s.whep.Sessions().CloseAll()
	if s.mgr != nil {
		s.mgr.StopShadows()
		s.mgr.Shutdown()
	}
	s.hub.Close()
	s.cancel() // wakes ingest and listener handlers still waiting
	var errPub error
	if s.pubSrv != nil {
		if errPub = s.pubSrv.Shutdown(ctx); errPub != nil {
			s.pubSrv.Close()
		}
	}
	errHost := s.hostSrv.Shutdown(ctx)
	if errHost != nil {
		s.hostSrv.Close()
	}
	var errStore error
	if s.st != nil {
		errStore = s.st.Close()
	}
	s.leaveCluster()
	return errors.Join(errPub, errHost, s.closeReceipts(), errStore)
}

package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/program"
)

// Subjects: a space's frames, and the origin's answer to "what do I need
// to start this space now".
const (
	programSubject = "onair.program."
	stateSubject   = "onair.state."
)

// NATSConfig configures a clustered bus.
type NATSConfig struct {
	// URLs of NATS servers of one cluster; the client learns the others
	// from them and reconnects to any when its server goes.
	URLs []string
	// Name names the connection in the servers' monitoring (e.g. the node).
	Name string
	// Keep is how many recent frames a published space holds for Join
	// (default DefaultKeep; negative: none).
	Keep int
	// Head is the OpusHead sent with them (default DefaultHead()).
	Head []byte
	// JoinTimeout bounds the wait for an origin's recent frames (default
	// 500 ms); a Join that times out goes on with the live frames only.
	JoinTimeout time.Duration
	// ReconnectWait is the pause before retrying a server already tried
	// (default 100 ms); untried servers of the cluster are tried at once.
	ReconnectWait time.Duration
	Log           *slog.Logger
}

// NATS is the clustered bus: frames of a space go on the subject
// onair.program.<space> with core NATS (at most once, in order per
// publisher); a publisher answers onair.state.<space> requests with its
// recent frames so a subscriber can start mid-show.
type NATS struct {
	nc   *nats.Conn
	cfg  NATSConfig
	hist *history
	c    counters
	lat  latencies
	log  *slog.Logger

	mu         sync.Mutex
	responders map[string]*nats.Subscription // spaces this bus publishes, answering state requests
	bufs       sync.Pool
}

// DialNATS connects to the cluster. It fails if no server answers; once
// connected it reconnects by itself, forever.
func DialNATS(cfg NATSConfig) (*NATS, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("bus: no NATS server URL")
	}
	if cfg.Keep == 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Keep > maxStateFrames {
		return nil, fmt.Errorf("bus: keep %d frames is over the %d a state message holds", cfg.Keep, maxStateFrames)
	}
	if cfg.Head == nil {
		cfg.Head = DefaultHead()
	}
	if len(cfg.Head) > 255 {
		return nil, errors.New("bus: OpusHead longer than 255 bytes")
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 500 * time.Millisecond
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 100 * time.Millisecond
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &NATS{cfg: cfg, hist: newHistory(cfg.Keep), log: log, responders: make(map[string]*nats.Subscription)}
	b.bufs.New = func() any { return new([]byte) }
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), b.options()...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to NATS %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	b.nc = nc
	return b, nil
}

func (b *NATS) options() []nats.Option {
	return []nats.Option{
		nats.Name(b.cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(b.cfg.ReconnectWait),
		nats.ReconnectJitter(b.cfg.ReconnectWait/4, b.cfg.ReconnectWait/4),
		nats.Timeout(2 * time.Second),
		// A server that hangs rather than closes is given up within ~1.5 s.
		nats.PingInterval(500 * time.Millisecond),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			metricConnEvents.WithLabelValues("disconnect").Inc()
			b.log.Warn("bus: NATS disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			metricConnEvents.WithLabelValues("reconnect").Inc()
			b.log.Info("bus: NATS reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			metricConnEvents.WithLabelValues("error").Inc()
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			b.log.Warn("bus: NATS error", "subject", subj, "err", err)
		}),
	}
}

// Close stops the bus: what it has published goes out first (for up to a
// second: the shows' End frames), then subscriptions end.
func (b *NATS) Close() {
	_ = b.nc.FlushTimeout(time.Second)
	b.nc.Close()
}

// Connected reports whether the bus has a server now.
func (b *NATS) Connected() bool { return b.nc.IsConnected() }

// Conn is the bus's NATS connection, shared by the control plane
// (internal/control) so a node holds one connection to the cluster.
func (b *NATS) Conn() *nats.Conn { return b.nc }

// Server is the URL of the server the bus is connected to ("" if none).
func (b *NATS) Server() string { return b.nc.ConnectedUrlRedacted() }

// Flush waits until the server has everything this bus sent.
func (b *NATS) Flush(timeout time.Duration) error { return b.nc.FlushTimeout(timeout) }

// Publish implements Bus. A frame that cannot go (bad space id, closed
// connection) is counted as dropped; while reconnecting, frames wait in
// the client's buffer.
func (b *NATS) Publish(space string, f program.Frame) {
	if checkSpace(space) != nil || (!f.End && (len(f.Packet) == 0 || len(f.Packet) > maxPacket)) {
		b.c.drop("unsendable")
		return
	}
	b.c.publish()
	bp := b.bufs.Get().(*[]byte)
	*bp = appendFrame((*bp)[:0], f, time.Now())
	if err := b.nc.Publish(programSubject+space, *bp); err != nil {
		b.c.drop("unsendable")
		b.log.Warn("bus: publish failed", "space", space, "err", err)
	}
	b.bufs.Put(bp) // the client copied the message into its buffer
	// Held for state replies only once sent: a reply never holds a frame
	// that may still miss the joiner's live subscription. (A joiner drops
	// the live copies of frames its reply held.)
	b.track(space, f)
}

// track keeps the space's recent frames and answers state requests for it
// while it is live.
func (b *NATS) track(space string, f program.Frame) {
	first := b.hist.add(space, f)
	if !first && !f.End {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.End {
		if r := b.responders[space]; r != nil {
			_ = r.Unsubscribe()
			delete(b.responders, space)
		}
		return
	}
	if b.responders[space] != nil {
		return
	}
	r, err := b.nc.Subscribe(stateSubject+space, func(m *nats.Msg) { b.serveState(space, m) })
	if err != nil {
		b.log.Warn("bus: cannot answer state requests", "space", space, "err", err)
		return
	}
	b.responders[space] = r
}

func (b *NATS) serveState(space string, m *nats.Msg) {
	if m.Reply == "" {
		b.c.drop("malformed")
		return
	}
	st := fitState(State{Head: b.cfg.Head, Frames: b.hist.snapshot(space)}, int(b.nc.MaxPayload()))
	if len(st.Frames) == 0 {
		st.Head = nil
	}
	if err := m.Respond(appendState(nil, st)); err != nil {
		b.log.Warn("bus: state reply failed", "space", space, "err", err)
	}
}

// Recent asks the space's publisher for its head and recent frames. A
// space nobody publishes has an empty State and no error.
func (b *NATS) Recent(space string) (State, error) {
	if err := checkSpace(space); err != nil {
		return State{}, err
	}
	m, err := b.nc.Request(stateSubject+space, nil, b.cfg.JoinTimeout)
	if errors.Is(err, nats.ErrNoResponders) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("bus: recent frames of %s: %w", space, err)
	}
	st, err := decodeState(m.Data)
	if err != nil {
		b.c.drop(dropReason(err))
		return State{}, fmt.Errorf("bus: recent frames of %s: %w", space, err)
	}
	return st, nil
}

// Stats implements Bus.
func (b *NATS) Stats() Stats { return b.c.stats(&b.lat) }

func dropReason(err error) string {
	if errors.Is(err, errVersion) {
		return "version"
	}
	return "malformed"
}

package gate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/onair-live/onair/internal/telemetry"
)

// ConnLimits caps concurrent connections per source and per prefix, and
// the rate of new connections: a connection flood or a slowloris from a
// few networks fills its own quota, not the node's. The caps count the
// connections that have not shown a ticket: one that carries an admitted
// listener's media gives its slot back (see AdmitConn), so thousands of
// listeners behind one carrier NAT or campus /24 are bounded by admission,
// not by their source.
type ConnLimits struct {
	PerIP     int     // concurrent connections per address (default 64)
	PerPrefix int     // per /24 or /48 (default 512)
	Rate      float64 // accepted connections per second, whole listener (default 20000): a backstop against floods
	Burst     int     // (default 20000)
}

func (c *ConnLimits) defaults() {
	if c.PerIP <= 0 {
		c.PerIP = 64
	}
	if c.PerPrefix <= 0 {
		c.PerPrefix = 512
	}
	if c.Rate <= 0 {
		c.Rate = 20000
	}
	if c.Burst <= 0 {
		c.Burst = 20000
	}
}

// GuardListener wraps ln: connections over a cap are closed at accept,
// before a byte is read, which is the cheapest rejection there is.
func GuardListener(ln net.Listener, lim ConnLimits, g *Gate) net.Listener {
	lim.defaults()
	return &guarded{Listener: ln, lim: lim, g: g, ip: map[netip.Addr]int{}, prefix: map[netip.Prefix]int{},
		held: map[uint64]int{}, accept: NewLimiter(lim.Rate, lim.Burst, 1),
		// counted for the receipts only (see Limit's pass), resolved once
		accepted: g.tel.Tally.Counter(telemetry.Decision{Stage: "conn", Outcome: "accepted", Reason: "ok"})}
}

type guarded struct {
	net.Listener
	lim      ConnLimits
	g        *Gate
	accept   *Limiter
	accepted *atomic.Int64

	mu     sync.Mutex
	ip     map[netip.Addr]int
	prefix map[netip.Prefix]int
	held   map[uint64]int // admitted connections per listener id
}

func (l *guarded) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := SourceOf(c.RemoteAddr().String())
		proxy := l.proxy(src)
		if reason := l.admit(src, proxy); reason != "" {
			l.g.countFrom(src, "conn", "rejected", reason)
			c.Close()
			continue
		}
		l.accepted.Add(1)
		// A proxy's connection holds no slot to give back.
		gc := &guardedConn{Conn: c, l: l, src: src, counted: !proxy}
		gc.settled.Store(proxy)
		return gc, nil
	}
}

// admit takes a slot for src (none for a proxy), or says why not.
func (l *guarded) admit(src Source, proxy bool) string {
	if ok, _ := l.accept.Allow(netip.Addr{}, time.Now()); !ok {
		return "accept_rate"
	}
	if proxy {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.ip[src.Addr] >= l.lim.PerIP:
		return "conns_per_ip"
	case l.prefix[src.Prefix] >= l.lim.PerPrefix:
		return "conns_per_prefix"
	}
	l.ip[src.Addr]++
	l.prefix[src.Prefix]++
	return ""
}

// proxy reports whether src is a trusted proxy (your cache or load
// balancer). Its connections carry many listeners, so per-source caps
// would turn them away at the proxy as 502s; their requests are still
// limited by the address they forward for.
func (l *guarded) proxy(src Source) bool {
	return l.g != nil && trusted(src.Addr, l.g.cfg.TrustedProxies)
}

// release gives back src's slot; l.mu is held.
func (l *guarded) release(src Source) {
	if l.ip[src.Addr]--; l.ip[src.Addr] <= 0 {
		delete(l.ip, src.Addr)
	}
	if l.prefix[src.Prefix]--; l.prefix[src.Prefix] <= 0 {
		delete(l.prefix, src.Prefix)
	}
}

// connsPerTicket is how many connections one admitted listener may hold
// outside the caps: its stream, and its reconnection while the old one
// has not yet been seen gone.
const connsPerTicket = 2

// guardedConn gives its slot back once: when closed, or when it shows an
// admitted listener's ticket. It keeps the TCP connection reachable for the
// Ogg writers, which need the raw socket.
type guardedConn struct {
	net.Conn
	l      *guarded
	src    Source
	closed atomic.Bool
	// settled: admit has nothing left to move (a proxy's connection, or one
	// already admitted), known without the listener-wide lock.
	settled atomic.Bool
	// Under l.mu: the connection holds a slot of src (counted), or one of
	// the connsPerTicket of listener (admitted), or neither.
	counted, admitted bool
	listener          uint64
}

func (c *guardedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		l := c.l
		l.mu.Lock()
		switch {
		case c.admitted:
			if l.held[c.listener]--; l.held[c.listener] <= 0 {
				delete(l.held, c.listener)
			}
		case c.counted:
			l.release(c.src)
		}
		c.counted, c.admitted = false, false
		l.mu.Unlock()
	}
	return c.Conn.Close()
}

// admit moves c from its source's slots to listener's, if listener has one
// left; a connection over that stays counted against its source.
func (c *guardedConn) admit(listener uint64) {
	if c.settled.Load() { // every ticketed request after the first: no lock
		return
	}
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !c.counted || l.held[listener] >= connsPerTicket {
		return
	}
	l.held[listener]++
	l.release(c.src)
	c.counted, c.admitted, c.listener = false, true, listener
	c.settled.Store(true)
}

type connKey struct{}

// ConnContext is for http.Server.ConnContext: it lets AdmitConn find the
// connection a request came on.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// AdmitConn says that r, on its connection, carries a valid ticket of
// admitted listener id for media: the connection no longer counts against
// its source's caps (which are for connections that have shown nothing:
// slowloris, floods), since admission bounds listeners. At most
// connsPerTicket connections per listener are moved out of the caps, so a
// ticket cannot be multiplied into a flood.
func AdmitConn(r *http.Request, listener uint64) {
	if gc, ok := r.Context().Value(connKey{}).(*guardedConn); ok {
		gc.admit(listener)
	}
}

// NetConn returns the wrapped connection (as crypto/tls does), so that code
// that needs the socket can reach it; closing must still go through c.
func (c *guardedConn) NetConn() net.Conn { return c.Conn }

// SyscallConn exposes the socket of a TCP connection to writers that
// send with raw system calls.
func (c *guardedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("gate: not a socket")
}

// SetWriteBuffer sets the socket's send buffer when it has one.
func (c *guardedConn) SetWriteBuffer(n int) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetWriteBuffer(n)
	}
	return nil
}

// Package natsnode runs a NATS server inside the onair process: one alone
// for a small deployment, or several joined by routes into a cluster.
package natsnode

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config describes one embedded server. The zero value is a lone server on a
// random loopback port.
type Config struct {
	// Name identifies the server in its cluster (default: the server's id).
	Name string
	// Listen is the client address, host:port; port 0 picks a free one
	// (default 127.0.0.1:0).
	Listen string
	// Cluster is the name every server of one cluster shares (default
	// "onair"); it only matters when ClusterListen is set.
	Cluster string
	// ClusterListen is the route address, host:port (port 0: a free one);
	// empty runs the server alone, with no route port.
	ClusterListen string
	// Routes are the route URLs (nats://host:port) of other servers of the
	// cluster; one reachable seed is enough, the servers gossip the rest.
	Routes []string
	// JetStream enables the server's persistence layer, which the control
	// plane's KV buckets live in (internal/control). In a cluster every
	// server should enable it so a bucket's replicas can spread.
	JetStream bool
	// StoreDir is where JetStream keeps its files (default: a directory
	// under the system's temporary directory, chosen by the server).
	StoreDir string
	// Ready bounds the wait for the client port to accept (default 10 s).
	Ready time.Duration
	// Log receives the server's notices, warnings and errors (default: none).
	Log *slog.Logger
}

// Node is a running embedded server.
type Node struct {
	srv *server.Server
}

// Start starts a server and returns once it accepts clients. A bad address,
// a port in use or a bad route URL is an error and nothing keeps running.
func Start(cfg Config) (*Node, error) {
	opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	if err := portsFree(opts); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	if cfg.Log != nil {
		srv.SetLoggerV2(logAdapter{cfg.Log}, false, false, false)
	}
	ready := cfg.Ready
	if ready <= 0 {
		ready = 10 * time.Second
	}
	go srv.Start()
	if !srv.ReadyForConnections(ready) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("nats server %s %s: not accepting clients after %s (port in use?)", cfg.Name, opts.Host, ready)
	}
	if cfg.JetStream && !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("nats server %s: JetStream did not start (a clustered server needs routes; see its log)", cfg.Name)
	}
	return &Node{srv: srv}, nil
}

func options(cfg Config) (*server.Options, error) {
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	host, port, err := hostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	opts := &server.Options{ServerName: cfg.Name, Host: host, Port: port, NoSigs: true, NoLog: cfg.Log == nil,
		// A dead peer must be noticed in well under the 2 s a listener may
		// stall: ping often and give up after two missed pongs.
		PingInterval: 500 * time.Millisecond, MaxPingsOut: 2,
		JetStream: cfg.JetStream, StoreDir: cfg.StoreDir}
	if cfg.JetStream && cfg.Name == "" {
		return nil, errors.New("nats JetStream needs a server name (it names the server's replicas)")
	}
	if cfg.ClusterListen == "" {
		if len(cfg.Routes) > 0 {
			return nil, errors.New("nats routes given without a cluster listen address")
		}
		return opts, nil
	}
	if cfg.JetStream && len(cfg.Routes) == 0 {
		return nil, errors.New("nats JetStream in a cluster needs routes (every server's, its own may be among them)")
	}
	chost, cport, err := hostPort(cfg.ClusterListen)
	if err != nil {
		return nil, fmt.Errorf("nats cluster address %q: %w", cfg.ClusterListen, err)
	}
	name := cfg.Cluster
	if name == "" {
		name = "onair"
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: chost, Port: cport}
	for _, r := range cfg.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats" || u.Port() == "" {
			return nil, fmt.Errorf("nats route %q: want nats://host:port", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return opts, nil
}

// portsFree fails at once, with the system's reason, for a fixed port that
// is taken: the server itself would only be "not ready" after a wait.
func portsFree(opts *server.Options) error {
	for _, a := range []struct {
		what string
		host string
		port int
	}{{"client", opts.Host, opts.Port}, {"cluster", opts.Cluster.Host, opts.Cluster.Port}} {
		if a.port <= 0 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(a.host, strconv.Itoa(a.port)))
		if err != nil {
			return fmt.Errorf("nats %s port: %w", a.what, err)
		}
		l.Close()
	}
	return nil
}

// hostPort splits host:port; port 0 becomes the server's "pick a free port".
func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// ClientURL is the URL clients connect to (nats://host:port).
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// RouteURL is the URL other servers route to, or "" without a cluster port.
func (n *Node) RouteURL() string {
	a := n.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Name is the server's name in its cluster.
func (n *Node) Name() string { return n.srv.Name() }

// Peers is how many other servers this one has routes to now.
func (n *Node) Peers() int { return n.srv.NumRemotes() }

// WaitPeers waits until the server has routes to at least peers others.
func (n *Node) WaitPeers(peers int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for n.Peers() < peers {
		if time.Now().After(deadline) {
			return fmt.Errorf("nats server %s: %d of %d peers routed after %s", n.Name(), n.Peers(), peers, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// WaitJetStream waits until the server's JetStream is up and, in a
// cluster, has a meta leader it is current with: until then creating a
// bucket fails.
func (n *Node) WaitJetStream(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		h := n.srv.Healthz(&server.HealthzOptions{JSMetaOnly: true})
		if h.Status == "ok" && n.srv.JetStreamEnabled() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats server %s: JetStream not ready after %s: %s", n.Name(), timeout, h.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LeadsStream reports whether this server leads the JetStream stream
// (of the default account) now: which server to stop to test a leader's loss.
func (n *Node) LeadsStream(stream string) bool {
	return n.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)
}

// Shutdown closes every client and route connection and waits until the
// server has stopped. It is idempotent.
func (n *Node) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

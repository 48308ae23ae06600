package natsnode

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// StartCluster starts n servers on loopback, routed to each other, and waits
// until every one sees all the others: a cluster for tests and the demo.
func StartCluster(n int, log *slog.Logger) ([]*Node, error) {
	return StartClusterWith(n, Config{Log: log})
}

// StartClusterWith is StartCluster with base as every server's
// configuration (names, addresses and routes are set here); with
// base.JetStream each server keeps its files in base.StoreDir/<name> and
// it returns once JetStream has a meta leader.
func StartClusterWith(n int, base Config) ([]*Node, error) {
	var nodes []*Node
	stop := func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	}
	routes, err := clusterRoutes(n, base.JetStream)
	if err != nil {
		return nil, err
	}
	for i := range n {
		cfg := base
		cfg.Name, cfg.Listen, cfg.ClusterListen, cfg.Routes = fmt.Sprintf("onair-nats-%d", i+1), "", "127.0.0.1:0", routes
		if routes != nil {
			cfg.ClusterListen = strings.TrimPrefix(routes[i], "nats://")
		}
		if n == 1 && base.JetStream { // a JetStream "cluster" of one never elects a meta leader
			cfg.ClusterListen, cfg.Routes = "", nil
		}
		if base.JetStream && base.StoreDir != "" {
			cfg.StoreDir = filepath.Join(base.StoreDir, cfg.Name)
		}
		if routes == nil && i > 0 {
			cfg.Routes = []string{nodes[0].RouteURL()}
		}
		nd, err := Start(cfg)
		if err != nil {
			stop()
			return nil, err
		}
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		if err := nd.WaitPeers(n-1, 10*time.Second); err != nil {
			stop()
			return nil, err
		}
	}
	for _, nd := range nodes {
		if !base.JetStream {
			break
		}
		if err := nd.WaitJetStream(20 * time.Second); err != nil {
			stop()
			return nil, err
		}
	}
	return nodes, nil
}

// clusterRoutes picks the route ports of a JetStream cluster beforehand:
// JetStream refuses to start on a clustered server with no routes, so
// even the first must know the others (a server ignores a route to
// itself). Without JetStream the servers route to the first one's port.
func clusterRoutes(n int, jetStream bool) ([]string, error) {
	if !jetStream || n == 1 {
		return nil, nil
	}
	var routes []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("nats route port: %w", err)
		}
		routes = append(routes, "nats://"+l.Addr().String())
		l.Close()
	}
	return routes, nil
}

package natsnode

import (
	"fmt"
	"log/slog"
	"time"
)

// StartCluster starts n servers on loopback, routed to each other, and waits
// until every one sees all the others: a cluster for tests and the demo.
func StartCluster(n int, log *slog.Logger) ([]*Node, error) {
	var nodes []*Node
	stop := func() {
		for _, nd := range nodes {
			nd.Shutdown()
		}
	}
	for i := range n {
		cfg := Config{Name: fmt.Sprintf("onair-nats-%d", i+1), ClusterListen: "127.0.0.1:0", Log: log}
		if i > 0 {
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
	return nodes, nil
}

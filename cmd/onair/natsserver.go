package main

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/onair-live/onair/internal/natsnode"
)

// runNATS is `onair nats`: one NATS server with JetStream, nothing else,
// for a cluster whose NATS servers live apart from origins and edges
// (where a separate nats-server install is not wanted).
func runNATS(args []string) error {
	fs := newFlagSet("nats", "onair nats [flags]",
		"Run one NATS server (with JetStream, for the control plane) for origins and edges to join with --nats.\n"+
			"Three of them, each listing the others' route URLs in --cluster, survive one failing.")
	var o busOpts
	var name, dir, level string
	o.listen, o.clusterListen = "127.0.0.1:4222", ":6222"
	fs.Var((*addrFlag)(&o.listen), "listen", "client address (origins and edges connect here with --nats nats://HOST:PORT)")
	fs.Var((*addrFlag)(&o.clusterListen), "cluster-listen", "route address, the one the other servers list in --cluster")
	fs.Var(&o.cluster, "cluster", "route URLs of all the cluster's servers, nats://HOST:PORT comma-separated (this server's own may be listed); empty: a lone server")
	fs.StringVar(&name, "name", "", "the server's name in its cluster, different for each (default: host name and client port)")
	fs.StringVar(&dir, "data", "./onair-nats", "directory for JetStream's files")
	level = "warn"
	fs.Var((*levelFlag)(&level), "log-level", "log level: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	log, err := newLogger(level)
	if err != nil {
		return err
	}
	if name == "" { // JetStream names its replicas by server: one per host and port
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(o.listen)
		name = host + "-" + port
	}
	cfg := natsnode.Config{Name: name, Listen: o.listen, JetStream: true, StoreDir: dir, Log: log}
	if len(o.cluster) > 0 {
		cfg.ClusterListen, cfg.Routes = o.clusterListen, o.cluster
	}
	node, err := natsnode.Start(cfg)
	if err != nil {
		return err
	}
	log.Info("NATS server up", "clients", node.ClientURL(), "routes", node.RouteURL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	node.Shutdown()
	return nil
}

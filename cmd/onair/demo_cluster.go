package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/natsnode"
	"github.com/onair-live/onair/internal/server"
)

// demoCluster is `onair demo --edges N`: a deployment of several nodes on
// one machine, in one process for ease (a real one runs each node as its
// own `onair serve --role ...`): three embedded NATS servers routed into
// a cluster, an origin, and N edges, each edge on a different NATS server.
type demoCluster struct {
	nats   []*natsnode.Node
	buses  []*bus.NATS
	origin *server.Server
	edges  []*server.Server
}

func startDemoCluster(cfg server.Config, edges int, log *slog.Logger) (*demoCluster, error) {
	d := &demoCluster{}
	var err error
	if d.nats, err = natsnode.StartClusterWith(3, natsnode.Config{JetStream: true,
		StoreDir: filepath.Join(cfg.DataDir, "nats")}); err != nil {
		return nil, err
	}
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	base := cfg
	base.ClusterKey = []byte(hex.EncodeToString(key))
	oc := base
	oc.Role, oc.NodeName, oc.DataDir, oc.Log = server.RoleOrigin, "origin", filepath.Join(cfg.DataDir, "origin"), log.With("node", "origin")
	if d.origin, err = d.node(oc, 0); err != nil {
		d.stop()
		return nil, err
	}
	d.origin.Serve()
	for i := range edges {
		ec := base
		ec.Role, ec.NodeName = server.RoleEdge, fmt.Sprintf("edge-%d", i+1)
		ec.DataDir, ec.Log = filepath.Join(cfg.DataDir, ec.NodeName), log.With("node", ec.NodeName)
		// Edge i listens 10 ports above edge i-1; its ops port sits just
		// above its public port, clear of the origin's host port.
		ec.Listen, ec.PublicURL = shiftPort(cfg.Listen, 10*i), ""
		ec.HostListen, ec.HostURL = shiftPort(cfg.Listen, 10*i+2), ""
		e, err := d.node(ec, (i+1)%len(d.nats))
		if err != nil {
			d.stop()
			return nil, err
		}
		e.Serve()
		d.edges = append(d.edges, e)
	}
	return d, nil
}

// node starts one node on a NATS connection of its own to server n.
func (d *demoCluster) node(cfg server.Config, n int) (*server.Server, error) {
	b, err := bus.DialNATS(bus.NATSConfig{URLs: []string{d.nats[n].ClientURL()}, Name: cfg.NodeName, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	d.buses = append(d.buses, b)
	cfg.Bus = b
	return server.New(cfg)
}

// stop ends the shows (origin first: its end of stream reaches the
// edges' listeners), then the edges, the buses and NATS.
func (d *demoCluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if d.origin != nil {
		_ = d.origin.Shutdown(ctx)
	}
	time.Sleep(200 * time.Millisecond) // the End frames cross the bus
	for _, e := range d.edges {
		_ = e.Shutdown(ctx)
	}
	for _, b := range d.buses {
		b.Close()
	}
	for _, n := range d.nats {
		n.Shutdown()
	}
}

// shiftPort returns addr with its port moved by k (port 0 stays 0).
func shiftPort(addr string, k int) string {
	host, port, err := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if err != nil || p == 0 {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(p+k))
}

func (d *demoCluster) print(id, hostToken, dataDir string) {
	tok, _, err := d.origin.Keys().Issue(id, demoTicketTTL, time.Now())
	if err != nil {
		return
	}
	var pages, oggs []string
	for _, e := range d.edges {
		pages = append(pages, "  "+e.PublicURL()+"/s/"+id)
		oggs = append(oggs, "  ffplay -nodisp '"+e.PublicURL()+"/live/"+id+".opus?t="+tok+"'")
	}
	var urls []string
	for _, n := range d.nats {
		urls = append(urls, n.ClientURL())
	}
	fmt.Printf(`
onair cluster demo is on air: a synthetic speaker is live in space %[1]s,
mixed on the origin and carried over a 3-server NATS cluster to %[2]d edges.

Listen in a browser, on any edge (a join is sent to the edge with the most headroom):
%[3]s
Listen with ffplay (the same ticket works on every edge):
%[4]s
Speak in a browser:   %[5]s/studio/%[1]s#token=%[6]s
NATS servers:         %[7]s
Join like a client:   curl -s -X POST %[8]s/api/v1/spaces/%[1]s/join

Data dir: %[9]s (origin, edge-N and nats/ within). Press Ctrl-C to end the show.

`, id, len(d.edges), strings.Join(pages, "\n"), strings.Join(oggs, "\n"), d.origin.HostURL(), hostToken,
		strings.Join(urls, " "), d.edges[0].PublicURL(), dataDir)
}

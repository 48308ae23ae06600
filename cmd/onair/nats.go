package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/natsnode"
)

// busOpts chooses the program bus: in-process (the default, one process),
// an existing NATS cluster, or a NATS server embedded in this process.
type busOpts struct {
	nats          string
	listen        string
	cluster       urlList
	clusterListen string
	set           map[string]bool // flags given (command line or environment)
}

func busFlags(fs *flag.FlagSet, o *busOpts) {
	o.listen, o.clusterListen = "127.0.0.1:4222", ":6222"
	fs.StringVar(&o.nats, "nats", "", "program bus between processes: empty for none (one process, in-process bus); "+
		"nats://HOST:PORT[,nats://HOST:PORT...] to join an existing NATS cluster; "+
		"\"embedded\" to run a NATS server inside this process")
	fs.Var((*addrFlag)(&o.listen), "nats-listen", "client address of the embedded NATS server (with --nats embedded)")
	fs.Var(&o.cluster, "nats-cluster", "route URLs of the other embedded NATS servers, nats://HOST:PORT comma-separated, "+
		"to form one cluster of several onair processes (with --nats embedded; this server's own URL may be listed too)")
	fs.Var((*addrFlag)(&o.clusterListen), "nats-cluster-listen", "route address of the embedded NATS server, the one the others list in --nats-cluster "+
		"(with --nats embedded; routes are only listened for when this or --nats-cluster is given)")
}

// check validates the combination once the flags are parsed.
func (o *busOpts) check(fs *flag.FlagSet) error {
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	embedded := o.nats == "embedded"
	for _, f := range []string{"nats-listen", "nats-cluster", "nats-cluster-listen"} {
		if o.set[f] && !embedded {
			return usagef("--%s is for an embedded NATS server: add --nats embedded", f)
		}
	}
	if o.nats == "" || embedded {
		return nil
	}
	for _, u := range strings.Split(o.nats, ",") {
		if err := checkNATSURL(u, "nats", "tls"); err != nil {
			return usagef("--nats: %v (or \"embedded\")", err)
		}
	}
	return nil
}

// open makes the bus; stop closes it, and the embedded server after it.
// The default is the in-process bus, as before NATS existed. jsDir, when
// set, turns JetStream on in an embedded server (the control plane of
// origins and edges lives in it) with its files there.
func (o *busOpts) open(name, jsDir string, log *slog.Logger) (b bus.Bus, stop func(), err error) {
	if o.nats == "" {
		return bus.NewLocal(), func() {}, nil
	}
	urls := strings.Split(o.nats, ",")
	var node *natsnode.Node
	if o.nats == "embedded" {
		cfg := natsnode.Config{Name: name, Listen: o.listen, Log: log, JetStream: jsDir != "", StoreDir: jsDir}
		if o.set["nats-cluster"] || o.set["nats-cluster-listen"] {
			cfg.ClusterListen, cfg.Routes = o.clusterListen, o.cluster
		}
		if node, err = natsnode.Start(cfg); err != nil {
			return nil, nil, err
		}
		log.Info("embedded NATS server", "clients", node.ClientURL(), "routes", node.RouteURL())
		urls = []string{node.ClientURL()}
	}
	nb, err := bus.DialNATS(bus.NATSConfig{URLs: urls, Name: name, Log: log})
	if err != nil {
		if node != nil {
			node.Shutdown()
		}
		return nil, nil, err
	}
	log.Info("program bus on NATS", "server", nb.Server())
	return nb, func() {
		nb.Close()
		if node != nil {
			node.Shutdown()
		}
	}, nil
}

// urlList is a comma-separated list of nats:// route URLs.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if err := checkNATSURL(strings.TrimSpace(s), "nats"); err != nil {
			return err
		}
		*l = append(*l, strings.TrimSpace(s))
	}
	return nil
}

func checkNATSURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err == nil && u.Host != "" && u.Port() != "" {
		for _, sc := range schemes {
			if u.Scheme == sc {
				return nil
			}
		}
	}
	return fmt.Errorf("%q: want %s://HOST:PORT", s, strings.Join(schemes, "://HOST:PORT or "))
}

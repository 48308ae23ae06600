package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The cluster on a NATS that nobody here built or embedded: Debian's own
// nats-server package (2.9.10 in Debian 12), three of them routed on
// loopback with JetStream, each from a plain config file.

// debianNATS is the path of the packaged nats-server; the test skips
// without it (scripts/deps.sh test installs it, so CI runs it).
func debianNATS(t *testing.T) (bin, version string) {
	t.Helper()
	bin = "/usr/sbin/nats-server" // where Debian's package puts it
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Skip("no nats-server installed (Debian: apt-get install nats-server; scripts/deps.sh test does)")
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	return bin, strings.TrimSpace(string(out))
}

// natsConfig is a nats-server config file: a cluster member with
// JetStream, as an operator would write one, nothing tuned for onair.
const natsConfig = `server_name: %q
listen: "127.0.0.1:%d"
jetstream {
  store_dir: %q
}
cluster {
  name: "onair-debian"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`

// startDebianNATS runs three nats-server processes of bin as one cluster;
// server i is named deb-<i+1>.
func startDebianNATS(t *testing.T, bin, dir string) *clusterProcs {
	t.Helper()
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	c := &clusterProcs{}
	for i := range 3 {
		name := fmt.Sprintf("deb-%d", i+1)
		conf := filepath.Join(dir, name+".conf")
		body := fmt.Sprintf(natsConfig, name, ports[i], filepath.Join(dir, name), ports[3+i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		c.client = append(c.client, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
		c.nats = append(c.nats, startProc(t, cleanEnv(), bin, "-c", conf))
	}
	c.waitUp(t)
	return c
}

// leaderOf names the server that leads stream (its writes wait for it).
func leaderOf(t *testing.T, url, stream string) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info := s.CachedInfo()
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream %s is not on three servers: %+v", stream, info.Cluster)
	}
	return info.Cluster.Leader
}

// electedAfter is how long after since the surviving servers of c logged
// a new leader for stream, from their logs (0: none logged).
func electedAfter(t *testing.T, c *clusterProcs, stream string, since time.Time) time.Duration {
	t.Helper()
	var first time.Time
	for _, n := range c.nats {
		for _, line := range strings.Split(n.stderr.String(), "\n") {
			// [pid] 2006/01/02 15:04:05.000000 [INF] JetStream cluster new stream leader for '$G > STREAM'
			f := strings.Fields(line)
			if len(f) < 4 || !strings.HasSuffix(line, "new stream leader for '$G > "+stream+"'") {
				continue
			}
			at, err := time.ParseInLocation("2006/01/02 15:04:05.000000", f[1]+" "+f[2], time.Local)
			if err == nil && at.After(since) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
	}
	if first.IsZero() {
		return 0
	}
	return first.Sub(since)
}

// TestClusterOnDebianNATS: an origin and two edges on three of Debian's
// nats-server; an ffmpeg speaker into the origin is heard on both edges,
// and once the server leading the spaces bucket is killed the listeners
// keep playing and a space made afterwards reaches both edges.
func TestClusterOnDebianNATS(t *testing.T) {
	needFFmpeg(t)
	bin, version := debianNATS(t)
	t.Logf("NATS: %s (%s)", version, bin)
	dir := t.TempDir()
	c := startDebianNATS(t, bin, dir)
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.nats {
				t.Logf("%s %s:\n%s", n.name, n.cmd.Args[2], n.stderr)
			}
			for _, n := range append([]*node{c.origin}, c.edges...) {
				if n != nil {
					t.Logf("onair %s:\n%s", n.cmd.Args[5], n.stderr)
				}
			}
		}
	})
	all := strings.Join(c.client, ",")
	c.origin = startRole(t, "origin", "origin", filepath.Join(dir, "origin"), all)
	for i := range 2 {
		c.edges = append(c.edges, startRole(t, "edge", fmt.Sprintf("edge-%d", i+1), filepath.Join(dir, fmt.Sprintf("edge-%d", i+1)), all))
	}
	o := c.origin
	sp := o.createSpace(t, "on Debian's NATS")
	spk := pushTone(t, o, sp, "a", 440)
	o.waitSpeaker(t, sp)
	o.goLive(t, sp)
	var ls []*timedListener
	for i, e := range c.edges {
		poll(t, 5*time.Second, fmt.Sprintf("live on edge-%d", i+1), func() bool {
			_, code, _ := joinAt(e.pub, sp.id, "")
			return code == http.StatusOK
		})
		j, code, err := joinAt(e.pub, sp.id, "")
		if err != nil || code != http.StatusOK {
			t.Fatalf("join at edge-%d: %d %v", i+1, code, err)
		}
		l, err := listenTimed(t, e.pub+"/live/"+sp.id+".opus?t="+j.Ticket, nil)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	time.Sleep(3 * time.Second)

	// kill -9 of the server leading the spaces bucket: its stream must
	// elect another leader before a space can be written again.
	leader := leaderOf(t, c.client[0], "KV_onair_spaces")
	var victim *proc
	for i := range c.nats {
		if fmt.Sprintf("deb-%d", i+1) == leader {
			victim = c.nats[i]
		}
	}
	if victim == nil {
		t.Fatalf("the spaces bucket's leader %q is none of the cluster's servers", leader)
	}
	killed := time.Now()
	_ = victim.cmd.Process.Kill()
	// A space made after the kill is on both edges (the origin's write
	// waits for the new leader), and can be joined there once live.
	sp2 := o.createSpace(t, "after the kill")
	for i, e := range c.edges {
		poll(t, 15*time.Second, fmt.Sprintf("the new space on edge-%d", i+1), func() bool {
			code, _ := httpGet(e.pub + "/api/v1/spaces/" + sp2.id)
			return code == http.StatusOK
		})
	}
	reached := time.Since(killed)
	elected := electedAfter(t, c, "KV_onair_spaces", killed)
	t.Logf("%s (the spaces bucket's leader) killed: the bucket's new leader elected after %v, a space made then on both edges after %v",
		leader, elected.Round(time.Millisecond), reached.Round(time.Millisecond))
	// The elections (the stream's leader, and the cluster's when it died
	// with it, before the edges' new consumers) take 4 to 10 s here on
	// 2.9.10, 4 to 5 s on the embedded 2.15 killed the same way.
	if reached > 20*time.Second {
		t.Fatalf("the new space reached the edges %v after the kill, want ≤ 20 s", reached)
	}
	mustCLI(t, cleanEnv(), "space", "start", sp2.id, "--token", sp2.token, "--server", o.host)
	for i, e := range c.edges {
		poll(t, 5*time.Second, fmt.Sprintf("the new space live on edge-%d", i+1), func() bool {
			_, code, _ := joinAt(e.pub, sp2.id, "")
			return code == http.StatusOK
		})
	}

	if wait := 5*time.Second - time.Since(killed); wait > 0 {
		time.Sleep(wait)
	}
	if !spk.running() {
		t.Fatalf("the ffmpeg speaker exited: %v\n%s", spk.err, spk.stderr)
	}
	for i, l := range ls {
		g := l.maxGapSince(killed.Add(-time.Second))
		t.Logf("listener on edge-%d: longest wait %v after the kill", i+1, g.Round(time.Millisecond))
		if g > 2*time.Second || time.Since(l.lastRead()) > 2*time.Second {
			t.Errorf("listener on edge-%d: longest wait %v after a NATS server died (want ≤ 2 s)", i+1, g)
		}
		heard := filepath.Join(t.TempDir(), fmt.Sprintf("edge-%d.opus", i+1))
		if err := os.WriteFile(heard, l.heard(), 0o644); err != nil {
			t.Fatal(err)
		}
		assertTone(t, decode(t, heard), 440)
	}
}

// httpGet is a GET whose body is dropped.
func httpGet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

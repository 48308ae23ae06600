package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// A cluster of separate processes: three `onair nats`, an origin and two
// edges, with an ffmpeg speaker into the origin, and faults dealt by kill -9.

const clusterKey = "cluster-test-key-0123456789abcdef"

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

type clusterProcs struct {
	nats   []*proc
	client []string // the NATS servers' client URLs
	origin *node
	edges  []*node
}

func startNATSCluster(t *testing.T, dir string) *clusterProcs {
	t.Helper()
	ports := freePorts(t, 6)
	var routes []string
	c := &clusterProcs{}
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
		c.client = append(c.client, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	for i := range 3 {
		c.nats = append(c.nats, startProc(t, cleanEnv(), onairBin(t), "nats", "--name", fmt.Sprintf("nats-%d", i+1),
			"--listen", fmt.Sprintf("127.0.0.1:%d", ports[i]), "--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"--cluster", strings.Join(routes, ","), "--log-level", "info", "--data", filepath.Join(dir, fmt.Sprintf("nats-%d", i+1))))
	}
	c.waitUp(t)
	return c
}

// waitUp waits until every NATS server of c accepts clients.
func (c *clusterProcs) waitUp(t *testing.T) {
	t.Helper()
	for i, u := range c.client {
		poll(t, 20*time.Second, "NATS server "+u, func() bool {
			if !c.nats[i].running() {
				t.Fatalf("%s exited: %s", c.nats[i].name, c.nats[i].stderr)
			}
			conn, err := net.Dial("tcp", strings.TrimPrefix(u, "nats://"))
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}
}

var roleServingRE = regexp.MustCompile(`msg="onair serving" public=(\S*) host=(\S+)`)

// startRole runs `onair serve --role ROLE` on the NATS server at natsURL
// (it learns the others from it and fails over to them), with extra flags.
func startRole(t *testing.T, role, name, data, natsURL string, extra ...string) *node {
	t.Helper()
	return startRoleEnv(t, cleanEnv(), role, name, data, natsURL, extra...)
}

// startRoleEnv is startRole with the process's environment.
func startRoleEnv(t *testing.T, env []string, role, name, data, natsURL string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--role", role, "--node-name", name, "--nats", natsURL,
		"--cluster-key", clusterKey, "--listen", "127.0.0.1:0", "--host-listen", "127.0.0.1:0", "--data", data}, extra...)
	p := startProc(t, env, onairBin(t), args...)
	n := &node{proc: p, data: data}
	poll(t, 30*time.Second, name+" to log its URLs", func() bool {
		if !p.running() {
			t.Fatalf("%s exited early: %v\nstderr:\n%s", name, p.err, p.stderr)
		}
		m := roleServingRE.FindStringSubmatch(p.stderr.String())
		if m != nil {
			n.pub, n.host = strings.Trim(m[1], `"`), m[2]
		}
		return m != nil
	})
	return n
}

// timedListener records when each chunk of a live Ogg stream arrived.
type timedListener struct {
	mu    sync.Mutex
	bytes int
	body  []byte          // what arrived, for a decoder
	gaps  []time.Duration // between reads
	last  time.Time
	done  chan struct{}
	err   error
}

func listenTimed(t *testing.T, url string, hdr http.Header) (*timedListener, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	l := &timedListener{done: make(chan struct{}), last: time.Now()}
	go func() {
		defer close(l.done)
		defer resp.Body.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			now := time.Now()
			l.mu.Lock()
			if n > 0 {
				l.gaps = append(l.gaps, now.Sub(l.last))
				l.last, l.bytes, l.body = now, l.bytes+n, append(l.body, buf[:n]...)
			}
			l.mu.Unlock()
			if err != nil {
				l.err = err
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-l.done })
	return l, nil
}

// maxGapSince is the longest wait between reads after from.
func (l *timedListener) maxGapSince(from time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var worst time.Duration
	at := l.last
	for i := len(l.gaps) - 1; i >= 0 && at.After(from); i-- {
		worst = max(worst, l.gaps[i])
		at = at.Add(-l.gaps[i])
	}
	return worst
}

// heard is the stream as it arrived so far.
func (l *timedListener) heard() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.body...)
}

func (l *timedListener) lastRead() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

type joined struct {
	Ticket, Ogg, Edge string
	Alternates        []string
}

func joinAt(base, id, ticket string) (joined, int, error) {
	req, _ := http.NewRequest("POST", base+"/api/v1/spaces/"+id+"/join", nil)
	if ticket != "" {
		req.Header.Set("Onair-Ticket", ticket)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return joined{}, 0, err
	}
	defer resp.Body.Close()
	var j joined
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &j)
	return j, resp.StatusCode, nil
}

func TestClusterProcessesSurviveKills(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	c := startNATSCluster(t, dir)
	// The origin on NATS server 1, the edges on 2 and 3: killing server 1
	// moves the origin's program to another server mid-show.
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range c.nats {
				t.Logf("nats-%d:\n%s", i+1, n.stderr)
			}
		}
	})
	c.origin = startRole(t, "origin", "origin", filepath.Join(dir, "origin"), c.client[0])
	for i := range 2 {
		c.edges = append(c.edges, startRole(t, "edge", fmt.Sprintf("edge-%d", i+1), filepath.Join(dir, fmt.Sprintf("edge-%d", i+1)), c.client[1+i]))
	}
	o, e1, e2 := c.origin, c.edges[0], c.edges[1]
	sp := o.createSpace(t, "over the cluster")
	pushTone(t, o, sp, "a", 440)
	o.waitSpeaker(t, sp)
	o.goLive(t, sp)
	poll(t, 5*time.Second, "live on edge-2", func() bool {
		_, code, _ := joinAt(e2.pub, sp.id, "")
		return code == 200
	})
	// One listener on each edge, streaming from that edge.
	var ls []*timedListener
	var tickets []string
	for _, e := range []*node{e1, e2} {
		j, code, err := joinAt(e.pub, sp.id, "")
		if err != nil || code != 200 {
			t.Fatalf("join at %s: %d %v", e.pub, code, err)
		}
		l, err := listenTimed(t, e.pub+"/live/"+sp.id+".opus?t="+j.Ticket, nil)
		if err != nil {
			t.Fatal(err)
		}
		ls, tickets = append(ls, l), append(tickets, j.Ticket)
	}
	time.Sleep(3 * time.Second)

	// kill -9 of the NATS server the origin publishes through.
	killed := time.Now()
	_ = c.nats[0].cmd.Process.Kill()
	time.Sleep(5 * time.Second)
	for i, l := range ls {
		if g := l.maxGapSince(killed.Add(-time.Second)); g > 2*time.Second || time.Since(l.lastRead()) > 2*time.Second {
			t.Fatalf("listener on edge-%d: longest wait %v after a NATS server died (want ≤ 2 s)", i+1, g)
		} else {
			t.Logf("NATS server killed: listener on edge-%d waited at most %v", i+1, g)
		}
	}

	// kill -9 of edge-1: its listener re-joins on edge-2 with its ticket.
	before := ls[0].lastRead()
	_ = e1.cmd.Process.Kill()
	<-ls[0].done
	j, code, err := joinAt(e2.pub, sp.id, tickets[0])
	if err != nil || code != 200 {
		t.Fatalf("re-join on edge-2 with the ticket: %d %v", code, err)
	}
	l, err := listenTimed(t, e2.pub+"/live/"+sp.id+".opus?t="+j.Ticket, nil)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "audio again on edge-2", func() bool { return l.lastRead().After(before) && l.bytes > 0 })
	gap := l.lastRead().Sub(before)
	t.Logf("edge killed: its listener back on air on edge-2 after %v", gap)
	if gap > 5*time.Second {
		t.Fatalf("back on air after %v, want ≤ 5 s", gap)
	}
}

package server_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/server"
)

// TestCrowdBehindOneNetworkAcrossEdges is TestCrowdBehindOneNetworkGetsIn
// on a cluster of two edges: 1,500 listeners from 200 addresses of one /24
// join at either edge (as DNS round robin sends them), play from the edge
// the join names, get in through the space's one waiting line and hear
// audio, three times what the two edges' per-/24 caps (512 each) would let
// in. A slowloris from the same /24 at both edges at once gets no more than
// 512 sockets at each, and one ticket is no connection flood at either.
// (The caps are the defaults at every node; the per-/24 join budget is
// raised only so the joins take seconds.)
func TestCrowdBehindOneNetworkAcrossEdges(t *testing.T) {
	c := startClusterWith(t, 2, func(cfg *server.Config) {
		cfg.Gate = gate.Config{JoinRate: 100, JoinPrefixRate: 1e4, Mode: gate.Normal,
			Admit: gate.AdmitConfig{StartRate: 150, MinRate: 150, MaxRate: 150, Burst: 20}}
	})
	id := liveSpace(t, c.origin, "campus across edges")
	waitFor(t, 5*time.Second, "live on both edges", func() bool {
		_, a := c.edges[0].call("GET", c.edges[0].pub+"/api/v1/spaces/"+id, "", nil)
		_, b := c.edges[1].call("GET", c.edges[1].pub+"/api/v1/spaces/"+id, "", nil)
		return a["state"] == "live" && b["state"] == "live"
	})
	time.Sleep(1500 * time.Millisecond) // the edges' first load reports route the joins

	const n = 1500
	crowd, at := make([]*crowdListener, n), make([]string, n)
	var queued atomic.Int64
	var wg sync.WaitGroup
	work := make(chan int)
	start := time.Now()
	for range 300 {
		wg.Go(func() {
			for i := range work {
				ip := crowdNet + strconv.Itoa(1+i%200)
				ogg := joinFrom(t, c.edges[i%2], id, ip, &queued)
				at[i], crowd[i] = ogg, playFrom(t, ip, ogg)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	took := time.Since(start)
	split := make([]int, len(c.edges))
	for i, ogg := range at {
		e := slices.IndexFunc(c.edges, func(e *env) bool { return strings.HasPrefix(ogg, e.pub+"/") })
		if e < 0 {
			t.Fatalf("listener %d was sent to %q, none of the edges", i, ogg)
		}
		split[e]++
	}
	t.Logf("%d listeners from one /24 in within %v, %d through the waiting line; edge-1 plays to %d, edge-2 to %d",
		n, took.Round(time.Millisecond), queued.Load(), split[0], split[1])
	if q := queued.Load(); q < 50 {
		t.Fatalf("only %d of %d joins waited: the waiting line was not exercised", q, n)
	}
	// Routed by headroom, neither edge is left out (the two are alike).
	if min(split[0], split[1]) < n/5 {
		t.Fatalf("split %v between the edges: the joins were not spread", split)
	}
	allFlowing(t, crowd, "after the crowd got in")

	// A slowloris from the same /24 at both edges at once: each edge's cap
	// keeps 512 of its 1,000 sockets and closes the rest at accept.
	refusedBefore := decisions(t, c.origin, `reason="conns_per_prefix"`)
	lorises := make([][]net.Conn, len(c.edges))
	dialed := make([]time.Duration, len(c.edges))
	var lw sync.WaitGroup
	for i, e := range c.edges {
		lw.Go(func() {
			t0 := time.Now()
			lorises[i] = slowloris(e.pub, id, 1000)
			dialed[i] = time.Since(t0)
		})
	}
	lw.Wait()
	defer func() {
		for _, ls := range lorises {
			for _, c := range ls {
				c.Close()
			}
		}
	}()
	refused := decisions(t, c.origin, `reason="conns_per_prefix"`) - refusedBefore
	for i, ls := range lorises {
		open := stillOpen(ls)
		t.Logf("slowloris at edge-%d: 1000 sockets dialed in %v, %d held", i+1, dialed[i].Round(time.Millisecond), open)
		if open > 512 {
			t.Fatalf("edge-%d held %d slowloris sockets from one /24: want its cap of 512 to hold", i+1, open)
		}
		// The cap is full unless the dialing outlasted the header timeout
		// (a loaded machine): the crowd's connections do not count against it.
		if dialed[i] < 3*time.Second && open < 480 {
			t.Fatalf("edge-%d held only %d slowloris sockets: the /24's slots are taken by something else", i+1, open)
		}
	}
	t.Logf("slowloris: %v sockets refused for the /24's cap at the two edges", refused)
	if refused == 0 {
		t.Fatal("no slowloris socket was refused for the /24's cap")
	}
	allFlowing(t, crowd, "under the slowloris")
	for _, ls := range lorises {
		for _, c := range ls {
			c.Close()
		}
	}
	lorises = nil

	// One ticket, 200 media connections to each edge from one address: at
	// each, two leave the caps as the listener's, the rest count against
	// the address's 64.
	ogg := joinFrom(t, c.edges[0], id, crowdNet+"251", nil)
	query := ogg[strings.Index(ogg, "/live/"):]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := make([]atomic.Int64, len(c.edges))
	var fw sync.WaitGroup
	for i, e := range c.edges {
		for range 200 {
			fw.Go(func() {
				body, err := streamFrom(ctx, crowdNet+"251", e.pub+query)
				if err != nil {
					return
				}
				held[i].Add(1)
				<-ctx.Done()
				body.Close()
			})
		}
	}
	time.Sleep(2 * time.Second)
	for i := range held {
		h := held[i].Load()
		t.Logf("one ticket, 200 connections to edge-%d: %d streams held", i+1, h)
		if h > 64+2 || h < 2 {
			t.Fatalf("one ticket from one address held %d streams at edge-%d, want at most 64 + 2", h, i+1)
		}
	}
	cancel()
	fw.Wait()
	allFlowing(t, crowd, "after the flood")
}

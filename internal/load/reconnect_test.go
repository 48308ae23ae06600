package load

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoadReconnectsToRealServer cuts every connection of Ogg and LL-HLS
// listeners of a real onair server mid-show: each re-joins with its
// ticket (the server counts a renewal), streams on, and the failover is
// seamless: the server's start-up burst is recognized as audio already
// heard (by its Onair-First-Capture-Ms, or the playlist's program dates),
// so nobody stalls and no audio is counted twice or missed.
func TestLoadReconnectsToRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for several seconds")
	}
	t.Parallel()
	srv, space := liveServer(t)
	var gate pauseGate
	px := startProxy(t, strings.TrimPrefix(srv.PublicURL(), "http://"), &gate)
	base := Config{Target: "http://" + px.addr, Space: space, Duration: 6 * time.Second, Grace: 3 * time.Second}
	ogg, hls := base, base
	ogg.Protocol, ogg.Listeners, ogg.Sources = ProtoOgg, 8, "127.7.0.0/24"
	hls.Protocol, hls.Listeners, hls.Sources = ProtoHLS, 4, "127.8.0.0/24"
	renewed0 := renewals(t, srv.HostURL())
	time.AfterFunc(3*time.Second, px.cut)
	reps := runAll(t, []Config{ogg, hls}, []Options{{}, {}})
	var lost int64
	for _, rep := range reps {
		n := int64(rep.Config.Listeners)
		name := rep.Config.Protocol
		f, l := rep.Failover, rep.Listeners
		lost += f.Lost
		if l.GotAudio != n || l.Completed != n || f.Lost != n || f.Reconnects != n || f.GaveUp != 0 {
			t.Errorf("%s: listeners %+v, failover %+v: want all %d cut once and back", name, l, f, n)
		}
		// Straight back to the same server: a join and a request, then the
		// next page or part.
		if g := rep.Metrics["failover_gap_ms"]; g.N != uint64(n) || g.Max > 1500 {
			t.Errorf("%s: failover gap %+v", name, g)
		}
		if rep.Stalls.Events != 0 || f.Stalls != 0 || f.MissedS > 0.25 || f.RepeatedS < float64(n)*0.1 {
			t.Errorf("%s: stalls %+v, failover %+v: want none, nothing missed, and the repeated start-up audio recognized", name, rep.Stalls, f)
		}
		// Each listener heard the show once: about its stay in audio.
		if r := rep.Metrics["bytes_per_s"]; r.P50 < 2000 {
			t.Errorf("%s: bytes/s %+v", name, r)
		}
		if len(rep.Edges) != 1 || rep.Edges[0].Listeners != 2*n || rep.Edges[0].Lost != n || rep.Edges[0].Reconnects != n {
			t.Errorf("%s: edges %+v", name, rep.Edges)
		}
		checkEdgesAddUp(t, rep)
	}
	if got := renewals(t, srv.HostURL()) - renewed0; got < lost {
		t.Errorf("the server renewed %d tickets for %d re-joins", got, lost)
	}
}

// renewals reads the server's count of tickets renewed from its metrics.
func renewals(t *testing.T, hostURL string) int64 {
	t.Helper()
	resp, err := http.Get(hostURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "onair_gate_decisions_total{") && strings.Contains(line, `outcome="renewed"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return int64(v)
		}
	}
	return 0
}

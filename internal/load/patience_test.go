package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// waitingRoom is a fakeShow behind a waiting room: a join without a queue
// token, or with one of the first two, is told to come back in a second
// on a closed connection, as onair's gate does for waits of seconds.
type waitingRoom struct {
	show  *fakeShow
	conns atomic.Int32
}

func (w *waitingRoom) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/spaces/fake/join" && r.UserAgent() == "onair-load" {
		n, _ := strconv.Atoi(r.Header.Get("Onair-Queue"))
		if n < 3 {
			rw.Header().Set("Retry-After", "1")
			rw.Header().Set("Connection", "close")
			rw.WriteHeader(http.StatusAccepted)
			rw.Write([]byte(`{"position":3,"eta_s":2,"retry_after":1,"queue_token":"` + strconv.Itoa(n+1) + `"}`))
			return
		}
	}
	w.show.ServeHTTP(rw, r)
}

// TestPatienceCountsTheStayFromAdmission: with --patience a listener that
// waits 3 s in line still listens its whole --duration once in, and asks
// again on a new connection each time the server closed the last one.
func TestPatienceCountsTheStayFromAdmission(t *testing.T) {
	if testing.Short() {
		t.Skip("waits and streams for several seconds")
	}
	t.Parallel()
	wr := &waitingRoom{show: &fakeShow{lag: 100 * time.Millisecond}}
	wr.show.joins.Store(10) // past the fake's own 429s and proof of work
	ts := httptest.NewUnstartedServer(wr)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			wr.conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	cfg := Config{Target: ts.URL, Space: "fake", Protocol: ProtoOgg, Listeners: 1, Duration: 2 * time.Second,
		Patience: 10 * time.Second, Grace: 2 * time.Second, StallThreshold: time.Second}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l := rep.Listeners; l.Joined != 1 || l.Completed != 1 {
		t.Fatalf("listeners %+v, errors %v: want the one joined after its wait and staying its time", l, rep.Errors)
	}
	if j := rep.Metrics["join_ms"]; j.Max < 3000 || j.Max > 4500 {
		t.Errorf("join took %.0f ms, want the three 1 s waits", j.Max)
	}
	// Without patience the 3 s wait would have left 0 of its 2 s.
	if rep.ListenerSeconds < 1.8 || rep.ListenerSeconds > 2.5 {
		t.Errorf("listened %.2f s, want its 2 s stay after getting in", rep.ListenerSeconds)
	}
	// The preflight's connection, the first, one per closed wait (3).
	if n := wr.conns.Load(); n < 4 {
		t.Errorf("%d connections: a closed wait's join was not asked again on a new one", n)
	}
}

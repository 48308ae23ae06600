package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two origins on a real 3-server NATS cluster, one active by the lease,
// one standing by, and an edge with a listener. kill -9 of the active
// origin: the standby takes over the mix, the speaker reconnects to it as
// the README's retry loop does, the listener on the edge hears the show
// go on, and the replay through the edge holds the whole show less what
// the takeover took.
func TestStandbyOriginTakesOver(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	c := startNATSCluster(t, dir)
	const ttl = "1500ms"
	a := startRole(t, "origin", "origin-a", filepath.Join(dir, "a"), c.client[0], "--lease-ttl", ttl)
	b := startRole(t, "origin", "origin-b", filepath.Join(dir, "b"), c.client[1], "--lease-ttl", ttl)
	e := startRole(t, "edge", "edge-1", filepath.Join(dir, "edge"), c.client[2])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("origin-a:\n%s\norigin-b:\n%s\nedge:\n%s", a.stderr, b.stderr, e.stderr)
		}
	})
	if st := health(t, a.host); st.Status != "ok" {
		t.Fatalf("origin-a started first: healthz %+v, want active", st)
	}
	poll(t, 3*time.Second, "origin-b standing by, naming origin-a", func() bool {
		st := health(t, b.host)
		return st.Status == "standby" && st.Active == a.host
	})
	sp := a.createSpace(t, "standby")
	spk := pushTone(t, a, sp, "a", 440)
	a.waitSpeaker(t, sp)
	liveFrom, _ := a.goLive(t, sp)
	// The standby refuses the host port's requests, naming the active one.
	code, body := authedGet(t, b.host+"/api/v1/spaces/"+sp.id, sp.token)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, a.host) || !strings.Contains(body, `"standby"`) {
		t.Fatalf("the standby answered %d %s; want 503 naming %s", code, body, a.host)
	}
	l := listenAtEdge(t, e, sp)
	time.Sleep(5 * time.Second)

	killed := time.Now()
	_ = a.cmd.Process.Kill()
	spk.wait(t, 10*time.Second) // its connection went with the origin
	poll(t, 10*time.Second, "origin-b active", func() bool { return health(t, b.host).Status == "ok" })
	active := time.Since(killed)
	// The encoder's retry loop lands on the new active origin.
	pushTone(t, b, sp, "a", 440)
	b.waitSpeaker(t, sp)
	reconnected := time.Now()
	poll(t, 5*time.Second, "audio again on the edge", func() bool { return l.lastRead().After(reconnected) })
	gap := l.maxGapSince(killed.Add(-time.Second))
	t.Logf("kill -9 of the active origin: origin-b active after %v, speaker back after %v, the edge's listener waited at most %v",
		active, reconnected.Sub(killed), gap)
	if gap > 5*time.Second {
		t.Fatalf("the listener waited %v for audio across the takeover, want ≤ 5 s", gap)
	}
	time.Sleep(4 * time.Second)
	if err := hostCall(b, sp, "end"); err != nil {
		t.Fatal(err)
	}
	live := time.Since(liveFrom).Seconds()
	<-l.done

	// The replay through the edge: the standby's recording, the show before
	// the kill and after the takeover in one file.
	url := e.pub + "/replay/" + sp.id + ".opus"
	var dur float64
	poll(t, 10*time.Second, "the replay on the edge", func() bool {
		resp, err := http.Head(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	dur = probeSeconds(t, url)
	t.Logf("replay through the edge: %.2f s of a show live %.2f s: %.2f s lost", dur, live, live-dur)
	if dur < live-2 {
		t.Errorf("the replay lasts %.2f s; the show was live %.2f s: more than 2 s lost", dur, live)
	}
	decodesCleanly(t, url)
	pcm := decode(t, url)
	assertTone(t, pcm[:len(pcm)/3], 440)
	assertTone(t, pcm[2*len(pcm)/3:], 440)
}

// listenAtEdge waits until sp is live on edge e and listens there, timing
// what arrives.
func listenAtEdge(t *testing.T, e *node, sp createdSpace) *timedListener {
	t.Helper()
	poll(t, 5*time.Second, "live on the edge", func() bool { _, code, _ := joinAt(e.pub, sp.id, ""); return code == 200 })
	j, _, _ := joinAt(e.pub, sp.id, "")
	l, err := listenTimed(t, e.pub+"/live/"+sp.id+".opus?t="+j.Ticket, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type healthz struct{ Status, Role, Active string }

func health(t *testing.T, host string) healthz {
	t.Helper()
	var h healthz
	resp, err := http.Get(host + "/healthz")
	if err != nil {
		return h
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// authedGet is a GET with a bearer token: the status and the body.
func authedGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}

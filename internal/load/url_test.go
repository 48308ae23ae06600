package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// plainOgg serves the fake show's stream at a plain URL, without the join
// API or onair's capture-time headers: what Icecast or any Ogg server does.
type plainOgg struct{ f *fakeShow }

func (p plainOgg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/stream.opus" {
		http.NotFound(w, r)
		return
	}
	p.f.live(noCaptureHeaders{w}, r)
}

type noCaptureHeaders struct{ http.ResponseWriter }

func (n noCaptureHeaders) WriteHeader(code int) {
	n.Header().Del("Onair-First-Capture-Ms")
	n.Header().Del("Onair-First-Granule")
	n.ResponseWriter.WriteHeader(code)
}

func (n noCaptureHeaders) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// TestLoadURL streams a plain Ogg URL (--url): no join, no capture headers,
// and still audio, stalls and throughput, with no error counted.
func TestLoadURL(t *testing.T) {
	if testing.Short() {
		t.Skip("streams for seconds")
	}
	t.Parallel()
	ts := httptest.NewServer(plainOgg{&fakeShow{lag: 100 * time.Millisecond}})
	defer ts.Close()
	cfg := Config{URL: ts.URL + "/stream.opus", Listeners: 3, Duration: 3 * time.Second, Grace: 2 * time.Second}
	rep, err := Run(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	rep.WriteTable(&sb)
	t.Log(sb.String())
	if l := rep.Listeners; l.Joined != 3 || l.GotAudio != 3 || l.Completed != 3 {
		t.Fatalf("listeners %+v", l)
	}
	if len(rep.Errors) != 0 || rep.Stalls.Events != 0 || rep.Metrics["glass_to_glass_ms"].N != 0 {
		t.Fatalf("errors %v, stalls %+v, g2g %+v: want none (no capture headers, no latency)", rep.Errors, rep.Stalls, rep.Metrics["glass_to_glass_ms"])
	}
	if b := rep.Metrics["bytes_per_s"]; b.P50 < 2000 {
		t.Errorf("bytes/s %+v", b)
	}
	if !strings.Contains(sb.String(), ts.URL+"/stream.opus") {
		t.Error("the table does not name the URL")
	}

	// The wrong path is a clear error before the run.
	cfg.URL = ts.URL + "/nope.opus"
	if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404 URL: %v", err)
	}
	for _, c := range []Config{
		{URL: "https://127.0.0.1:1/x.opus", Listeners: 1},                 // scheme
		{URL: "http://127.0.0.1:1/x.opus", Space: "x", Listeners: 1},      // both
		{URL: "http://127.0.0.1:1/x.opus", Protocol: "hls", Listeners: 1}, // Ogg only
		{URL: "http://192.0.2.1:8000/x.opus", Listeners: 1},               // remote
	} {
		c.Defaults()
		if _, err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

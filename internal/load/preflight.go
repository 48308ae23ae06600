package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// preflight joins once before the run, so that a wrong target or space is a
// clear error rather than N identical failures.
func preflight(ctx context.Context, cfg Config, tg target, rep *Report) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	url := "http://" + tg.host + "/api/v1/spaces/" + cfg.Space + "/join"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	c := http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %v (is the server running, and is this its public port?)", cfg.Target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var j struct {
		Error string `json:"error"`
		State string `json:"state"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal(b, &j)
	switch {
	case resp.StatusCode == http.StatusNotFound && j.Error != "":
		return fmt.Errorf("space %q not found on %s (join answered 404: %s)", cfg.Space, cfg.Target, j.Error)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s has no join API at %s (404): is this an onair public port?", cfg.Target, url)
	case resp.StatusCode == http.StatusGone:
		return fmt.Errorf("space %q has ended: there is nothing live to listen to (join answered 410)", cfg.Space)
	case resp.StatusCode != http.StatusOK:
		msg := j.Error
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("joining space %q failed before the run: %d %s", cfg.Space, resp.StatusCode, msg)
	}
	rep.Space = SpaceInfo{State: j.State, Title: j.Title}
	if j.State != "live" {
		fmt.Fprintf(os.Stderr, "warning: space %q is %s, not live: listeners will wait for the show (Ogg) or retry (HLS)\n", cfg.Space, j.State)
	}
	return nil
}

// serverSampler follows the server process's CPU and RSS.
type serverSampler struct {
	pid      int
	first    procSample // when sampling began, before the idle second
	before   procSample // just before the first listener
	idleRate float64    // CPU seconds per second with no load
	samples  []procSample
	err      error
}

func startServerSampler(pid int) *serverSampler {
	s := &serverSampler{pid: pid}
	s.first, s.err = sampleProc(pid)
	return s
}

// idle completes the idle measurement: at least a second after the first sample.
func (s *serverSampler) idle(ctx context.Context) {
	select {
	case <-time.After(time.Until(s.first.At.Add(time.Second))):
	case <-ctx.Done():
	}
	var err error
	s.before, err = sampleProc(s.pid)
	if err != nil {
		s.err = err
		return
	}
	if d := s.before.At.Sub(s.first.At).Seconds(); d > 0 {
		s.idleRate = (s.before.CPU - s.first.CPU).Seconds() / d
	}
}

// sample takes one reading; a server that went away is noted, not fatal.
func (s *serverSampler) sample() (procSample, bool) {
	p, err := sampleProc(s.pid)
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return p, false
	}
	s.samples = append(s.samples, p)
	return p, true
}

package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// preflight joins once on each target before the run, so that a wrong
// target or space is a clear error rather than N identical failures.
func preflight(ctx context.Context, cfg Config, tgs []target, rep *Report) error {
	if tgs[0].path != "" {
		return preflightURL(ctx, cfg, tgs[0])
	}
	for i, tg := range tgs {
		var got Report
		if err := preflightJoin(ctx, cfg, tg, &got); err != nil {
			return err
		}
		if i == 0 {
			rep.Space = got.Space
		}
	}
	if rep.Space.State != "" && rep.Space.State != "live" {
		fmt.Fprintf(stderr, "warning: space %q is %s, not live: listeners will wait for the show (Ogg) or retry (HLS)\n", cfg.Space, rep.Space.State)
	}
	return nil
}

// preflightJoin joins once on tg (following redirects to other edges, whose
// hosts are checked like --target).
// A rate limit (429, 503) is waited out; the waiting room (202) and a
// proof-of-work challenge (401) show the space is there.
func preflightJoin(ctx context.Context, cfg Config, tg target, rep *Report) error {
	url := tg.base() + "/api/v1/spaces/" + cfg.Space + "/join"
	name := tg.base()
	c := http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: cfg.ConnectTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" {
				return fmt.Errorf("redirected to %s: only http:// is supported", req.URL)
			}
			return checkHost(req.URL.Host, cfg.AllowRemote)
		}}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "onair-load (preflight)")
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("cannot reach %s: %v (is the server running, and is this its public port?)", name, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var j struct {
			Error string `json:"error"`
			State string `json:"state"`
			Title string `json:"title"`
		}
		_ = json.Unmarshal(b, &j)
		switch st := resp.StatusCode; {
		case st == http.StatusNotFound && j.Error != "":
			return fmt.Errorf("space %q not found on %s (join answered 404: %s)", cfg.Space, name, j.Error)
		case st == http.StatusNotFound:
			return fmt.Errorf("%s has no join API at %s (404): is this an onair public port?", name, url)
		case st == http.StatusGone:
			return fmt.Errorf("space %q has ended: there is nothing live to listen to (join answered 410)", cfg.Space)
		case (st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable) && attempt < 3:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(min(max(wait, 1), 5)) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		case st == http.StatusAccepted || st == http.StatusUnauthorized:
			fmt.Fprintf(stderr, "note: the server answered the first join with %d (%s): listeners will wait in line or solve its proof of work\n", st, j.Error)
			rep.Space = SpaceInfo{State: "live"}
			return nil
		case st != http.StatusOK:
			msg := j.Error
			if msg == "" {
				msg = http.StatusText(st)
			}
			return fmt.Errorf("joining space %q failed before the run: %d %s", cfg.Space, st, msg)
		}
		rep.Space = SpaceInfo{State: j.State, Title: j.Title}
		return nil
	}
}

// preflightURL checks that --url answers 200 (the stream's first bytes are
// not waited for).
func preflightURL(ctx context.Context, cfg Config, tg target) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tg.host+tg.path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "onair-load (preflight)")
	resp, err := (&http.Transport{Proxy: nil, DisableKeepAlives: true}).RoundTrip(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %v (is the server running?)", cfg.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("--url %s answered %s: nothing to stream", cfg.URL, resp.Status)
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

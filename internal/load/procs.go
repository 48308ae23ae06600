package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is one child process of a --procs run.
type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	latest Progress
	result *procResult
	done   chan struct{}
	err    error
}

// runParent spreads the listeners over cfg.Procs child processes (the same
// binary, re-executed with opt.ChildArgs and the child's configuration as
// JSON), shows their summed progress and merges their results.
func runParent(ctx context.Context, cfg Config, opt Options, srv *serverSampler) (procResult, []TimelinePoint, error) {
	exe := opt.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return procResult{}, nil, fmt.Errorf("--procs: cannot find this binary to re-execute: %v", err)
		}
	}
	self0 := selfSample()
	// A shared clock: every child schedules its arrivals from the same start,
	// far enough ahead for all of them to be up.
	start := time.Now().Add(500*time.Millisecond + time.Duration(cfg.Procs)*20*time.Millisecond)
	children := make([]*child, cfg.Procs)
	for i := range children {
		cc := cfg
		cc.ChildIndex, cc.ChildCount, cc.StartAt = i, cfg.Procs, start.UnixNano()
		cc.Procs, cc.ServerPID = 1, 0
		js, err := json.Marshal(cc)
		if err != nil {
			return procResult{}, nil, err
		}
		c := &child{done: make(chan struct{})}
		c.cmd = exec.Command(exe, append(append([]string{}, opt.ChildArgs...), string(js))...)
		c.cmd.Stderr = os.Stderr
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the parent
		out, err := c.cmd.StdoutPipe()
		if err != nil {
			return procResult{}, nil, err
		}
		if err := c.cmd.Start(); err != nil {
			for _, o := range children[:i] {
				_ = o.cmd.Process.Kill()
			}
			return procResult{}, nil, fmt.Errorf("--procs: starting child %d: %v", i, err)
		}
		children[i] = c
		go func() {
			defer close(c.done)
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), 64<<20)
			for sc.Scan() {
				var line childLine
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					continue
				}
				c.mu.Lock()
				if line.Progress != nil {
					c.latest = *line.Progress
				}
				if line.Result != nil {
					c.result = line.Result
				}
				c.mu.Unlock()
			}
			c.err = c.cmd.Wait()
		}()
	}

	mon := newMonitor(cfg, opt, srv, start)
	allDone := make(chan struct{})
	go func() {
		for _, c := range children {
			<-c.done
		}
		close(allDone)
	}()
	progress := func() Progress {
		var p Progress
		for _, c := range children {
			c.mu.Lock()
			p.add(c.latest)
			c.mu.Unlock()
		}
		p.CPU += int64(selfSample().CPU - self0.CPU)
		return p
	}
	hard := time.NewTimer(time.Until(start.Add(cfg.MaxTime + 15*time.Second)))
	defer hard.Stop()
	t := time.NewTimer(time.Until(start.Add(time.Second)))
	defer t.Stop()
	next := start.Add(time.Second)
	cancelled := ctx.Done()
loop:
	for {
		select {
		case <-t.C:
			now := time.Now()
			mon.tick(now, progress())
			for !next.After(now) {
				next = next.Add(time.Second)
			}
			t.Reset(time.Until(next))
		case <-allDone:
			break loop
		case <-cancelled: // children got the signal too (same process group); make sure
			cancelled = nil
			for _, c := range children {
				_ = c.cmd.Process.Signal(syscall.SIGTERM)
			}
		case <-hard.C:
			for _, c := range children {
				_ = c.cmd.Process.Kill()
			}
		}
	}
	mon.tick(time.Now(), progress())
	mon.finish()

	var res procResult
	for i, c := range children {
		if c.result == nil {
			return procResult{}, nil, fmt.Errorf("child process %d ended without a result (%v)", i, c.err)
		}
		res.merge(*c.result)
	}
	res.CPUNs += int64(selfSample().CPU - self0.CPU)
	res.ElapsedNs = int64(time.Since(start))
	return res, mon.timeline, nil
}

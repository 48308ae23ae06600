package telemetry

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NodeStats is what the process itself costs.
type NodeStats struct {
	Name      string  `json:"name"`
	CPU       float64 `json:"cpu"` // busy share of the node's cores over the second, 0..1
	RSSBytes  int64   `json:"rss_bytes"`
	OpenFiles int     `json:"open_files"`
	Gorout    int     `json:"goroutines"`
}

// procMeter samples the process's CPU time between calls.
type procMeter struct {
	lastCPU  time.Duration
	lastWall time.Time
}

func (p *procMeter) sample(now time.Time) NodeStats {
	st := NodeStats{RSSBytes: rss(), OpenFiles: openFiles(), Gorout: runtime.NumGoroutine()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if !p.lastWall.IsZero() && now.After(p.lastWall) {
			st.CPU = float64(cpu-p.lastCPU) / float64(now.Sub(p.lastWall)) / float64(runtime.GOMAXPROCS(0))
		}
		p.lastCPU, p.lastWall = cpu, now
	}
	return st
}

// rss reads the resident set from /proc (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// openFiles counts the process's descriptors: the limit that binds first
// for a node of Ogg listeners (one socket each).
func openFiles() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(4096)
		n += len(names)
		if err != nil || len(names) == 0 {
			break
		}
	}
	return n - 1 // the directory's own descriptor
}

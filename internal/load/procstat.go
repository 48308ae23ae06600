package load

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTick = 100

// procSample is one reading of a process's CPU and memory.
type procSample struct {
	At     time.Time
	CPU    time.Duration // user + system
	RSSKiB int64
}

// sampleProc reads /proc/PID/stat (utime, stime) and /proc/PID/status (VmRSS).
func sampleProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: the
	// fields we want count from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, errors.New("unexpected /proc stat format")
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return s, errors.New("unexpected /proc stat format")
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64) // field 14
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return s, errors.New("unexpected /proc stat format")
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTick
	s.RSSKiB, err = rssKiB(fmt.Sprintf("/proc/%d/status", pid))
	return s, err
}

// rssKiB reads VmRSS from a /proc status file.
func rssKiB(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	_, rest, ok := bytes.Cut(b, []byte("VmRSS:"))
	if !ok {
		return 0, errors.New("no VmRSS in " + path)
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0, errors.New("no VmRSS in " + path)
	}
	return strconv.ParseInt(string(f[0]), 10, 64)
}

// selfSample reads this process's CPU (getrusage) and RSS.
func selfSample() procSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	rss, _ := rssKiB("/proc/self/status")
	return procSample{At: time.Now(), CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), RSSKiB: rss}
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the limit now in force.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			l = want
		}
	}
	return l.Cur, nil
}

// fdReserve is how many descriptors a load process keeps for itself
// (stdio, epoll, pipes to children, /proc reads, the JSON file).
const fdReserve = 64

// procAlive reports whether pid is a running process we can read.
func procAlive(pid int) error {
	_, err := sampleProc(pid)
	return err
}

package space

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/store"
)

// slowDisk is a real file system (FUSE, a loopback of a temporary
// directory) whose writes and fsyncs wait while it is stalled: the kernel
// holds the caller's syscall as a dying disk or a saturated network volume
// would. Mounting needs root; the test skips without.
type slowDisk struct {
	dir string

	mu      sync.Mutex
	until   time.Time     // stalled until then
	longest time.Duration // the longest a call was held
}

func mountSlowDisk(t *testing.T) *slowDisk {
	t.Helper()
	d := &slowDisk{dir: t.TempDir()}
	backing := t.TempDir()
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		t.Fatal(err)
	}
	root := &fs.LoopbackRoot{Path: backing, Dev: st.Dev}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &slowNode{LoopbackNode: fs.LoopbackNode{RootData: r}, disk: d}
	}
	root.RootNode = root.NewNode(root, nil, "", &st)
	srv, err := fs.Mount(d.dir, root.RootNode, &fs.Options{MountOptions: fuse.MountOptions{
		DirectMountStrict: true, FsName: "onair-slowdisk", Name: "slowdisk"}})
	if err != nil {
		t.Skipf("cannot mount a FUSE file system here (root and /dev/fuse needed): %v", err)
	}
	t.Cleanup(func() { _ = srv.Unmount() })
	return d
}

// stall makes every write and fsync from now on wait until d from now.
func (d *slowDisk) stall(dur time.Duration) {
	d.mu.Lock()
	d.until = time.Now().Add(dur)
	d.mu.Unlock()
}

func (d *slowDisk) wait() {
	d.mu.Lock()
	wait := time.Until(d.until)
	d.mu.Unlock()
	if wait <= 0 {
		return
	}
	time.Sleep(wait)
	d.mu.Lock()
	d.longest = max(d.longest, wait)
	d.mu.Unlock()
}

func (d *slowDisk) held() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.longest
}

// slowNode is a loopback file or directory whose writes and fsyncs go
// through the disk's stall.
type slowNode struct {
	fs.LoopbackNode
	disk *slowDisk
}

var (
	_ fs.NodeWriter  = (*slowNode)(nil)
	_ fs.NodeFsyncer = (*slowNode)(nil)
)

func (n *slowNode) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.disk.wait()
	return f.(fs.FileWriter).Write(ctx, data, off)
}

func (n *slowNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	n.disk.wait()
	if s, ok := f.(fs.FileFsyncer); ok {
		return s.Fsync(ctx, flags)
	}
	return 0
}

// arrivals is when each program frame reached a subscriber of the bus, as
// a listener's writer gets them.
type arrivals struct {
	mu   sync.Mutex
	at   []time.Time
	seqs []uint64
}

func (a *arrivals) add(f program.Frame) {
	if f.End {
		return
	}
	a.mu.Lock()
	a.at, a.seqs = append(a.at, time.Now()), append(a.seqs, f.Seq)
	a.mu.Unlock()
}

// within returns the frames that arrived in [from, to) and the longest gap
// between two of them (or from the window's edges to them).
func (a *arrivals) within(from, to time.Time) (n int, gap time.Duration, contiguous bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	last, contiguous := from, true
	for i, at := range a.at {
		if at.Before(from) || !at.Before(to) {
			continue
		}
		n++
		gap = max(gap, at.Sub(last))
		last = at
		if i > 0 && a.seqs[i] != a.seqs[i-1]+1 {
			contiguous = false
		}
	}
	return n, max(gap, to.Sub(last)), contiguous
}

// TestSlowDiskNeverStallsTheProgram: the recordings' disk stops answering
// writes and fsyncs for 3 s mid-show, for real (FUSE holds the recorder's
// syscalls). The program keeps its 20 ms cadence meanwhile: every frame,
// none late past 100 ms, no tick skipped; the recorder catches up once the
// disk answers, and the recording holds the whole show.
func TestSlowDiskNeverStallsTheProgram(t *testing.T) {
	disk := mountSlowDisk(t)
	e := newEnv(t)
	var stats mix.Stats
	m, err := NewManager(e.st, e.bus, Config{DataDir: disk.dir, SyncEvery: 100 * time.Millisecond, MixStats: &stats},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	e.m.Shutdown()
	e.m = m
	sp := e.create("slow disk")
	var got arrivals
	defer e.bus.Subscribe(sp.ID, got.add)()
	e.speak(sp.ID, "a")
	if _, err := m.Start(sp.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	from := time.Now()
	disk.stall(3 * time.Second)
	time.Sleep(3 * time.Second)
	to := time.Now()
	time.Sleep(time.Second)
	ended, err := m.End(sp.ID)
	if err != nil {
		t.Fatal(err)
	}

	n, gap, contiguous := got.within(from, to)
	want := int(to.Sub(from) / program.FrameDuration)
	t.Logf("disk held a call %v; while it stalled, %d frames of %d due, longest gap %v; %d ticks skipped; recorded %.2f s",
		disk.held().Round(time.Millisecond), n, want, gap.Round(time.Millisecond), stats.Skipped.Load(), ended.RecordedSeconds)
	if disk.held() < 2500*time.Millisecond {
		t.Fatalf("the disk held no call for long (%v): the stall did not happen, nothing was tested", disk.held())
	}
	if n < want-5 || gap > 100*time.Millisecond || !contiguous || stats.Skipped.Load() != 0 {
		t.Errorf("while the disk stalled the program got %d frames of %d, longest gap %v, contiguous %v, %d ticks skipped; want all on their 20 ms cadence",
			n, want, gap, contiguous, stats.Skipped.Load())
	}
	got.mu.Lock()
	frames := len(got.at)
	got.mu.Unlock()
	if s := ended.RecordedSeconds; ended.State != store.Ended || s < float64(frames)*0.02-0.1 {
		t.Errorf("recorded %.2f s of %d frames; want the whole show", s, frames)
	}
	decodeClean(t, filepath.Join(disk.dir, "recordings", sp.ID+".opus"))
}

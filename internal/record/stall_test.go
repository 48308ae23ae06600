package record

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"
)

// TestStalledDiskDropsFramesNeverBlocks: a file whose writes block (a pipe
// nobody reads, the recorder's file swapped for it as in
// TestWriteFailureKeepsTheShowGoing) holds the recorder's goroutine; every
// Frame call still returns, the queue stops at its bound, what does not fit
// is dropped with one log line and the metric, and once the writes go
// through again the recorder catches up, says so, and finishes on End.
func TestStalledDiskDropsFramesNeverBlocks(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// Fill the pipe first: the recorder's first write then blocks.
	size, err := unix.FcntlInt(pw.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	r, err := Start(filepath.Join(t.TempDir(), "stall.opus"), 1, 5, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	orig := r.f.f
	defer orig.Close()
	r.f.f, r.maxQueue = pw, 50 // before the first Frame: the run goroutine has not looked yet
	dropped := testutil.ToFloat64(metricDropped)
	fs := frames(t, 500)
	for _, f := range fs[:5] { // one page: its write blocks the recorder
		r.Frame(f)
	}
	waitFor(t, "the recorder to take the first frames", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.queue) == 0
	})
	for _, f := range fs[5:] {
		r.Frame(f) // returns although nothing reads the pipe: the test would hang here otherwise
	}
	waitFor(t, "frames dropped", func() bool { return testutil.ToFloat64(metricDropped) > dropped })
	if n := strings.Count(logs.String(), "recording falls behind"); n != 1 {
		t.Errorf("%d 'falls behind' log lines, want 1:\n%s", n, logs.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }() // the disk comes back
	r.Frame(endFrame(len(fs)))
	waitDone(t, r) // its last sync fails (a pipe): not what is tested here
	lost := testutil.ToFloat64(metricDropped) - dropped
	t.Logf("%v frames dropped of %d, the queue holding %d", lost, len(fs), r.maxQueue)
	if want := len(fs) - 5 - r.maxQueue; lost != float64(want) {
		t.Errorf("%v frames dropped; want %d: all but the queue's %d and the 5 of the page whose write blocked", lost, want, r.maxQueue)
	}
	if !strings.Contains(logs.String(), "recording caught up") {
		t.Errorf("no 'caught up' log line:\n%s", logs.String())
	}
}

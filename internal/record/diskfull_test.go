package record

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/prometheus/client_golang/prometheus"
)

// smallDisk mounts a tmpfs of size bytes for the test (root only).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s); TestWriteFailureKeepsTheShowGoing covers the stop with /dev/full", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// fill writes zeros to path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zeros := make([]byte, 4096)
	for {
		if _, err := f.Write(zeros); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// logBuffer is a log handler's output, safe to read while it is written.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFullDiskStopsAndResumesTheRecording: on a real disk (a small tmpfs)
// that fills up mid-show, the recorder takes every frame without blocking,
// says once in the log and in onair_recording_stopped that it stopped, and
// once there is room again it resumes: the file holds the audio from
// before and after, with only whole pages, and plays.
func TestFullDiskStopsAndResumesTheRecording(t *testing.T) {
	dir := smallDisk(t, "512k")
	var logs logBuffer
	r, err := Start(filepath.Join(dir, "show.opus"), 1, 5, 100*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stopped0 := stoppedGauge(t)
	fs := frames(t, 1500) // 30 s
	for _, f := range fs[:500] {
		r.Frame(f)
	}
	waitFor(t, "the first 10 s on disk", func() bool { return fileSize(t, filepath.Join(dir, "show.opus")) > 40<<10 })

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	start := time.Now()
	for _, f := range fs[500:1000] { // 10 s while the disk is full
		r.Frame(f)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("handing 500 frames to a recorder on a full disk took %v", d)
	}
	// Both copies stop: the Ogg file and the fMP4 one of the replay.
	waitFor(t, "the recording to report it stopped", func() bool { return stoppedGauge(t) == stopped0+2 })
	if !strings.Contains(logs.String(), "recording stopped") {
		t.Fatalf("no log line says the recording stopped:\n%s", logs.String())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	time.Sleep(retryEvery + 100*time.Millisecond)
	for _, f := range fs[1000:] {
		r.Frame(f)
	}
	r.Frame(endFrame(len(fs)))
	res := waitDone(t, r)
	if !errors.Is(res.Err, syscall.ENOSPC) {
		t.Fatalf("Result().Err = %v, want the ENOSPC that made the gap", res.Err)
	}
	if got := stoppedGauge(t); got != stopped0 {
		t.Fatalf("onair_recording_stopped is %v after the recording resumed and ended", got)
	}
	if !strings.Contains(logs.String(), "recording resumed") {
		t.Fatalf("no log line says the recording resumed:\n%s", logs.String())
	}
	// Only whole pages: the strict reader reads to the EOS. Before the
	// gap at least the first 10 s, after it the last 10 s.
	data, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	rd := ogg.NewReader(bytes.NewReader(data))
	packets := 0
	for {
		_, err := rd.NextPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the recording is damaged after packet %d: %v", packets, err)
		}
		packets++
	}
	audio := packets - 2
	if audio < 1000 || audio >= 1500 {
		t.Fatalf("%d audio packets in the recording, want the 1,000 before and after the full disk and a gap", audio)
	}
	t.Logf("recording: %d of 1,500 frames (%d bytes), the rest dropped while the disk was full", audio, len(data))
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		out, err := exec.Command("ffmpeg", "-v", "error", "-i", res.Path, "-f", "null", "-").CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg cannot play the recording: %v: %s", err, out)
		}
	}
}

// stoppedGauge reads onair_recording_stopped as /metrics would show it.
func stoppedGauge(t *testing.T) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "onair_recording_stopped" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no onair_recording_stopped metric")
	return 0
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

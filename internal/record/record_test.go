package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/synth"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (make test installs it)", bin)
		}
	}
}

// frames returns n program frames of a 440 Hz tone, as the mixer makes them.
func frames(t *testing.T, n int) []program.Frame {
	t.Helper()
	pkts, err := synth.Packets(&synth.Tone{Freq: 440, Amp: 0.3}, n)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	out := make([]program.Frame, n)
	for i, p := range pkts {
		out[i] = program.Frame{Seq: uint64(i), PTS: uint64(i) * program.FrameSamples,
			Capture: base.Add(time.Duration(i) * program.FrameDuration), Packet: p}
	}
	return out
}

func endFrame(n int) program.Frame {
	return program.Frame{Seq: uint64(n), PTS: uint64(n) * program.FrameSamples, Capture: time.Now(), End: true}
}

// countingHandler counts records at error level (the recorder logs a write
// failure once, then carries on quietly).
type countingHandler struct{ errors atomic.Int64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

const preSkipSeconds = float64(program.PreSkip) / program.SampleRate

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitDone(t *testing.T, r *Recorder) Result {
	t.Helper()
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("recorder did not finish within 10s of the End frame")
	}
	return r.Result()
}

type probe struct {
	Streams []struct {
		CodecName  string `json:"codec_name"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) (codec string, rate string, channels int, dur float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-of", "json",
		"-show_entries", "format=duration:stream=codec_name,sample_rate,channels", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	dur, err = strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", p.Format.Duration, err)
	}
	s := p.Streams[0]
	return s.CodecName, s.SampleRate, s.Channels, dur
}

// decode has ffmpeg decode path at -v warning and returns the PCM bytes; any
// warning fails the test.
func decode(t *testing.T, path string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode %s: %v: %s", path, err, errb.String())
	}
	if errb.Len() > 0 {
		t.Fatalf("ffmpeg warnings decoding %s:\n%s", path, errb.String())
	}
	return out.Bytes()
}

func TestRecordingIsOpusWithTheRightDuration(t *testing.T) {
	needFFmpeg(t)
	path := filepath.Join(t.TempDir(), "show.opus")
	r, err := Start(path, program.Serial("show"), 5, time.Second, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	const n = 253 // 5.06 s, not a whole number of 5-frame pages
	for _, f := range frames(t, n) {
		r.Frame(f)
	}
	r.Frame(endFrame(n))
	res := waitDone(t, r)
	if res.Err != nil {
		t.Fatalf("recording error: %v", res.Err)
	}
	want := float64(n)*program.FrameDuration.Seconds() - preSkipSeconds
	if math.Abs(res.Seconds-want) > 1e-9 {
		t.Fatalf("Result().Seconds = %v, want %v", res.Seconds, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != fi.Size() || res.Path != path {
		t.Fatalf("Result %+v, file %d bytes", res, fi.Size())
	}
	codec, rate, ch, dur := ffprobe(t, path)
	if codec != "opus" || rate != "48000" || ch != 1 {
		t.Fatalf("ffprobe: codec %s rate %s channels %d", codec, rate, ch)
	}
	// ffprobe's duration is the last granule over 48 kHz: the program plus
	// the pre-skip (a file ffmpeg encodes itself reads the same way).
	if wantProbe := want + preSkipSeconds; math.Abs(dur-wantProbe) > 0.0005 { // ffprobe reports granule time, pre-skip not taken off
		t.Fatalf("ffprobe duration %v, want %v", dur, wantProbe)
	}
	// Every packet decodes; the decoder drops the encoder's pre-skip.
	pcm := decode(t, path)
	if got, want := len(pcm)/2, n*program.FrameSamples-program.PreSkip; got != want {
		t.Fatalf("decoded %d samples, want %d", got, want)
	}
	// The file is exactly the header pages then the pager's pages: every
	// page is valid and the stream ends with EOS (the strict demuxer agrees).
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := ogg.NewReader(f)
	packets := 0
	for {
		_, err := rd.NextPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", packets, err)
		}
		packets++
	}
	if packets != n+2 {
		t.Fatalf("%d packets, want %d (2 headers + %d frames)", packets, n+2, n)
	}
}

func TestEmptyRecording(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.opus")
	r, err := Start(path, 1, 5, time.Second, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	r.Frame(endFrame(0))
	res := waitDone(t, r)
	if res.Err != nil || res.Seconds != 0 || res.Bytes == 0 {
		t.Fatalf("%+v", res)
	}
}

// While the show runs, the file on disk is a playable Ogg/Opus prefix and
// is synced every SyncEvery: a crash at any point leaves a playable file.
func TestRecordingPlayableWhileRunning(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "live.opus")
	r, err := Start(path, 7, 5, 50*time.Millisecond, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	fs := frames(t, 400)
	for _, f := range fs[:203] {
		r.Frame(f)
	}
	// Past several sync periods; the recorder is still running.
	time.Sleep(300 * time.Millisecond)
	select {
	case <-r.Done():
		t.Fatal("recorder finished without an End frame")
	default:
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "crash-copy.opus")
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// 203 frames are 40 whole pages of 5 (200 frames); the last 3 wait for
	// their page.
	pcm := decode(t, cp)
	if got, want := len(pcm)/2, 200*program.FrameSamples-program.PreSkip; got != want {
		t.Fatalf("the copy decodes to %d samples, want %d", got, want)
	}
	_, _, _, dur := ffprobe(t, cp)
	if math.Abs(dur-4.0) > 0.0005 {
		t.Fatalf("copy duration %v, want 4.0", dur)
	}
	// The show goes on after the copy and ends cleanly.
	for _, f := range fs[203:] {
		r.Frame(f)
	}
	r.Frame(endFrame(len(fs)))
	if res := waitDone(t, r); res.Err != nil || math.Abs(res.Seconds-(8-preSkipSeconds)) > 1e-9 {
		t.Fatalf("%+v", res)
	}
}

func TestExistingPathIsNeverOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taken.opus")
	orig := []byte("an earlier show's recording")
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Start(path, 1, 5, time.Second, quietLog())
	if err == nil {
		r.Frame(endFrame(0))
		<-r.Done()
		t.Fatal("Start accepted a path that exists")
	}
	if !errors.Is(err, os.ErrExist) {
		t.Fatalf("error %v, want one that wraps os.ErrExist", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, orig) {
		t.Fatalf("existing file changed to %q", got)
	}
	// A dangling symlink is refused too (O_EXCL does not follow it).
	link := filepath.Join(filepath.Dir(path), "link.opus")
	target := filepath.Join(filepath.Dir(path), "elsewhere.opus")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(link, 1, 5, time.Second, quietLog()); err == nil {
		t.Fatal("Start followed a symlink")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("symlink target created: %v", err)
	}
	// A directory that does not exist is an error, not a panic.
	if _, err := Start(filepath.Join(path+".d", "x.opus"), 1, 5, time.Second, quietLog()); err == nil {
		t.Fatal("Start in a missing directory succeeded")
	}
}

// A disk that fills up mid-show: Frame never blocks, the recorder keeps
// taking frames, logs the failure once and reports it in the Result.
func TestWriteFailureKeepsTheShowGoing(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	path := filepath.Join(t.TempDir(), "disk-full.opus")
	h := &countingHandler{}
	r, err := Start(path, 1, 5, time.Hour, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	// Swap the file for one on a full disk. This happens before the first
	// Frame call, whose wake-up is what the run goroutine waits for, so the
	// run goroutine sees the new file (no data race).
	orig := r.f.f
	r.f.f = full
	defer orig.Close()
	fs := frames(t, 500)
	start := time.Now()
	for _, f := range fs {
		r.Frame(f)
	}
	r.Frame(endFrame(len(fs)))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("500 frames took %v to hand to a failing recorder", d)
	}
	res := waitDone(t, r)
	if !errors.Is(res.Err, syscall.ENOSPC) {
		t.Fatalf("Result().Err = %v, want ENOSPC", res.Err)
	}
	if n := h.errors.Load(); n != 1 {
		t.Fatalf("%d error records logged, want exactly 1", n)
	}
	// Everything before the failure is still on disk: the header pages.
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 || fi.Size() != res.Bytes {
		t.Fatalf("file %v (err %v), result %d bytes", fi, err, res.Bytes)
	}
}

// A recording whose file is lost (fd closed under it): same contract.
func TestClosedFileKeepsTheShowGoing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "closed.opus")
	r, err := Start(path, 1, 5, time.Hour, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.f.f.Close(); err != nil {
		t.Fatal(err)
	}
	fs := frames(t, 50)
	for _, f := range fs {
		r.Frame(f)
	}
	r.Frame(endFrame(len(fs)))
	res := waitDone(t, r)
	if !errors.Is(res.Err, os.ErrClosed) {
		t.Fatalf("Result().Err = %v, want os.ErrClosed", res.Err)
	}
}

func TestSeconds(t *testing.T) {
	for _, c := range []struct {
		g    uint64
		want float64
	}{{0, 0}, {program.PreSkip - 1, 0}, {program.PreSkip, 0}, {program.PreSkip + 48000, 1}, {program.PreSkip + 960, 0.02}} {
		if got := Seconds(c.g); got != c.want {
			t.Errorf("Seconds(%d) = %v, want %v", c.g, got, c.want)
		}
	}
}

package record

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// recordAll records fs and the End frame to a new file in dir.
func recordAll(t *testing.T, path string, fs []program.Frame) {
	t.Helper()
	r, err := Start(path, 7, 5, time.Hour, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		r.Frame(f)
	}
	r.Frame(endFrame(len(fs)))
	waitDone(t, r)
}

// crashCopy copies the first n bytes of src to dst: what a process killed
// in the middle of a write leaves.
func crashCopy(t *testing.T, src, dst string, n int64) {
	t.Helper()
	b := mustReadFile(t, src)
	if err := os.WriteFile(dst, b[:n], 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeAfterACrash: a recording torn mid-page, whose MP4 copy is torn
// mid-fragment further on, is resumed at the last point both hold whole;
// the show's next frames go on from there, and both files then play end to
// end without a warning, as long as the audio kept plus the audio after.
func TestResumeAfterACrash(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	fs := frames(t, 400) // 8 s
	whole := filepath.Join(dir, "whole.opus")
	recordAll(t, whole, fs)
	path := filepath.Join(dir, "torn.opus")
	// Cut the Ogg file at 60% (inside a page, almost surely) and the MP4
	// copy at 75%: the MP4 got further, so it is the one cut back more.
	oggSize, mp4Size := int64(len(mustReadFile(t, whole))), int64(len(mustReadFile(t, MP4Path(whole))))
	crashCopy(t, whole, path, oggSize*6/10+3)
	crashCopy(t, MP4Path(whole), MP4Path(path), mp4Size*3/4+5)

	r, next, err := Resume(path, 7, 5, time.Hour, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	kept := float64(next) * program.FrameDuration.Seconds()
	if next == 0 || next%FragmentFrames != 0 || kept < 4 || kept > 5 {
		t.Fatalf("resumed at frame %d (%.2f s): want a fragment boundary about 60%% into 8 s", next, kept)
	}
	// The restarted show: 150 more frames (3 s), numbered on from next.
	more := frames(t, 150)
	for i := range more {
		more[i].Seq += next
		more[i].PTS += next * program.FrameSamples
		r.Frame(more[i])
	}
	r.Frame(endFrame(int(next) + len(more)))
	res := waitDone(t, r)
	want := Seconds((next + uint64(len(more))) * program.FrameSamples) // kept + 3 s, less the pre-skip
	if res.Err != nil || math.Abs(res.Seconds-want) > 0.001 {
		t.Fatalf("result %+v; want %.2f s and no error", res, want)
	}
	for _, p := range []string{path, MP4Path(path)} {
		_, _, _, dur := ffprobe(t, p)
		pcm := decode(t, p) // fails on any warning
		got := float64(len(pcm)) / 2 / program.SampleRate
		t.Logf("%s: %.3f s by ffprobe, %.3f s decoded; %.2f s kept + 3 s after the restart", filepath.Base(p), dur, got, kept)
		if math.Abs(got-want) > 0.05 || math.Abs(dur-want) > 0.05 {
			t.Errorf("%s plays %.3f s (ffprobe %.3f s); want %.2f s", p, got, dur, want)
		}
	}
}

// A finished recording (end of stream on disk) is not resumed, nor a file
// without whole headers, and neither is changed.
func TestResumeRefusesFinishedAndHeaderless(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done.opus")
	recordAll(t, done, frames(t, 20))
	before := mustReadFile(t, done)
	if _, _, err := Resume(done, 7, 5, time.Hour, quietLog()); !errors.Is(err, ErrFinished) {
		t.Errorf("Resume of a finished recording: %v; want ErrFinished", err)
	}
	bare := filepath.Join(dir, "bare.opus")
	crashCopy(t, done, bare, 20) // inside the first header page
	crashCopy(t, MP4Path(done), MP4Path(bare), 500)
	if _, _, err := Resume(bare, 7, 5, time.Hour, quietLog()); err == nil {
		t.Error("Resume of a file torn inside its headers succeeded")
	}
	if b := mustReadFile(t, done); string(b) != string(before) {
		t.Error("Resume changed a finished recording")
	}
	if b := mustReadFile(t, bare); len(b) != 20 {
		t.Errorf("Resume changed a headerless file to %d bytes", len(b))
	}
}

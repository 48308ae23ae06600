package record

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// A standby's recording: the program from frame 0 (it was there when the
// show started), detached at takeover and resumed by the new mixer. Resume
// goes on after the last frame it holds, and the file plays end to end as
// one show.
func TestDetachThenResume(t *testing.T) {
	needFFmpeg(t)
	path := filepath.Join(t.TempDir(), "standby.opus")
	r, err := Start(path, 7, 5, time.Hour, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	fs := frames(t, 303) // 6.06 s from the active origin: not a whole page, nor a whole fragment
	for _, f := range fs {
		r.Frame(f)
	}
	r.Detach()
	waitDone(t, r)
	r, next, err := Resume(path, 7, 5, time.Hour, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if next != 303 {
		t.Fatalf("resumed at frame %d, want 303: every frame queued before Detach is on disk", next)
	}
	more := frames(t, 100)
	for i := range more {
		more[i].Seq += next
		more[i].PTS += next * program.FrameSamples
		r.Frame(more[i])
	}
	r.Frame(endFrame(int(next) + len(more)))
	res := waitDone(t, r)
	want := Seconds(403 * program.FrameSamples)
	pcm := decode(t, path)
	if got := float64(len(pcm)) / 2 / program.SampleRate; res.Err != nil || got < want-0.05 || got > want+0.05 {
		t.Fatalf("the joined recording plays %.3f s (result %+v), want %.2f s", got, res, want)
	}
}

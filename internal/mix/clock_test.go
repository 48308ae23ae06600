package mix

import (
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// TestTimestampsFollowOneClockReading: the mixer reads the clock once for
// its timestamps and moves them on by whole frames, so what the wall clock
// does meanwhile (an NTP step, forward or back) cannot reach them. The
// program is starved for 1.5 s (its publish held, as a stalled process
// would be), which makes the mixer skip ticks: the frames stay contiguous,
// their PTS follows their sequence number, and every capture time stays an
// exact number of frames after the first, increasing; a mixer that took
// the wall clock's time again after the skip would land off that grid.
func TestTimestampsFollowOneClockReading(t *testing.T) {
	var stats Stats
	c := &collector{}
	starved := false
	m, err := New(Config{Stats: &stats}, func(f program.Frame) {
		if f.Seq == 1010 && !starved {
			starved = true
			time.Sleep(1500 * time.Millisecond)
		}
		c.publish(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	m.GoLiveAt(time.Now(), 1000) // a show resumed after a restart goes on from its frame
	time.Sleep(2200 * time.Millisecond)
	m.Stop()
	fr := c.snapshot()
	if stats.Skipped.Load() == 0 {
		t.Fatal("the mixer skipped no tick: the starvation did not happen, nothing was tested")
	}
	if len(fr) < 20 || fr[0].Seq != 1000 {
		t.Fatalf("%d frames, the first numbered %d; want them from 1000", len(fr), fr[0].Seq)
	}
	for i, f := range fr[:len(fr)-1] { // the End frame carries the time it was made
		if f.Seq != fr[0].Seq+uint64(i) || f.PTS != f.Seq*program.FrameSamples {
			t.Fatalf("frame %d: seq %d, PTS %d; want contiguous, PTS = seq × %d", i, f.Seq, f.PTS, program.FrameSamples)
		}
		d := f.Capture.Sub(fr[0].Capture)
		if d%program.FrameDuration != 0 || (i > 0 && !f.Capture.After(fr[i-1].Capture)) {
			t.Fatalf("frame %d captured %v after the first: not an increasing whole number of frames", i, d)
		}
	}
	t.Logf("%d ticks skipped; %d frames on one 20 ms grid, the last %v after the first", stats.Skipped.Load(),
		len(fr)-1, fr[len(fr)-2].Capture.Sub(fr[0].Capture))
}

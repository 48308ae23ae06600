package space

import (
	"io"
	"log/slog"
	"math"
	"os"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/record"
	"github.com/onair-live/onair/internal/store"
)

// crash stops the show of id the way a killed process does: the recording
// takes no more frames and gets no end of stream, the store still says live.
func (e *env) crash(id string) {
	e.t.Helper()
	e.m.mu.Lock()
	rt := e.m.rt[id]
	delete(e.m.rt, id)
	e.m.mu.Unlock()
	rt.cancelRec()
	rt.mixer.Stop() // its End frame reaches no recorder
	path := e.m.RecordingPath(id)
	last := int64(-1)
	waitFor(e.t, "the recorder to write what it holds", 5*time.Second, func() bool {
		fi, err := os.Stat(path)
		if err != nil {
			e.t.Fatal(err)
		}
		same := fi.Size() == last
		last = fi.Size()
		time.Sleep(100 * time.Millisecond)
		return same
	})
}

// After a crash, the next manager takes a show whose recording was written
// just now back on air, its recording continued: speakers come back, and
// the ended show's recording holds both parts and plays. A show crashed
// longer ago than ResumeWithin is ended, its recording closed with an end
// of stream.
func TestRecoverResumesARecentShowAndEndsAnOldOne(t *testing.T) {
	e := newEnv(t)
	recent, old := e.create("crashed just now"), e.create("crashed long ago")
	for _, sp := range []store.Space{recent, old} {
		e.speak(sp.ID, "a")
		if _, err := e.m.Start(sp.ID); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	e.crash(recent.ID)
	e.crash(old.ID)
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(e.m.RecordingPath(old.ID), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	before := record.RecoveredSeconds(e.m.RecordingPath(recent.ID))

	first := e.m
	defer first.Shutdown()
	m, err := NewManager(e.st, bus.NewLocal(), Config{DataDir: e.dir, SyncEvery: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.bus, e.m = nil, m // e's cleanup shuts this one down
	if err := m.Recover(); err != nil {
		t.Fatal(err)
	}

	o := e.state(old.ID)
	flags, granule, _ := lastPage(t, m.RecordingPath(old.ID))
	if o.State != store.Ended || flags&ogg.FlagEOS == 0 || o.RecordedSeconds < 1.3 ||
		math.Abs(o.RecordedSeconds-record.Seconds(granule)) > 0.001 {
		t.Errorf("the old show: %s, %.2f s recorded, last page flags %#x at %.2f s; want ended, about 1.5 s, EOS",
			o.State, o.RecordedSeconds, flags, record.Seconds(granule))
	}
	decodeClean(t, m.RecordingPath(old.ID))

	if st := e.state(recent.ID).State; st != store.Live || !m.Runtime(recent.ID) {
		t.Fatalf("the recent show after Recover: %s (runtime %v); want live", st, m.Runtime(recent.ID))
	}
	e.speak(recent.ID, "a")
	waitFor(t, "the speaker mixed again", 5*time.Second, func() bool { return mixed(m, recent.ID, "a") })
	time.Sleep(time.Second)
	sp, err := m.End(recent.ID)
	if err != nil {
		t.Fatal(err)
	}
	rms, samples := decodeClean(t, m.RecordingPath(recent.ID))
	played := float64(samples) / 48000
	t.Logf("recent show: %.2f s before the crash, %.2f s recorded in all, %.2f s decoded (RMS %.2f)",
		before, sp.RecordedSeconds, played, rms)
	if sp.RecordedSeconds < before+1 || math.Abs(played-sp.RecordedSeconds) > 0.05 || rms < 0.05 {
		t.Errorf("the resumed show's recording: %.2f s recorded, %.2f s decoded, RMS %.2f; want more than %.2f + 1 s of tone",
			sp.RecordedSeconds, played, rms, before)
	}
}

package space

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/store"
)

// A standby's manager records the active one's show from the bus; when
// the active one dies and the standby takes over, Recover goes on with
// the show in that recording, its program numbered on from the last frame
// the bus carried, and the ended show's recording holds both parts.
func TestShadowThenTakeOver(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	standby, err := NewManager(st, e.bus, Config{DataDir: dir, SyncEvery: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The active manager's bus can die as a killed process does: what it
	// publishes after that, its End frame included, reaches nobody.
	kb := &killable{Bus: e.bus}
	e.m.Shutdown()
	if e.m, err = NewManager(e.st, kb, Config{DataDir: e.dir, SyncEvery: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	sp := e.create("shadowed")
	if err := standby.Shadow(sp.ID); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seqs []uint64
	cancel := e.bus.Subscribe(sp.ID, func(f program.Frame) {
		mu.Lock()
		seqs = append(seqs, f.Seq)
		mu.Unlock()
	})
	defer cancel()
	e.speak(sp.ID, "a")
	if _, err := e.m.Start(sp.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1530 * time.Millisecond)
	kb.dead.Store(true)
	mu.Lock()
	last := seqs[len(seqs)-1]
	mu.Unlock()

	live, _ := e.st.Space(sp.ID)
	if err := st.Import(live); err != nil {
		t.Fatal(err)
	}
	standby.StopShadows()
	if err := standby.Recover(); err != nil {
		t.Fatal(err)
	}
	if !standby.Runtime(sp.ID) {
		t.Fatal("the standby did not take the show on")
	}
	waitFor(t, "the standby's program", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seqs[len(seqs)-1] > last
	})
	mu.Lock()
	for i, s := range seqs[1:] {
		if s != seqs[i]+1 {
			t.Errorf("program frame %d follows %d across the takeover; want the next", s, seqs[i])
			break
		}
	}
	mu.Unlock()
	active := e.m
	e.m = standby  // the speaker reconnects to it
	defer func() { // before e's cleanup, which shuts the active one down
		standby.Shutdown()
		st.Close()
		e.m = active
	}()
	e.speak(sp.ID, "a")
	time.Sleep(time.Second)
	ended, err := standby.End(sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := float64(last+1) * program.FrameDuration.Seconds()
	rms, samples := decodeClean(t, standby.RecordingPath(sp.ID))
	t.Logf("%.2f s before the takeover, %.2f s recorded by the standby, %d samples decoded (RMS %.2f)",
		before, ended.RecordedSeconds, samples, rms)
	if ended.RecordedSeconds < before+0.9 || rms < 0.05 {
		t.Errorf("the standby's recording: %.2f s, RMS %.2f; want the %.2f s before the takeover and 1 s after", ended.RecordedSeconds, rms, before)
	}
}

// killable is a bus that stops carrying a publisher's frames once dead.
type killable struct {
	bus.Bus
	dead atomic.Bool
}

func (k *killable) Publish(space string, f program.Frame) {
	if !k.dead.Load() {
		k.Bus.Publish(space, f)
	}
}

// A recording left by this origin's own death (restarted as a standby) is
// kept aside, not resumed from nor overwritten: the shadow starts afresh.
func TestShadowSetsAnOldRecordingAside(t *testing.T) {
	e := newEnv(t)
	sp := e.create("mixed here before")
	path := e.m.RecordingPath(sp.ID)
	if err := os.WriteFile(path, []byte("the old show"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Shadow(sp.ID); err != nil {
		t.Fatal(err)
	}
	defer e.m.StopShadows()
	old, _ := filepath.Glob(path + ".before-*")
	if len(old) != 1 {
		t.Fatalf("the old recording set aside as %v, want one file", old)
	}
	if b, _ := os.ReadFile(old[0]); string(b) != "the old show" {
		t.Fatalf("the set-aside file holds %q", b)
	}
	if b, _ := os.ReadFile(path); len(b) == 0 || string(b) == "the old show" {
		t.Fatal("the shadow did not start a recording of its own")
	}
}

// Once StopShadows has run (the origin took over), a late Shadow from the
// standing-by loop records nothing: it would set the show's recording
// aside under the resumed mixer.
func TestNoShadowAfterStop(t *testing.T) {
	e := newEnv(t)
	sp := e.create("taken over")
	e.m.StopShadows()
	if err := e.m.Shadow(sp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.m.RecordingPath(sp.ID)); !os.IsNotExist(err) {
		t.Fatalf("a shadow recording was started after StopShadows (%v)", err)
	}
}

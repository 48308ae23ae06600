package space

import (
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/store"
)

func (e *env) createAuto(title string, at time.Time) store.Space {
	e.t.Helper()
	sp, _, err := e.st.Create(store.Space{Title: title, StartsAt: at, AutoStart: true}, time.Now().UTC())
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

// waitLive polls the store until the space is live.
func (e *env) waitLive(id string, d time.Duration) store.Space {
	e.t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		if sp := e.state(id); sp.State == store.Live {
			return sp
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("space %s not live within %v: %+v", id, d, e.state(id))
		}
	}
}

// TestAutoStartOnTheSecond: a space with auto_start goes live at its
// starts_at with the speaker in its green room, and records who started it
// and when it was due; one without auto_start stays scheduled.
func TestAutoStartOnTheSecond(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(700 * time.Millisecond).UTC()
	sp := e.createAuto("on time", at)
	manual, _, _ := e.st.Create(store.Space{Title: "manual", StartsAt: at}, time.Now().UTC())
	spk, err := e.m.Speaker(sp.ID, "green")
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	e.m.Schedule(sp)
	e.m.Schedule(manual) // no auto_start: nothing armed
	got := e.waitLive(sp.ID, 3*time.Second)
	delay := got.StartDelay()
	t.Logf("auto-start delay %v", delay)
	if delay < 0 || delay > 100*time.Millisecond || got.StartedBy != BySchedule || !got.ScheduledAt.Equal(at) {
		t.Fatalf("auto-start: delay %v, by %q, scheduled %v (want %v)", delay, got.StartedBy, got.ScheduledAt, at)
	}
	if names := e.m.Speakers(sp.ID); len(names) != 1 || names[0].Name != "green" {
		t.Fatalf("the green room did not go live with the show: %+v", names)
	}
	time.Sleep(200 * time.Millisecond)
	if st := e.state(manual.ID).State; st != store.Scheduled {
		t.Fatalf("a space without auto_start is %s", st)
	}
	// A host start records itself the same way.
	h, err := e.m.Start(manual.ID)
	if err != nil || h.StartedBy != ByHost || !h.ScheduledAt.Equal(at) || h.StartDelay() < 200*time.Millisecond {
		t.Fatalf("host start: %+v %v", h, err)
	}
}

// TestAutoStartSurvivesRestart: a show that fell due while the node was
// down starts as soon as the next manager arms its schedules, and its start
// delay says how late; one ended before its time is not started.
func TestAutoStartSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "onair.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := NewManager(st, bus.NewLocal(), Config{DataDir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(300 * time.Millisecond).UTC()
	sp, _, _ := st.Create(store.Space{Title: "while down", StartsAt: due, AutoStart: true}, time.Now().UTC())
	gone, _, _ := st.Create(store.Space{Title: "cancelled", StartsAt: due, AutoStart: true}, time.Now().UTC())
	m.Schedule(sp)
	m.Schedule(gone)
	if _, err := m.End(gone.ID); err != nil {
		t.Fatal(err)
	}
	m.Shutdown() // the node goes down before the show is due
	st.Close()
	time.Sleep(time.Second)
	if st, err = store.Open(path); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st}
	if got := e.state(sp.ID); got.State != store.Scheduled {
		t.Fatalf("started while the node was down: %+v", got)
	}
	back := time.Now()
	if e.m, err = NewManager(st, bus.NewLocal(), Config{DataDir: dir}, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.m.Shutdown(); st.Close() })
	if err := e.m.Recover(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.ArmSchedules(); err != nil {
		t.Fatal(err)
	}
	got := e.waitLive(sp.ID, 2*time.Second)
	late := back.Sub(due)
	t.Logf("due while down: started %v after the node came back, %v late", got.StartedAt.Sub(back), got.StartDelay())
	if got.StartDelay() < late || got.StartDelay() > late+100*time.Millisecond || got.StartedBy != BySchedule {
		t.Fatalf("late start: delay %v (down for %v past due), by %q", got.StartDelay(), late, got.StartedBy)
	}
	if st := e.state(gone.ID).State; st != store.Ended {
		t.Fatalf("the ended space is %s", st)
	}
}

// TestAutoStartFollowsTheWallClockThroughSteps: schedules are wall time, and
// timers run on the monotonic clock; with the wall clock stepped (NTP, here
// an injected clock) an hour back, a show due in 300 ms does not start
// early, and stepped an hour forward past both, the show that was an hour
// off and the one due soon start within a recheck.
func TestAutoStartFollowsTheWallClockThroughSteps(t *testing.T) {
	e := newEnv(t)
	var step atomic.Int64
	e.m.cfg.Now = func() time.Time { return time.Now().Add(time.Duration(step.Load())).Round(0) }
	e.m.recheck = 50 * time.Millisecond
	later := e.createAuto("an hour from now", time.Now().Add(time.Hour).UTC())
	soon := e.createAuto("soon", time.Now().Add(300*time.Millisecond).UTC())
	e.m.Schedule(later)
	e.m.Schedule(soon)
	step.Store(int64(-time.Hour))
	time.Sleep(600 * time.Millisecond)
	if st := e.state(soon.ID).State; st != store.Scheduled {
		t.Fatalf("with the clock stepped an hour back, the show due in 300 ms is %s after 600 ms; want scheduled", st)
	}
	step.Store(int64(time.Hour + time.Second))
	stepped := time.Now()
	e.waitLive(later.ID, 2*time.Second)
	e.waitLive(soon.ID, 2*time.Second)
	t.Logf("after the step forward both shows were live within %v", time.Since(stepped).Round(time.Millisecond))
}

package space

import (
	"errors"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// Who took a space live, as recorded in store.Space.StartedBy.
const (
	ByHost     = "host"
	BySchedule = "schedule"
)

// scheduler holds one timer per auto-start space. The schedule itself lives
// in the store, so arming again after a restart is all it takes to survive
// one: a show that fell due while the node was down starts at once, and
// its start delay says how late.
type scheduler struct {
	mu      sync.Mutex
	timers  map[string]*time.Timer
	stopped bool
}

// Schedule arms the auto-start of sp if it has one and is still scheduled;
// arming again replaces the earlier timer.
func (m *Manager) Schedule(sp store.Space) {
	if !sp.AutoStart || sp.State != store.Scheduled {
		return
	}
	s := &m.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if s.timers == nil {
		s.timers = make(map[string]*time.Timer)
	}
	if t := s.timers[sp.ID]; t != nil {
		t.Stop()
	}
	s.timers[sp.ID] = m.armAt(sp.ID, sp.StartsAt)
}

// scheduleRecheck bounds how long an auto-start timer runs before the
// wall clock is read again. A timer runs on the monotonic clock, and a
// schedule is in wall time ("on air at 20:00"): were the wall clock
// stepped (NTP) after arming, a single timer would fire off by the step.
// Re-reading it this often starts a show at most this late after a step
// forward, and never early after a step back.
const scheduleRecheck = 10 * time.Second

// armAt arms the start of id at the wall time at, re-armed until then.
// It runs with sched.mu held, as do the re-arms, so a timer that fires
// knows itself from the one Schedule may have put in its place.
func (m *Manager) armAt(id string, at time.Time) *time.Timer {
	wait := at.Sub(m.cfg.Now())
	if wait <= 0 {
		return time.AfterFunc(0, func() { m.autoStart(id) })
	}
	var self *time.Timer
	self = time.AfterFunc(min(wait, m.recheck), func() {
		s := &m.sched
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.timers[id] == self && !s.stopped {
			s.timers[id] = m.armAt(id, at)
		}
	})
	return self
}

// ArmSchedules arms every auto-start space in the store: at start-up, after
// Recover.
func (m *Manager) ArmSchedules() error {
	spaces, err := m.st.Spaces()
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if sp.AutoStart && sp.State == store.Scheduled && sp.StartsAt.Before(m.cfg.Now()) {
			m.log.Warn("auto-start fell due while the node was down; starting now",
				"space", sp.ID, "late_s", m.cfg.Now().Sub(sp.StartsAt).Seconds())
		}
		m.Schedule(sp)
	}
	return nil
}

func (m *Manager) autoStart(id string) {
	m.sched.mu.Lock()
	delete(m.sched.timers, id)
	stopped := m.sched.stopped
	m.sched.mu.Unlock()
	if stopped {
		return
	}
	sp, err := m.startBy(id, BySchedule)
	switch {
	case errors.Is(err, ErrEnded):
		m.log.Info("auto-start skipped: the space ended first", "space", id)
	case err != nil:
		m.log.Error("auto-start failed", "space", id, "err", err)
	default:
		m.log.Info("auto-started", "space", id, "started_by", sp.StartedBy, "delay_ms", sp.StartDelay().Milliseconds())
	}
}

// stopSchedules disarms every timer: nothing starts during a shutdown.
func (m *Manager) stopSchedules() {
	s := &m.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
}

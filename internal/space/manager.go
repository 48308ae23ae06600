// Package space runs the origin side of each space: its state machine
// (scheduled → live → ended), its mixer and its always-on recording.
package space

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/record"
	"github.com/onair-live/onair/internal/store"
)

// ErrEnded is returned for operations on a space whose show is over.
var ErrEnded = errors.New("space has ended")

// Config sets how spaces are mixed and recorded.
type Config struct {
	DataDir       string
	Bitrate       int
	MaxSpeakers   int
	FramesPerPage int
	SyncEvery     time.Duration // how often recordings are fsynced
	// ResumeWithin is how recent a recording left by a crashed process must
	// be for Recover to take its show back on air (default 10 minutes).
	ResumeWithin time.Duration
	// OnEvent, when set, hears every show event as it happens (the
	// receipts log them). It must not block.
	OnEvent func(Event)
	// MixStats counts how every mixer keeps time (nil: not counted).
	MixStats *mix.Stats
	// Now is the wall clock that schedules are read on (nil: time.Now).
	Now func() time.Time
}

// Event is something that happened to a show, for the record.
type Event struct {
	Space     string
	Name      string // start, first_frame, first_record_byte, speaker_in, speaker_out, end
	At        time.Time
	Scheduled time.Time // the announced start (zero: none)
	Speaker   string
	Detail    string
}

func (m *Manager) event(e Event) {
	if m.cfg.OnEvent != nil {
		if e.At.IsZero() {
			e.At = time.Now()
		}
		m.cfg.OnEvent(e)
	}
}

// Manager owns the running spaces of an origin.
type Manager struct {
	st  *store.Store
	bus bus.Bus
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	rt map[string]*runtime

	sched   scheduler     // auto-starts (schedule.go)
	shadows shadows       // a standby's copies of the active origin's shows (shadow.go)
	recheck time.Duration // scheduleRecheck (shorter in tests)
}

type runtime struct {
	mixer     *mix.Mixer
	rec       *record.Recorder
	cancelRec func()
}

// NewManager returns a manager; recordings go to DataDir/recordings.
func NewManager(st *store.Store, b bus.Bus, cfg Config, log *slog.Logger) (*Manager, error) {
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 2 * time.Second
	}
	if cfg.FramesPerPage <= 0 {
		cfg.FramesPerPage = 5
	}
	if cfg.ResumeWithin <= 0 {
		cfg.ResumeWithin = 10 * time.Minute
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "recordings"), 0o755); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{st: st, bus: b, cfg: cfg, log: log, rt: make(map[string]*runtime), recheck: scheduleRecheck}
	spaces.add(m)
	return m, nil
}

// RecordingPath is where the program of space id is recorded.
func (m *Manager) RecordingPath(id string) string {
	return filepath.Join(m.cfg.DataDir, "recordings", id+".opus")
}

// Recover deals with spaces left live by a process that died without a
// clean shutdown. A show whose recording was written lately (within
// ResumeWithin: a crash and a restart, not a machine gone for a day) goes
// on: live again, its recording continued from the last whole page, so
// speakers reconnect and the replay plays across the restart. An older
// one is ended, its recording closed at its last whole page.
func (m *Manager) Recover() error {
	spaces, err := m.st.Spaces()
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if sp.State != store.Live {
			continue
		}
		if m.recent(sp.ID) {
			err := m.resume(sp)
			if err == nil {
				continue
			}
			m.log.Error("cannot resume the show; ending it", "space", sp.ID, "err", err)
		}
		secs := m.closeRecording(sp.ID)
		m.log.Warn("space was live when the server stopped; ending it", "space", sp.ID, "recorded_s", secs)
		_, err := m.st.UpdateSpace(sp.ID, func(s *store.Space) error {
			s.State, s.EndedAt, s.RecordedSeconds = store.Ended, time.Now().UTC(), secs
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// recent reports whether the space's recording was written within
// ResumeWithin.
func (m *Manager) recent(id string) bool {
	fi, err := os.Stat(m.RecordingPath(id))
	return err == nil && time.Since(fi.ModTime()) < m.cfg.ResumeWithin
}

// resume takes a space left live back on air, its recording continued.
func (m *Manager) resume(sp store.Space) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, next, err := record.Resume(m.RecordingPath(sp.ID), program.Serial(sp.ID), m.cfg.FramesPerPage, m.cfg.SyncEvery, m.log)
	if err != nil {
		return err
	}
	rt, err := m.runtimeLocked(sp.ID)
	if err != nil {
		rec.Frame(program.Frame{Seq: next, PTS: next * program.FrameSamples, End: true})
		<-rec.Done()
		return err
	}
	secs := record.Seconds(next * program.FrameSamples)
	m.log.Warn("space was live when the server stopped; resuming it", "space", sp.ID, "recorded_s", secs)
	m.goLiveLocked(sp.ID, rt, rec, next)
	return nil
}

// closeRecording ends the recording of a show that will not go on: cut at
// its last whole page, with an end of stream. It returns its duration.
func (m *Manager) closeRecording(id string) float64 {
	path := m.RecordingPath(id)
	rec, next, err := record.Resume(path, program.Serial(id), m.cfg.FramesPerPage, m.cfg.SyncEvery, m.log)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("recording left as it is", "space", id, "err", err)
		}
		return record.RecoveredSeconds(path)
	}
	rec.Frame(program.Frame{Seq: next, PTS: next * program.FrameSamples, End: true})
	return rec.Result().Seconds
}

// Speaker attaches a speaker to the space's mixer. Before the space is live
// the speaker is in the green room: mixed, but neither published nor recorded.
func (m *Manager) Speaker(id, name string) (*mix.Speaker, error) {
	return m.SpeakerOpts(id, name, mix.SpeakerOptions{})
}

// SpeakerOpts is Speaker with options (a WebRTC speaker's return path).
func (m *Manager) SpeakerOpts(id, name string, o mix.SpeakerOptions) (*mix.Speaker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp, err := m.st.Space(id)
	if err != nil {
		return nil, err
	}
	if sp.State == store.Ended {
		return nil, ErrEnded
	}
	rt, err := m.runtimeLocked(id)
	if err != nil {
		return nil, err
	}
	spk, err := rt.mixer.AddSpeakerOpts(name, o)
	if err != nil {
		return nil, err
	}
	m.event(Event{Space: id, Name: "speaker_in", Speaker: name})
	go func() {
		<-spk.Done()
		m.event(Event{Space: id, Name: "speaker_out", Speaker: name})
	}()
	return spk, nil
}

func (m *Manager) runtimeLocked(id string) (*runtime, error) {
	if rt := m.rt[id]; rt != nil {
		return rt, nil
	}
	rt := &runtime{}
	var first sync.Once // the mixer publishes only once live: its first frame is the show's
	mx, err := mix.New(mix.Config{Bitrate: m.cfg.Bitrate, MaxSpeakers: m.cfg.MaxSpeakers, Stats: m.cfg.MixStats},
		func(f program.Frame) {
			m.bus.Publish(id, f)
			first.Do(func() { m.event(Event{Space: id, Name: "first_frame", At: f.Capture}) })
		})
	if err != nil {
		return nil, fmt.Errorf("space %s: mixer: %w", id, err)
	}
	mx.Start()
	rt.mixer = mx
	m.rt[id] = rt
	return rt, nil
}

// Start takes the space live at a host's request: recording begins with the
// next mixed frame. Starting a live space again is a no-op.
func (m *Manager) Start(id string) (store.Space, error) { return m.startBy(id, ByHost) }

// startBy is Start recording who started the show. The space keeps both the
// scheduled and the actual start, so its start delay is on record.
func (m *Manager) startBy(id, by string) (store.Space, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp, err := m.st.Space(id)
	if err != nil || sp.State == store.Live {
		return sp, err
	}
	if sp.State == store.Ended {
		return sp, ErrEnded
	}
	rt, err := m.runtimeLocked(id)
	if err != nil {
		return sp, err
	}
	rec, err := record.Start(m.RecordingPath(id), program.Serial(id), m.cfg.FramesPerPage, m.cfg.SyncEvery, m.log)
	if err != nil {
		return sp, err
	}
	rec.OnFirstAudio(func() { m.event(Event{Space: id, Name: "first_record_byte"}) })
	now := m.goLiveLocked(id, rt, rec, 0)
	m.log.Info("space live", "space", id, "title", sp.Title, "by", by, "delay_ms", now.Sub(sp.StartsAt).Milliseconds())
	m.event(Event{Space: id, Name: "start", At: now, Scheduled: sp.StartsAt, Detail: "started by " + by})
	return m.st.UpdateSpace(id, func(s *store.Space) error {
		s.State, s.StartedAt, s.ScheduledAt, s.StartedBy = store.Live, now, s.StartsAt, by
		return nil
	})
}

// goLiveLocked records the space's program into rec and takes its mixer
// live from frame seq; it returns when.
func (m *Manager) goLiveLocked(id string, rt *runtime, rec *record.Recorder, seq uint64) time.Time {
	rt.rec = rec
	// Subscribe before going live so the recording holds the first frame.
	now := time.Now().UTC()
	var first sync.Once
	rt.cancelRec = m.bus.Subscribe(id, func(f program.Frame) {
		first.Do(func() { metricStartDelay.Observe(time.Since(now).Seconds()) })
		rec.Frame(f)
	})
	rt.mixer.GoLiveAt(now, seq)
	return now
}

// End ends the show: listeners get the end of stream, the recording is
// finalized on disk before End returns, so the replay is ready at once.
func (m *Manager) End(id string) (store.Space, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp, err := m.st.Space(id)
	if err != nil || sp.State == store.Ended {
		return sp, err
	}
	seconds := m.stopLocked(id)
	m.log.Info("space ended", "space", id, "recorded_s", seconds)
	m.event(Event{Space: id, Name: "end", Detail: fmt.Sprintf("recorded %.1f s", seconds)})
	return m.st.UpdateSpace(id, func(s *store.Space) error {
		s.State, s.EndedAt, s.RecordedSeconds = store.Ended, time.Now().UTC(), seconds
		return nil
	})
}

// stopLocked stops the mixer (which publishes the End frame) and waits for
// the recording to be on disk. It returns the recorded duration.
func (m *Manager) stopLocked(id string) float64 {
	rt := m.rt[id]
	if rt == nil {
		return 0
	}
	delete(m.rt, id)
	rt.mixer.Stop()
	if rt.rec == nil {
		return 0
	}
	defer rt.cancelRec()
	select {
	case <-rt.rec.Done():
	case <-time.After(10 * time.Second):
		m.log.Error("recording did not finish in 10s", "space", id)
		return 0
	}
	res := rt.rec.Result()
	if res.Err != nil {
		m.log.Error("recording incomplete", "space", id, "err", res.Err)
	}
	return res.Seconds
}

// Runtime reports whether the space has a running mixer on this origin.
func (m *Manager) Runtime(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rt[id] != nil
}

// Speakers returns the mixer's view of the space's speakers.
func (m *Manager) Speakers(id string) []mix.SpeakerStats {
	m.mu.Lock()
	rt := m.rt[id]
	m.mu.Unlock()
	if rt == nil {
		return nil
	}
	return rt.mixer.Speakers()
}

// OnStage returns the speaker called name in space id, or nil.
func (m *Manager) OnStage(id, name string) *mix.Speaker {
	m.mu.Lock()
	rt := m.rt[id]
	m.mu.Unlock()
	if rt == nil {
		return nil
	}
	return rt.mixer.Speaker(name)
}

// Shutdown ends every live show cleanly (streams end, recordings are
// finalized) and stops green-room mixers. Scheduled spaces stay scheduled.
func (m *Manager) Shutdown() {
	spaces.remove(m)
	m.stopSchedules()
	m.mu.Lock()
	ids := make([]string, 0, len(m.rt))
	for id := range m.rt {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		sp, err := m.st.Space(id)
		if err == nil && sp.State == store.Live {
			if _, err := m.End(id); err != nil {
				m.log.Error("end on shutdown", "space", id, "err", err)
			}
			continue
		}
		m.mu.Lock()
		m.stopLocked(id)
		m.mu.Unlock()
	}
}

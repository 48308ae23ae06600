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
	// OnEvent, when set, hears every show event as it happens (the
	// receipts log them). It must not block.
	OnEvent func(Event)
	// MixStats counts how every mixer keeps time (nil: not counted).
	MixStats *mix.Stats
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

	sched scheduler // auto-starts (schedule.go)
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
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "recordings"), 0o755); err != nil {
		return nil, err
	}
	m := &Manager{st: st, bus: b, cfg: cfg, log: log, rt: make(map[string]*runtime)}
	spaces.add(m)
	return m, nil
}

// RecordingPath is where the program of space id is recorded.
func (m *Manager) RecordingPath(id string) string {
	return filepath.Join(m.cfg.DataDir, "recordings", id+".opus")
}

// Recover ends spaces left live by a process that died without a clean
// shutdown: their recording holds everything up to the last sync.
func (m *Manager) Recover() error {
	spaces, err := m.st.Spaces()
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if sp.State != store.Live {
			continue
		}
		// The fMP4 copy is indexed by its fragments; whatever was synced
		// before the crash is the replay.
		secs := record.RecoveredSeconds(m.RecordingPath(sp.ID))
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
	rt.rec = rec
	rec.OnFirstAudio(func() { m.event(Event{Space: id, Name: "first_record_byte"}) })
	// Subscribe before going live so the recording holds the first frame.
	now := time.Now().UTC()
	var first sync.Once
	rt.cancelRec = m.bus.Subscribe(id, func(f program.Frame) {
		first.Do(func() { metricStartDelay.Observe(time.Since(now).Seconds()) })
		rec.Frame(f)
	})
	rt.mixer.GoLive(now)
	m.log.Info("space live", "space", id, "title", sp.Title, "by", by, "delay_ms", now.Sub(sp.StartsAt).Milliseconds())
	m.event(Event{Space: id, Name: "start", At: now, Scheduled: sp.StartsAt, Detail: "started by " + by})
	return m.st.UpdateSpace(id, func(s *store.Space) error {
		s.State, s.StartedAt, s.ScheduledAt, s.StartedBy = store.Live, now, s.StartsAt, by
		return nil
	})
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

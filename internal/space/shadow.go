package space

import (
	"errors"
	"os"
	"sync"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/record"
)

// A standby origin records the active origin's shows from the program bus
// into the recording path its own mixer would use, so that when it takes
// over, Recover finds each live show's recording up to the active one's
// last frame and goes on in the same file.

type shadows struct {
	mu sync.Mutex
	on map[string]*shadow
}

type shadow struct {
	rec    *record.Recorder
	cancel func()
	once   sync.Once
}

func (s *shadow) stop() { s.once.Do(s.cancel) }

// Shadow records the program of space id from the bus, from the frames the
// bus still holds (the last seconds) on; the End frame finalizes it.
// Shadowing a space already shadowed, or one whose recording exists (a
// restarted standby), does nothing.
func (m *Manager) Shadow(id string) error {
	m.shadows.mu.Lock()
	defer m.shadows.mu.Unlock()
	if m.shadows.on == nil {
		m.shadows.on = map[string]*shadow{}
	}
	if m.shadows.on[id] != nil {
		return nil
	}
	path := m.RecordingPath(id)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	rec, err := record.Start(path, program.Serial(id), m.cfg.FramesPerPage, m.cfg.SyncEvery, m.log)
	if err != nil {
		return err
	}
	sh := &shadow{rec: rec}
	var next uint64 // the Join's backlog and the live frames may overlap
	var mu sync.Mutex
	_, cancel := m.bus.Join(id, func(f program.Frame) {
		mu.Lock()
		defer mu.Unlock()
		if next != 0 && f.Seq < next && !f.End {
			return
		}
		next = f.Seq + 1
		rec.Frame(f)
	})
	sh.cancel = cancel
	m.shadows.on[id] = sh
	m.log.Info("standby: recording the active origin's show", "space", id, "path", path)
	return nil
}

// StopShadows stops every shadow recording and waits until each is on
// disk: ended shows finished, live ones detached for Recover to resume.
func (m *Manager) StopShadows() {
	m.shadows.mu.Lock()
	on := m.shadows.on
	m.shadows.on = nil
	m.shadows.mu.Unlock()
	for _, sh := range on {
		sh.stop()
		sh.rec.Detach()
		<-sh.rec.Done()
	}
}

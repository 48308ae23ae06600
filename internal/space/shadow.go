package space

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/record"
)

// A standby origin records the active origin's shows from the program bus
// into the recording path its own mixer would use, so that when it takes
// over, Recover finds each live show's recording up to the active one's
// last frame and goes on in the same file.

type shadows struct {
	mu     sync.Mutex
	on     map[string]*shadow
	closed bool // StopShadows was called: this origin mixes its shows now
}

type shadow struct {
	rec    *record.Recorder
	cancel func()
	once   sync.Once
}

func (s *shadow) stop() { s.once.Do(s.cancel) }

// Shadow records the program of space id from the bus, from the frames the
// bus still holds (the last seconds) on; the End frame finalizes it.
// Shadowing a space already shadowed does nothing. A recording already
// there (this origin mixed the show before it died and was restarted as a
// standby) is moved aside, kept: it stopped at this origin's death, and
// resuming from it would number the program backwards.
func (m *Manager) Shadow(id string) error {
	m.shadows.mu.Lock()
	defer m.shadows.mu.Unlock()
	if m.shadows.closed {
		return nil // a late call from a loop that stood by
	}
	if m.shadows.on == nil {
		m.shadows.on = map[string]*shadow{}
	}
	if m.shadows.on[id] != nil {
		return nil
	}
	path := m.RecordingPath(id)
	if err := setAside(path); err != nil {
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
// Shadow does nothing after it: the origin is active for good.
func (m *Manager) StopShadows() {
	m.shadows.mu.Lock()
	on := m.shadows.on
	m.shadows.on, m.shadows.closed = nil, true
	m.shadows.mu.Unlock()
	for _, sh := range on {
		sh.stop()
		sh.rec.Detach()
		<-sh.rec.Done()
	}
}

// setAside renames the recording at path and its MP4 copy, if there,
// with the time as a suffix.
func setAside(path string) error {
	suffix := fmt.Sprintf(".before-%d", time.Now().Unix())
	for _, p := range []string{path, record.MP4Path(path)} {
		if err := os.Rename(p, p+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

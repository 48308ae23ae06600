// Package record writes the program of a space to disk as Ogg/Opus from its
// first frame, syncing often so a crash loses at most a few seconds, and
// carrying on after a full disk once there is room again.
package record

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
)

// Result describes a finished recording.
type Result struct {
	Path    string
	Bytes   int64
	Seconds float64 // program duration in the file
	Err     error   // first write or sync error, if any (the file then has a gap, or ends early)
}

// QueueFrames bounds the frames a recorder holds for a disk that is not
// keeping up (a write or an fsync stalling): 30 s of program. Past it the
// recorder drops frames, with a log line and onair_recording_dropped_frames_total,
// rather than make the mixer wait or grow without end.
const QueueFrames = 1500

// Recorder appends pages to a file on its own goroutine: the mixer hands it
// frames without ever waiting on the disk.
type Recorder struct {
	path      string
	f         *file
	mp4       *mp4Sink
	pager     *ogg.Pager
	syncEvery time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	queue    []program.Frame
	maxQueue int
	dropping int    // frames dropped since the queue last had room
	onFirst  func() // called once the first audio page is written
	detach   bool   // close without the end of stream once the queue is written
	wake     chan struct{}
	done     chan struct{}
	result   Result
}

// Start creates path (which must not exist: a recording is never overwritten)
// and writes the stream headers.
func Start(path string, serial uint32, framesPerPage int, syncEvery time.Duration, log *slog.Logger) (*Recorder, error) {
	f, err := createFile(path, log)
	if err != nil {
		return nil, fmt.Errorf("start recording: %w", err)
	}
	m, err := openMP4(MP4Path(path), log)
	if err != nil {
		f.f.Close()
		os.Remove(path)
		return nil, err
	}
	r := newRecorder(path, f, m, ogg.NewPager(serial, framesPerPage, 1), syncEvery, log)
	r.write(r.pager.Headers())
	go r.run()
	return r, nil
}

func newRecorder(path string, f *file, m *mp4Sink, pager *ogg.Pager, syncEvery time.Duration, log *slog.Logger) *Recorder {
	r := &Recorder{path: path, f: f, mp4: m, pager: pager, syncEvery: syncEvery, log: log,
		maxQueue: QueueFrames, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.result.Path = path
	return r
}

// Frame queues one program frame; it never blocks. The End frame finalizes
// the file (EOS page, sync, close) and is always taken; another frame is
// dropped when QueueFrames are waiting for the disk.
func (r *Recorder) Frame(f program.Frame) {
	r.mu.Lock()
	if len(r.queue) >= r.maxQueue && !f.End {
		r.dropping++
		first := r.dropping == 1
		r.mu.Unlock()
		metricDropped.Inc()
		if first {
			r.log.Error("recording falls behind: the disk has not taken the last frames; dropping frames until it does (the show goes on)",
				"path", r.path, "queued_s", float64(r.maxQueue)*program.FrameDuration.Seconds())
		}
		return
	}
	r.queue = append(r.queue, f)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// OnFirstAudio sets fn to be called (on the recorder's goroutine) once the
// first audio page is written: the first byte of the show in the recording.
func (r *Recorder) OnFirstAudio(fn func()) {
	r.mu.Lock()
	r.onFirst = fn
	r.mu.Unlock()
}

// Done is closed once the End frame is on disk and the file is closed.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// Result is valid after Done is closed.
func (r *Recorder) Result() Result {
	<-r.done
	return r.result
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.syncEvery)
	defer tick.Stop()
	var batch []program.Frame
	for {
		select {
		case <-r.wake:
		case <-tick.C:
			r.sync()
			continue
		}
		r.mu.Lock()
		batch, r.queue = r.queue, batch[:0]
		first, dropped, detach := r.onFirst, r.dropping, r.detach
		r.dropping = 0
		r.mu.Unlock()
		if dropped > 0 {
			r.log.Warn("recording caught up with the show", "path", r.path, "dropped_frames", dropped)
		}
		for _, f := range batch {
			r.mp4.push(f)
			if page, ok := r.pager.Push(f); ok {
				r.write(page.Data)
				if first != nil && r.f.failing == nil { // the page is on disk, not dropped
					first()
					r.OnFirstAudio(nil)
					first = nil
				}
				if page.EOS {
					r.result.Seconds = Seconds(page.Granule)
				}
			}
			if f.End {
				r.finish()
				return
			}
		}
		if detach {
			if page, ok := r.pager.Flush(); ok {
				r.write(page.Data)
			}
			r.mp4.flush()
			r.finish()
			return
		}
	}
}

// Detach writes the frames queued and closes the files without an end of
// stream, as a crash would leave them but whole up to a page: Resume goes
// on from there. A standby origin records the active one's show so, and
// detaches when it takes the show over. Done is closed once it is on disk.
func (r *Recorder) Detach() {
	r.mu.Lock()
	r.detach = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Recorder) write(b []byte) {
	before := r.f.size
	r.f.write(b)
	metricBytes.Add(float64(r.f.size - before))
}

func (r *Recorder) sync() {
	r.mp4.sync()
	r.f.sync()
}

func (r *Recorder) finish() {
	if err := r.mp4.close(); err != nil {
		r.log.Error("replay segments incomplete", "path", MP4Path(r.path), "err", err)
	}
	r.result.Err = r.f.close()
	r.result.Bytes = r.f.size
}

// Seconds converts an Ogg/Opus granule position to program seconds.
func Seconds(granule uint64) float64 {
	if granule < program.PreSkip {
		return 0
	}
	return float64(granule-program.PreSkip) / program.SampleRate
}

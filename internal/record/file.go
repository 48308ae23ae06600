package record

import (
	"log/slog"
	"os"
	"time"
)

// retryEvery is how often a stopped recording file tries to write again.
const retryEvery = time.Second

// file is a recording file that outlives a full disk: a failed write is
// undone (the file cut back to its last whole unit, an Ogg page or an MP4
// fragment), what comes while writing fails is dropped with a log line and
// a metric, and writing resumes at the next whole unit once a retry works.
// The show never waits for it.
type file struct {
	f       *os.File
	path    string
	log     *slog.Logger
	size    int64     // bytes of whole units on disk
	failing error     // the failure in progress; nil while writing
	retry   time.Time // when to try again while failing
	dropped int       // units dropped while failing
	first   error     // the first failure, for the result
}

func createFile(path string, log *slog.Logger) (*file, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &file{f: f, path: path, log: log}, nil
}

// write appends one whole unit, or drops it while the file is failing.
func (w *file) write(b []byte) {
	if w.failing != nil && time.Now().Before(w.retry) {
		w.dropped++
		return
	}
	n, err := w.f.Write(b)
	if err != nil {
		if n > 0 { // never leave half a page: players would stop at it
			_ = w.f.Truncate(w.size)
			_, _ = w.f.Seek(w.size, 0)
		}
		w.fail(err, time.Now())
		w.dropped++
		return
	}
	w.size += int64(n)
	if w.failing != nil {
		w.log.Warn("recording resumed", "path", w.path, "dropped_units", w.dropped, "after", w.failing)
		w.failing, w.dropped = nil, 0
		metricStopped.Dec()
	}
}

// sync flushes the file to disk; a failure stops it as a write's does.
func (w *file) sync() {
	if w.failing != nil {
		return
	}
	if err := w.f.Sync(); err != nil {
		w.fail(err, time.Now())
	}
}

func (w *file) fail(err error, now time.Time) {
	w.retry = now.Add(retryEvery)
	if w.failing != nil {
		return
	}
	w.failing = err
	if w.first == nil {
		w.first = err
	}
	metricStopped.Inc()
	metricErrors.Inc()
	w.log.Error("recording stopped: cannot write; the show goes on, and the recording resumes once writing works again",
		"path", w.path, "err", err)
}

// close syncs and closes the file; it returns the first failure, if any.
func (w *file) close() error {
	w.sync()
	if w.failing != nil {
		metricStopped.Dec()
		w.failing = nil
	}
	if err := w.f.Close(); err != nil && w.first == nil {
		w.first = err
	}
	return w.first
}

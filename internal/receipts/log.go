// Package receipts keeps a node's signed, append-only log of what it saw: a
// C2SP tlog-tiles Merkle log with signed checkpoints, its reader and verifier.
package receipts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/time/rate"
)

// Files in a log directory. The directory is laid out as the log is served
// (checkpoint, key, tile/...), so it can be copied and verified offline;
// signing.key is the one file that must never be served.
const (
	signingKeyFile = "signing.key"
	keyFile        = "key"
	checkpointFile = "checkpoint"
	cosignedFile   = "cosigned"
	tailFile       = "tail"
)

// syncEvery bounds what a crash can lose: the entries appended since the
// last fsync of the tail.
const syncEvery = time.Second

// Log is a node's receipts log. Append, Checkpoint and the handler are safe
// for concurrent use.
type Log struct {
	dir    string
	origin string
	log    *slog.Logger
	key    KeyPair

	mu       sync.Mutex
	tree     tree
	bundle   []byte   // the partial entry bundle, as in the tail after its header
	tail     *os.File // the partial bundle's write-ahead file
	dirty    bool     // tail written since its last fsync
	broken   error    // a write failed: the log refuses appends until reopened
	closed   bool
	ckptSize int64 // size of the last checkpoint signed

	ckptMu        sync.Mutex   // one Checkpoint at a time
	publishedSize atomic.Int64 // ckptSize, for the handler without the lock

	served    atomic.Pointer[[]byte] // the checkpoint served, with any cosignatures
	witnesses []*witnessPoller
	// The newest checkpoint witnesses cosigned, and their cosignatures.
	cosigs       map[string]note.Signature
	cosignedSize int64
	cosignedText string
	claims       *rate.Limiter
	stop         chan struct{}
	done         sync.WaitGroup
}

// Open opens the log in dir, creating it (and the node's signing key, named
// origin) on first start. After a crash it reopens at its last good state
// and logs what it lost. An existing log keeps the origin it was created
// with: a log's identity does not change.
func Open(dir, origin string, log *slog.Logger) (*Log, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tile"), 0o755); err != nil {
		return nil, err
	}
	key, created, err := LoadOrCreateKey(filepath.Join(dir, signingKeyFile), origin)
	if err != nil {
		return nil, fmt.Errorf("receipts signing key: %v", err)
	}
	if created {
		log.Info("receipts: created the log's signing key", "file", filepath.Join(dir, signingKeyFile), "verifier_key", key.VKey)
	}
	if key.Signer.Name() != origin {
		log.Warn("receipts: the log keeps the origin it was created with", "origin", key.Signer.Name(), "asked", origin)
	}
	if err := writeFileAtomic(filepath.Join(dir, keyFile), []byte(key.VKey+"\n"), 0o644); err != nil {
		return nil, err
	}
	l := &Log{dir: dir, origin: key.Signer.Name(), log: log, key: key, stop: make(chan struct{}),
		claims: rate.NewLimiter(claimRate, claimBurst)}
	l.tree.sealed = l.sealTile
	l.tree.full = func(level int, n int64) ([]byte, error) {
		return os.ReadFile(l.path(tlog.Tile{H: tileHeight, L: level, N: n, W: tileWidth}))
	}
	if err := l.recover(); err != nil {
		return nil, err
	}
	if l.served.Load() == nil {
		if err := l.Checkpoint(); err != nil { // a new log serves its empty tree
			return nil, err
		}
	}
	l.done.Add(1)
	go l.syncLoop()
	return l, nil
}

// VerifierKey is the note verifier key of the log's signatures.
func (l *Log) VerifierKey() string { return l.key.VKey }

// Origin is the checkpoint origin line: the log's name.
func (l *Log) Origin() string { return l.origin }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Size is the number of entries appended.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.size
}

// checkEntry enforces what an entry is: one JSON value on one line, small
// enough for an entry bundle.
func checkEntry(entry []byte) error {
	switch {
	case len(entry) == 0:
		return errors.New("receipts: empty entry")
	case len(entry) > MaxEntry:
		return fmt.Errorf("receipts: entry of %d bytes, at most %d", len(entry), MaxEntry)
	case bytes.IndexByte(entry, '\n') >= 0:
		return errors.New("receipts: entry contains a newline (one JSON record per entry)")
	case !json.Valid(entry):
		return errors.New("receipts: entry is not valid JSON")
	}
	return nil
}

// Append adds one entry (one JSON record, no newline) and returns its
// index. It is durable within syncEvery, and signed by the next checkpoint.
func (l *Log) Append(entry []byte) (int64, error) {
	if err := checkEntry(entry); err != nil {
		return -1, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return -1, errors.New("receipts: log closed")
	case l.broken != nil:
		return -1, fmt.Errorf("receipts: log unusable after a write error: %w", l.broken)
	}
	index := l.tree.size
	rec := appendEntry(make([]byte, 0, 2+len(entry)), entry)
	if _, err := l.tail.Write(rec); err != nil {
		l.broken = err
		return -1, err
	}
	l.dirty = true
	if err := l.add(entry, rec); err != nil {
		l.broken = err
		return -1, err
	}
	return index, nil
}

// add takes an entry already in the tail into the tree and the bundle; when
// the bundle fills it is sealed into its files and a new tail begins.
func (l *Log) add(entry, rec []byte) error {
	l.bundle = append(l.bundle, rec...)
	if _, err := l.tree.add(entry); err != nil {
		return err
	}
	if l.tree.size%tileWidth == 0 {
		n := l.tree.size/tileWidth - 1
		if err := writeFileAtomic(l.path(tlog.Tile{H: tileHeight, L: entriesLevel, N: n, W: tileWidth}), l.bundle, 0o644); err != nil {
			return err
		}
		l.removePartials(tlog.Tile{H: tileHeight, L: entriesLevel, N: n}, 0)
		l.bundle = l.bundle[:0]
		return l.newTail(n + 1)
	}
	return nil
}

// sealTile writes a hash tile that has filled. The entry bundle is written
// after the hash tiles: on reopen, a full bundle implies its hash tiles.
func (l *Log) sealTile(level int, n int64, data []byte) error {
	t := tlog.Tile{H: tileHeight, L: level, N: n, W: tileWidth}
	if err := writeFileAtomic(l.path(t), data, 0o644); err != nil {
		return err
	}
	l.removePartials(t, 0)
	return nil
}

// syncLoop fsyncs the tail every syncEvery when it was written to.
func (l *Log) syncLoop() {
	defer l.done.Done()
	tick := time.NewTicker(syncEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		f, dirty := l.tail, l.dirty
		l.dirty = false
		l.mu.Unlock()
		// Outside the lock: an fsync must not hold up Append. A tail
		// replaced meanwhile was synced by whoever replaced it.
		if dirty {
			if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
				l.log.Error("receipts: fsync", "err", err)
			}
		}
	}
}

// Close signs a last checkpoint and closes the log.
func (l *Log) Close() error {
	err := l.Checkpoint()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	l.mu.Unlock()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if serr := l.tail.Sync(); err == nil {
		err = serr
	}
	if cerr := l.tail.Close(); err == nil {
		err = cerr
	}
	return err
}

// path is where tile t lives in the log directory.
func (l *Log) path(t tlog.Tile) string {
	return filepath.Join(l.dir, filepath.FromSlash(tilePath(t)))
}

// removePartials deletes the partial versions of tile t narrower than
// keepW (all of them when keepW is 0): the handler serves a narrower
// partial tile from a wider or full one.
func (l *Log) removePartials(t tlog.Tile, keepW int) {
	t.W = tileWidth
	dir := l.path(t) + ".p"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	left := 0
	for _, e := range ents {
		var w int
		if _, err := fmt.Sscanf(e.Name(), "%d", &w); err == nil && w < keepW || keepW == 0 {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		left++
	}
	if left == 0 {
		os.Remove(dir)
	}
}

// writeFileAtomic writes a file so that a crash leaves either the old one
// or the new one, never a torn one, and the new one is on disk.
// WriteFileAtomic writes data to path so that a crash leaves the old file or
// the new one, never a part: a temporary file, fsynced, renamed, and the
// directory fsynced (the witness's state and the seen-before filter too).
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return writeFileAtomic(path, data, mode)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

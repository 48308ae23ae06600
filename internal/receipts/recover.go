package receipts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// tailHeader is the tail file's first bytes: the number of the entry bundle
// it holds the start of, so a tail left behind by a crash just after its
// bundle was sealed is recognised as stale.
const tailHeader = 8

// recover rebuilds the in-memory right edge of the tree from the files: the
// full entry bundles (each written after its hash tiles), then the tail,
// which may end in an entry torn by a crash. It refuses a log that no
// longer holds what its own checkpoint signed.
func (l *Log) recover() error {
	full, err := l.countFullBundles()
	if err != nil {
		return err
	}
	if err := l.rebuildPartials(full); err != nil {
		return err
	}
	if err := l.replayTail(full); err != nil {
		return err
	}
	return l.checkOwnCheckpoint()
}

// countFullBundles finds how many full entry bundles there are, by
// probing: they are written in order, so they are 0..n-1.
func (l *Log) countFullBundles() (int64, error) {
	exists := func(n int64) (bool, error) {
		_, err := os.Stat(l.path(tlog.Tile{H: tileHeight, L: entriesLevel, N: n, W: tileWidth}))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	// Count c: bundle c-1 exists, bundle c does not. Find lo ≤ c < hi.
	if ok, err := exists(0); !ok || err != nil {
		return 0, err
	}
	lo, hi := int64(1), int64(2)
	for {
		ok, err := exists(hi - 1)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 { // bundle lo-1 exists, bundle hi-1 does not
		mid := (lo + hi) / 2
		ok, err := exists(mid - 1)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// rebuildPartials sets the tree to the size of full bundles and fills the
// partial tile at each level above 0 from the full tiles below it.
func (l *Log) rebuildPartials(full int64) error {
	size := full * tileWidth
	l.tree.size = size
	for level := 1; size>>(tileHeight*level) > 0; level++ {
		w := (size >> (tileHeight * level)) % tileWidth
		first := (size >> (tileHeight * (level + 1))) * tileWidth
		var data []byte
		for j := first; j < first+w; j++ {
			below, err := l.tree.full(level-1, j)
			if err == nil && len(below) != fullTileLen {
				err = fmt.Errorf("%d bytes, want %d", len(below), fullTileLen)
			}
			if err != nil {
				return fmt.Errorf("receipts: reopening %s: hash tile %s: %v", l.dir, tilePath(tlog.Tile{H: tileHeight, L: level - 1, N: j, W: tileWidth}), err)
			}
			h := tileHash(below)
			data = append(data, h[:]...)
		}
		for len(l.tree.partial) <= level {
			l.tree.partial = append(l.tree.partial, nil)
		}
		l.tree.partial[level] = data
	}
	return nil
}

// replayTail takes the entries of the tail into the tree. A torn or garbled
// end (a crash mid-write) is cut off, and the loss logged.
func (l *Log) replayTail(full int64) error {
	path := filepath.Join(l.dir, tailFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(b) < tailHeader {
		return l.newTail(full)
	}
	if err != nil {
		return err
	}
	switch n := int64(binary.BigEndian.Uint64(b)); {
	case n < full:
		return l.newTail(full) // its bundle was sealed just before a crash
	case n > full:
		return fmt.Errorf("receipts: %s holds entries of bundle %d but only %d full bundles exist: entry bundles are missing", path, n, full)
	}
	entries, perr := parseBundle(b[tailHeader:])
	good := tailHeader
	for i, e := range entries {
		if err := checkEntry(e); err != nil {
			perr = &BundleError{i, good - tailHeader, err.Error()}
			entries = entries[:i]
			break
		}
		good += 2 + len(e)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if perr != nil {
		l.log.Warn("receipts: the log's last write was torn by a crash; cut it off",
			"lost_bytes", len(b)-good, "lost_entry_index", full*tileWidth+int64(len(entries)), "why", perr.Error())
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Seek(int64(good), 0); err != nil {
		f.Close()
		return err
	}
	l.tail = f
	for _, e := range entries {
		if err := l.add(e, appendEntry(nil, e)); err != nil {
			return err
		}
	}
	return nil
}

// newTail starts the tail for entry bundle n, replacing the old one.
func (l *Log) newTail(n int64) error {
	if l.tail != nil {
		l.tail.Close()
	}
	path := filepath.Join(l.dir, tailFile)
	if err := writeFileAtomic(path, binary.BigEndian.AppendUint64(nil, uint64(n)), 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.tail, l.dirty = f, false
	return nil
}

// checkOwnCheckpoint compares the rebuilt tree with the last checkpoint the
// log signed, and says what the crash cost: the entries after the last
// checkpoint are kept (they were fsynced) and the seconds after the last
// entry are simply missing.
func (l *Log) checkOwnCheckpoint() error {
	msg, err := os.ReadFile(filepath.Join(l.dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		l.logReopened(-1)
		return nil
	}
	if err != nil {
		return err
	}
	_, c, err := OpenCheckpoint(msg, l.key.Verifier)
	if err != nil {
		return fmt.Errorf("receipts: %s: %v", filepath.Join(l.dir, checkpointFile), err)
	}
	if c.Size > l.tree.size {
		return fmt.Errorf("receipts: the log in %s lost entries it had signed: its checkpoint says %d entries, the files hold %d; refusing to append (a new checkpoint would fork the log)", l.dir, c.Size, l.tree.size)
	}
	h, err := tlog.TreeHash(c.Size, &l.tree)
	if err != nil {
		return fmt.Errorf("receipts: reopening %s: %v", l.dir, err)
	}
	if h != c.Hash {
		return fmt.Errorf("receipts: the log in %s does not match its own checkpoint at size %d: its files were changed; refusing to append", l.dir, c.Size)
	}
	l.ckptSize = c.Size
	l.publishedSize.Store(c.Size)
	l.served.Store(&msg)
	l.logReopened(c.Size)
	return nil
}

func (l *Log) logReopened(ckpt int64) {
	if l.tree.size == 0 && ckpt < 0 {
		return
	}
	args := []any{"dir", l.dir, "entries", l.tree.size, "checkpoint_size", ckpt}
	if last := l.lastEntry(); last != nil {
		if r, err := ParseRecord(last); err == nil && r.T > 0 {
			args = append(args, "last_entry_t", time.Unix(r.T, 0).UTC().Format(time.RFC3339),
				"seconds_since", time.Since(time.Unix(r.T, 0)).Round(time.Second).Seconds())
		}
	}
	l.log.Info("receipts: reopened the log", args...)
}

// lastEntry is the newest entry, or nil.
func (l *Log) lastEntry() []byte {
	if l.tree.size == 0 {
		return nil
	}
	data := l.bundle
	if len(data) == 0 {
		b, err := os.ReadFile(l.path(tlog.Tile{H: tileHeight, L: entriesLevel, N: l.tree.size/tileWidth - 1, W: tileWidth}))
		if err != nil {
			return nil
		}
		data = b
	}
	entries, _ := parseBundle(data)
	if len(entries) == 0 {
		return nil
	}
	return entries[len(entries)-1]
}

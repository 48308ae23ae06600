package receipts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ReadCheckpoint fetches the log's checkpoint and checks its signature with
// key, or with the log's own key when key is empty.
func ReadCheckpoint(ctx context.Context, src Source, key string) ([]byte, Checkpoint, error) {
	if key == "" {
		b, err := src.Read(ctx, keyFile, 4096)
		if err != nil {
			return nil, Checkpoint{}, fmt.Errorf("no key given and none from the log: %v", err)
		}
		key = strings.TrimSpace(string(b))
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, Checkpoint{}, fmt.Errorf("verifier key %q: %v", key, err)
	}
	msg, err := src.Read(ctx, checkpointFile, maxNote)
	if err != nil {
		return nil, Checkpoint{}, err
	}
	_, c, err := OpenCheckpoint(msg, v)
	if err != nil {
		return nil, c, fmt.Errorf("checkpoint: %v", err)
	}
	return msg, c, nil
}

// Entries calls fn with each entry of the log, in order, up to the size of
// checkpoint c, starting at the bundle holding entry from. It does not check
// the entries against the tree: Verify does.
func Entries(ctx context.Context, src Source, c Checkpoint, from int64, fn func(index int64, entry []byte) error) error {
	for k := max(from, 0) / tileWidth; k*tileWidth < c.Size; k++ {
		bt := tlog.Tile{H: tileHeight, L: entriesLevel, N: k, W: int(min(tileWidth, c.Size-k*tileWidth))}
		data, err := src.Read(ctx, tilePath(bt), maxBundleLen)
		if err != nil {
			return err
		}
		entries, err := parseBundle(data)
		if err != nil || len(entries) != bt.W {
			return fmt.Errorf("%s: %d of %d entries readable: %v", tilePath(bt), len(entries), bt.W, err)
		}
		for i, e := range entries {
			if idx := k*tileWidth + int64(i); idx >= from {
				if err := fn(idx, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ParseTime reads a time given as RFC 3339 or as unix seconds.
func ParseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("time %q: want RFC 3339 (2026-12-01T20:00:00Z) or unix seconds", s)
	}
	return t.Unix(), nil
}

// SaveSource writes every file read through it into Dir, making a copy of
// the log that verifies offline.
type SaveSource struct {
	Source
	Dir string
}

// Read reads from the source and keeps a copy.
func (s SaveSource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	b, err := s.Source.Read(ctx, path, max)
	if err != nil {
		return b, err
	}
	return b, writeFileAtomic(filepath.Join(s.Dir, filepath.FromSlash(path)), b, 0o644)
}

// IsNotExist says whether a source's error is a missing file.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

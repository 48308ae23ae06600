package receipts

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// CheckpointEvery is how often Run signs a checkpoint when the log grew.
const CheckpointEvery = 10 * time.Second

// maxNote bounds a checkpoint or claim note read from a file or a URL.
const maxNote = 64 << 10

// Checkpoint is the body of a C2SP tlog-checkpoint: the origin, the tree
// size and the root hash (extension lines are not used here).
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// String is the checkpoint's note text.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// ParseCheckpoint parses a checkpoint's note text.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	if !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("checkpoint has %d lines, want origin, size and root hash", len(lines))
	}
	for i, ln := range lines {
		if ln == "" {
			return c, fmt.Errorf("checkpoint line %d is empty", i+1)
		}
	}
	c.Origin = lines[0]
	size, err := canonicalInt(lines[1], 1<<62)
	if err != nil {
		return c, fmt.Errorf("checkpoint size %q: %v", lines[1], err)
	}
	c.Size = size
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != hashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return c, fmt.Errorf("checkpoint root hash %q: want 32 bytes in base64", lines[2])
	}
	copy(c.Hash[:], h)
	return c, nil
}

// OpenCheckpoint checks a signed checkpoint against the verifier and parses
// it. Other signatures (a witness's cosignatures) are left in the note's
// UnverifiedSigs. The errors say what is wrong in words.
func OpenCheckpoint(msg []byte, v note.Verifier) (*note.Note, Checkpoint, error) {
	n, err := openNote(msg, note.VerifierList(v), v.Name()+"+"+fmt.Sprintf("%08x", v.KeyHash()))
	if err != nil {
		return nil, Checkpoint{}, err
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, c, err
	}
	if c.Origin != v.Name() {
		return nil, c, fmt.Errorf("checkpoint origin %q is not the key's name %q", c.Origin, v.Name())
	}
	return n, c, nil
}

// openNote wraps note.Open with errors a person can act on.
func openNote(msg []byte, known note.Verifiers, want string) (*note.Note, error) {
	if len(msg) > maxNote {
		return nil, fmt.Errorf("note of %d bytes, at most %d", len(msg), maxNote)
	}
	n, err := note.Open(msg, known)
	var invalid *note.InvalidSignatureError
	var unverified *note.UnverifiedNoteError
	switch {
	case err == nil:
		return n, nil
	case errors.As(err, &invalid):
		return nil, fmt.Errorf("signature by %s+%08x does not verify: the note was altered after signing", invalid.Name, invalid.Hash)
	case errors.As(err, &unverified):
		var by []string
		for _, s := range unverified.Note.UnverifiedSigs {
			by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return nil, fmt.Errorf("not signed by %s: signed only by %s (another key)", want, strings.Join(by, ", "))
	default:
		return nil, fmt.Errorf("malformed signed note: %v", err)
	}
}

// Checkpoint signs a checkpoint of the log as it is now, unless the last one
// is already of this size. The tiles it needs are written first, so every
// checkpoint stored or served can be verified from the files. The fsyncs
// happen outside the lock Append takes: appends go on meanwhile.
func (l *Log) Checkpoint() error {
	l.ckptMu.Lock() // one checkpoint at a time
	defer l.ckptMu.Unlock()
	snap, err := l.snapshot()
	if err != nil || snap == nil {
		return err
	}
	// A tail replaced meanwhile was sealed into a bundle, fsynced.
	if err := snap.tail.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	for _, f := range snap.files {
		if err := writeFileAtomic(l.path(f.tile), f.data, 0o644); err != nil {
			return err
		}
	}
	signed, err := note.Sign(&note.Note{Text: Checkpoint{l.origin, snap.size, snap.root}.String()}, l.key.Signer)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(l.dir, checkpointFile), signed, 0o644); err != nil {
		return err
	}
	l.mu.Lock()
	l.ckptSize = snap.size
	l.mu.Unlock()
	l.served.Store(&signed)
	l.publishedSize.Store(snap.size)
	for _, f := range snap.files {
		l.removePartials(f.tile, f.tile.W)
	}
	return nil
}

// ckptSnapshot is what a checkpoint signs: the tree's size and root, and
// copies of the partial bundle and tiles it needs on disk.
type ckptSnapshot struct {
	size  int64
	root  tlog.Hash
	tail  *os.File
	files []partialTile
}

// snapshot takes what the next checkpoint needs, or nil when the log has not
// grown since the last one.
func (l *Log) snapshot() (*ckptSnapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, errors.New("receipts: log closed")
	case l.broken != nil:
		return nil, fmt.Errorf("receipts: log unusable after a write error: %w", l.broken)
	case l.tree.size == l.ckptSize && l.served.Load() != nil:
		return nil, nil
	}
	root, err := l.tree.root()
	if err != nil {
		return nil, err
	}
	s := &ckptSnapshot{size: l.tree.size, root: root, tail: l.tail}
	l.dirty = false
	if w := int(s.size % tileWidth); w > 0 {
		t := tlog.Tile{H: tileHeight, L: entriesLevel, N: s.size / tileWidth, W: w}
		s.files = append(s.files, partialTile{t, bytes.Clone(l.bundle)})
	}
	for _, p := range l.tree.partials() {
		s.files = append(s.files, partialTile{p.tile, bytes.Clone(p.data)})
	}
	return s, nil
}

// Run signs a checkpoint every CheckpointEvery while the log grows, and
// polls the witnesses added with AddWitness, until ctx ends.
func (l *Log) Run(ctx context.Context) {
	for _, w := range l.witnesses {
		go every(ctx, witnessPollEvery, func() {
			if err := w.poll(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("receipts: witness", "url", w.url, "err", err)
			}
		})
	}
	every(ctx, CheckpointEvery, func() {
		if err := l.Checkpoint(); err != nil {
			l.log.Error("receipts: checkpoint", "err", err)
		}
	})
}

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn()
		}
	}
}

// SplitNotes splits signed notes written one after another (an archive
// made with "onair receipts checkpoint URL >> FILE"): each ends with its
// signature lines; blank lines between notes are skipped.
func SplitNotes(b []byte) ([][]byte, error) {
	var notes [][]byte
	var cur []byte
	prevBlank, inSigs := false, false
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return notes, errors.New("the last line does not end in a newline")
		}
		line := b[:i+1]
		b = b[i+1:]
		isSig := bytes.HasPrefix(line, []byte("— "))
		if inSigs && !isSig {
			notes, cur, inSigs = append(notes, cur), nil, false
		}
		if len(cur) == 0 && len(line) == 1 {
			continue
		}
		cur = append(cur, line...)
		inSigs = isSig && (prevBlank || inSigs)
		prevBlank = len(line) == 1
	}
	if inSigs {
		notes = append(notes, cur)
	} else if len(cur) > 0 {
		return notes, errors.New("the last note has no signature lines")
	}
	return notes, nil
}

package receipts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/onair-live/onair/internal/receipts/cosig"
)

// VerifyOptions says what to check a log against.
type VerifyOptions struct {
	// Key is the verifier key the checkpoints must be signed with; empty:
	// the key the log itself serves (which proves the log self-consistent,
	// not whose it is).
	Key string
	// Checkpoints are checkpoints archived earlier (e.g. during a show):
	// each must be signed by the key and be consistent with the log.
	Checkpoints []ArchivedCheckpoint
	// WitnessKeys are cosigner keys: the log's cosigned checkpoint must
	// carry a valid cosignature from each, and be consistent with the log.
	WitnessKeys []string
}

// ArchivedCheckpoint is a signed checkpoint kept by someone, with a name
// to report it by (e.g. "archive.txt#3").
type ArchivedCheckpoint struct {
	Name string
	Note []byte
}

// Failure is the first thing found wrong: where (an entry, a tile, a
// checkpoint), the entry index when it is about one, and why.
type Failure struct {
	Where  string `json:"where"`
	Index  int64  `json:"index"` // -1 when not about one entry
	Reason string `json:"reason"`
}

func (f *Failure) Error() string {
	if f.Index >= 0 {
		return fmt.Sprintf("%s (entry %d): %s", f.Where, f.Index, f.Reason)
	}
	return f.Where + ": " + f.Reason
}

// VerifyReport is everything Verify found.
type VerifyReport struct {
	Source      string              `json:"source"`
	Key         string              `json:"key"`
	KeySource   string              `json:"key_source"`
	Origin      string              `json:"origin"`
	Size        int64               `json:"size"`
	RootHash    string              `json:"root_hash"`
	Kinds       map[string]int64    `json:"kinds"`
	Seconds     SecondsReport       `json:"seconds"`
	Checkpoints []CheckedCheckpoint `json:"checkpoints"`
	Warnings    []string            `json:"warnings,omitempty"`
	Failure     *Failure            `json:"failure,omitempty"`
}

// CheckedCheckpoint is one checkpoint checked against the log.
type CheckedCheckpoint struct {
	Name       string   `json:"name"`
	Size       int64    `json:"size"`
	RootHash   string   `json:"root_hash"`
	Consistent bool     `json:"consistent"`
	Cosigners  []string `json:"cosigners,omitempty"`
}

// maxWarnings bounds the warnings kept (the count of the rest is added).
const maxWarnings = 100

func (r *VerifyReport) warn(format string, a ...any) {
	if len(r.Warnings) < maxWarnings {
		r.Warnings = append(r.Warnings, fmt.Sprintf(format, a...))
	}
}

func (r *VerifyReport) fail(where string, index int64, format string, a ...any) *VerifyReport {
	r.Failure = &Failure{where, index, fmt.Sprintf(format, a...)}
	return r
}

// Verify checks a log: its checkpoint's signature, every entry's hash
// against the tree the checkpoint signs, every hash tile, each archived
// checkpoint's signature and consistency with the log, and it lists the
// seconds missing from the run of per-second records. The report's Failure
// names the first thing wrong; nil means all holds.
func Verify(ctx context.Context, src Source, opts VerifyOptions) *VerifyReport {
	rep := &VerifyReport{Source: src.String(), Kinds: map[string]int64{}, Checkpoints: []CheckedCheckpoint{}}
	v, err := rep.chooseKey(ctx, src, opts.Key)
	if err != nil {
		return rep.fail("key", -1, "%v", err)
	}
	msg, err := src.Read(ctx, checkpointFile, maxNote)
	if err != nil {
		return rep.fail("checkpoint", -1, "%v", err)
	}
	_, c, err := OpenCheckpoint(msg, v)
	if err != nil {
		return rep.fail("checkpoint", -1, "%v", err)
	}
	rep.Origin, rep.Size, rep.RootHash = c.Origin, c.Size, c.Hash.String()
	vr := &verifier{ctx: ctx, src: src, rep: rep, ckpt: c}
	if vr.entries(); rep.Failure != nil {
		return rep
	}
	for _, a := range opts.Checkpoints {
		if vr.archived(a, v); rep.Failure != nil {
			return rep
		}
	}
	if len(opts.WitnessKeys) > 0 {
		vr.cosigned(v, opts.WitnessKeys)
	}
	return rep
}

func (r *VerifyReport) chooseKey(ctx context.Context, src Source, key string) (note.Verifier, error) {
	r.KeySource = "given"
	if key == "" {
		b, err := src.Read(ctx, keyFile, 4096)
		if err != nil {
			return nil, fmt.Errorf("no key given and none from the log: %v", err)
		}
		key = strings.TrimSpace(string(b))
		r.KeySource = "the log's own (" + src.String() + "/key): this proves the log consistent with itself, not whose it is; pass --key with a key you got elsewhere"
	}
	r.Key = key
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %v", key, err)
	}
	return v, nil
}

// verifier holds the state of one Verify.
type verifier struct {
	ctx  context.Context
	src  Source
	rep  *VerifyReport
	ckpt Checkpoint
	// mismatch is the first tile where what the entries hash to differs
	// from what the log serves.
	mismatch *tileMismatch
}

type tileMismatch struct {
	tile   tlog.Tile
	pos    int       // first differing hash in the tile
	ours   tlog.Hash // what the entries give there
	served []byte    // the served tile
	err    error     // the served tile could not be read
}

// entries reads every bundle, rebuilds the tree and compares each tile it
// fills with the served one, then the root with the checkpoint's.
func (v *verifier) entries() {
	t := tree{sealed: func(level int, n int64, data []byte) error {
		v.compareTile(tlog.Tile{H: tileHeight, L: level, N: n, W: tileWidth}, data)
		return nil
	}}
	size := v.ckpt.Size
	for k := int64(0); k*tileWidth < size; k++ {
		w := int(min(tileWidth, size-k*tileWidth))
		bt := tlog.Tile{H: tileHeight, L: entriesLevel, N: k, W: w}
		data, err := v.src.Read(v.ctx, tilePath(bt), maxBundleLen)
		if errors.Is(err, fs.ErrNotExist) {
			v.rep.fail(tilePath(bt), k*tileWidth, "entry bundle missing: the checkpoint says the log has %d entries; the log is truncated", size)
			return
		}
		if err != nil {
			v.rep.fail(tilePath(bt), k*tileWidth, "%v", err)
			return
		}
		entries, perr := parseBundle(data)
		if len(entries) < w {
			v.rep.fail(tilePath(bt), k*tileWidth+int64(len(entries)), "entry bundle truncated or malformed, %d of %d entries readable: %v", len(entries), w, perr)
			return
		}
		if len(entries) > w || perr != nil {
			v.rep.fail(tilePath(bt), k*tileWidth+int64(w), "entry bundle has bytes past its %d entries", w)
			return
		}
		for i, e := range entries {
			if _, err := t.add(e); err != nil {
				v.rep.fail("tree", k*tileWidth+int64(i), "%v", err)
				return
			}
			v.record(k*tileWidth+int64(i), e)
		}
	}
	for _, p := range t.partials() {
		v.compareTile(p.tile, p.data)
	}
	root, err := t.root()
	if err != nil {
		v.rep.fail("tree", -1, "%v", err)
		return
	}
	v.judge(root)
}

// compareTile notes the first tile whose served version differs from the
// one rebuilt from the entries.
func (v *verifier) compareTile(t tlog.Tile, ours []byte) {
	if v.mismatch != nil {
		return
	}
	served, err := v.src.Read(v.ctx, tilePath(t), fullTileLen)
	if err != nil {
		v.mismatch = &tileMismatch{tile: t, err: err}
		return
	}
	if bytes.Equal(served, ours) {
		return
	}
	if len(served) != len(ours) {
		v.mismatch = &tileMismatch{tile: t, err: fmt.Errorf("%d bytes, want %d (%d hashes)", len(served), len(ours), len(ours)/hashSize)}
		return
	}
	m := &tileMismatch{tile: t, served: served}
	for m.pos = 0; m.pos*hashSize < len(ours); m.pos++ {
		o := ours[m.pos*hashSize : (m.pos+1)*hashSize]
		if !bytes.Equal(o, served[m.pos*hashSize:(m.pos+1)*hashSize]) {
			copy(m.ours[:], o)
			break
		}
	}
	v.mismatch = m
}

// judge decides, from the root the entries give and the first tile that
// differs, what is wrong: an entry, a hash tile, or the whole log.
func (v *verifier) judge(root tlog.Hash) {
	m := v.mismatch
	if root == v.ckpt.Hash {
		switch {
		case m == nil:
		case m.err != nil:
			v.rep.fail(tilePath(m.tile), -1, "hash tile unreadable (the entries agree with the signed checkpoint): %v", m.err)
		default:
			v.rep.fail(tilePath(m.tile), -1, "hash tile corrupt: hash %d differs from the one the entries give, and the entries agree with the signed checkpoint", m.pos)
		}
		return
	}
	if m == nil || m.tile.L != 0 || m.err != nil {
		v.rep.fail("log", -1, "the entries do not hash to the signed checkpoint's root (size %d): the log was rewritten after it was signed", v.ckpt.Size)
		return
	}
	index := m.tile.N*tileWidth + int64(m.pos)
	r := tlog.TileHashReader(tlog.Tree{N: v.ckpt.Size, Hash: v.ckpt.Hash}, tileReader{v.ctx, v.src})
	if _, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, index)}); err != nil {
		v.rep.fail("entry", index, "differs from hash tile %s, and neither agrees with the signed checkpoint: entries and tiles were changed", tilePath(m.tile))
		return
	}
	for j := 0; (j+1)*hashSize <= len(m.served); j++ {
		if j != m.pos && bytes.Equal(m.served[j*hashSize:(j+1)*hashSize], m.ours[:]) {
			v.rep.fail("entry", index, "out of place: it is the signed tree's entry %d (entries reordered)", m.tile.N*tileWidth+int64(j))
			return
		}
	}
	v.rep.fail("entry", index, "its hash is not the one the signed tree has for it: the entry was altered")
}

// record reads one entry's kind and second, for the counts and the gaps.
func (v *verifier) record(index int64, e []byte) {
	r, err := ParseRecord(e)
	if err != nil {
		v.rep.warn("entry %d: not a record: %v", index, err)
		return
	}
	v.rep.Kinds[r.Kind]++
	if r.Kind == "second" {
		v.rep.Seconds.add(index, r.T, v.rep)
	}
}

// archived checks a checkpoint kept by someone: signed by the key, and the
// log now extends it (a consistency proof from the log's tiles).
func (v *verifier) archived(a ArchivedCheckpoint, key note.Verifier) {
	where := "checkpoint " + a.Name
	_, c, err := OpenCheckpoint(a.Note, key)
	if err != nil {
		v.rep.fail(where, -1, "%v", err)
		return
	}
	if err := v.consistent(c); err != nil {
		v.rep.fail(where, -1, "%v", err)
		return
	}
	v.rep.Checkpoints = append(v.rep.Checkpoints, CheckedCheckpoint{Name: a.Name, Size: c.Size, RootHash: c.Hash.String(), Consistent: true})
}

// consistent proves that the verified checkpoint extends c.
func (v *verifier) consistent(c Checkpoint) error {
	return ProveConsistent(v.ctx, v.src, c, v.ckpt)
}

// ErrInconsistent marks proof that two checkpoints of one log cannot both
// be true: the log forked, was rolled back or rewritten.
var ErrInconsistent = errors.New("inconsistent")

// ProveConsistent checks, with a consistency proof built from the tiles of
// src (authenticated by newer's root hash), that newer extends older.
func ProveConsistent(ctx context.Context, src Source, older, newer Checkpoint) error {
	switch {
	case older.Origin != newer.Origin:
		return fmt.Errorf("checkpoint of another log (%q, not %q)", older.Origin, newer.Origin)
	case older.Size > newer.Size:
		return fmt.Errorf("%w: size %d, larger than the log's %d: the log was truncated or rolled back after it was signed", ErrInconsistent, older.Size, newer.Size)
	case older.Size == 0:
		if older.Hash != emptyRoot() {
			return fmt.Errorf("%w: size 0 with a root hash that is not the empty tree's", ErrInconsistent)
		}
		return nil
	case older.Size == newer.Size:
		if older.Hash != newer.Hash {
			return fmt.Errorf("%w: size %d with root %s, but the log at that size has %s: the log was rewritten after it was signed", ErrInconsistent, older.Size, older.Hash, newer.Hash)
		}
		return nil
	}
	r := tlog.TileHashReader(tlog.Tree{N: newer.Size, Hash: newer.Hash}, tileReader{ctx, src})
	proof, err := tlog.ProveTree(newer.Size, older.Size, r)
	if err != nil {
		return fmt.Errorf("building a consistency proof from %d to %d: %v", older.Size, newer.Size, err)
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return fmt.Errorf("%w: size %d, root %s: not consistent with the log at size %d (the proof fails): the log was rewritten after it was signed", ErrInconsistent, older.Size, older.Hash, newer.Size)
	}
	return nil
}

func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// cosigned checks the log's cosigned checkpoint: signed by the log, a valid
// cosignature from every witness key, and consistent with the log.
func (v *verifier) cosigned(key note.Verifier, witnessKeys []string) {
	verifiers := []note.Verifier{key}
	for _, k := range witnessKeys {
		w, err := cosig.NewVerifier(k)
		if err != nil {
			v.rep.fail("witness key", -1, "%v", err)
			return
		}
		verifiers = append(verifiers, w)
	}
	msg, err := v.src.Read(v.ctx, cosignedFile, maxNote)
	if err != nil {
		v.rep.fail("cosigned", -1, "no cosigned checkpoint: %v", err)
		return
	}
	n, err := openNote(msg, note.VerifierList(verifiers...), key.Name())
	if err != nil {
		v.rep.fail("cosigned", -1, "%v", err)
		return
	}
	signed := map[string]bool{}
	for _, s := range n.Sigs {
		signed[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
	}
	var names []string
	for _, w := range verifiers {
		id := fmt.Sprintf("%s+%08x", w.Name(), w.KeyHash())
		if !signed[id] {
			v.rep.fail("cosigned", -1, "no signature by %s", id)
			return
		}
		names = append(names, id)
	}
	c, err := ParseCheckpoint(n.Text)
	if err == nil {
		err = v.consistent(c)
	}
	if err != nil {
		v.rep.fail("cosigned", -1, "%v", err)
		return
	}
	v.rep.Checkpoints = append(v.rep.Checkpoints, CheckedCheckpoint{Name: "cosigned", Size: c.Size, RootHash: c.Hash.String(), Consistent: true, Cosigners: names[1:]})
}

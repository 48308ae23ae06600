// Package witness is an independent cosigner of a node's receipts log: it
// polls the log's checkpoint, proves each consistent with the last, cosigns.
package witness

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/receipts/cosig"
)

// Files in the witness's data directory.
const (
	keyFile     = "witness.key" // the cosigner key: private line, then public
	latestFile  = "latest"      // the latest cosigned checkpoint: the state
	refusedFile = "refused"     // why it refuses, with the two checkpoints
	cosignedDir = "cosigned"    // every cosigned checkpoint, by size
)

// Config sets up a witness.
type Config struct {
	Log      string        // the log's URL (the node's public URL, or .../receipts)
	LogKey   string        // the log's note verifier key
	Data     string        // where the witness keeps its key and cosignatures
	Name     string        // the cosigner's name, for a new key
	Interval time.Duration // how often to poll
	Logger   *slog.Logger
}

// Witness cosigns the checkpoints of one log.
type Witness struct {
	cfg    Config
	src    receipts.Source
	logKey note.Verifier
	signer *cosig.Signer
	vkey   string
	log    *slog.Logger

	mu      sync.Mutex
	last    *state // the latest checkpoint cosigned
	refused string // non-empty: the log forked; never cosign again
	polled  time.Time
	lastErr string
}

type state struct {
	ckpt     receipts.Checkpoint
	cosigned []byte // the log's note with the log's signature and ours
}

// New opens (or creates) the witness's data directory and key.
func New(cfg Config) (*Witness, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = receipts.CheckpointEvery
	}
	src, err := receipts.NewSource(cfg.Log)
	if err != nil {
		return nil, err
	}
	if _, ok := src.(*receipts.URLSource); !ok {
		return nil, fmt.Errorf("--log %q: a witness watches a log over HTTP: give its URL", cfg.Log)
	}
	logKey, err := note.NewVerifier(cfg.LogKey)
	if err != nil {
		return nil, fmt.Errorf("log key %q: %v", cfg.LogKey, err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Data, cosignedDir), 0o700); err != nil {
		return nil, err
	}
	signer, vkey, err := loadOrCreateKey(filepath.Join(cfg.Data, keyFile), cfg.Name)
	if err != nil {
		return nil, err
	}
	w := &Witness{cfg: cfg, src: src, logKey: logKey, signer: signer, vkey: vkey, log: cfg.Logger}
	if err := w.load(); err != nil {
		return nil, err
	}
	return w, nil
}

func loadOrCreateKey(path, name string) (*cosig.Signer, string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		skey, vkey, err := cosig.GenerateKey(name)
		if err != nil {
			return nil, "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", err
		}
		_, err = fmt.Fprintf(f, "%s\n%s\n", skey, vkey)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, "", err
		}
		b = []byte(skey + "\n" + vkey + "\n")
	} else if err != nil {
		return nil, "", err
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return nil, "", fmt.Errorf("%s: want the cosigner key and its verifier key on two lines", path)
	}
	s, err := cosig.NewSigner(lines[0])
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", path, err)
	}
	if _, err := cosig.NewVerifier(lines[1]); err != nil {
		return nil, "", fmt.Errorf("%s: %v", path, err)
	}
	return s, lines[1], nil
}

// load reads the state a previous run left: the last cosigned checkpoint,
// and a refusal, which stays until someone deletes the refused file.
func (w *Witness) load() error {
	if b, err := os.ReadFile(filepath.Join(w.cfg.Data, refusedFile)); err == nil {
		w.refused = firstLine(string(b))
	}
	b, err := os.ReadFile(filepath.Join(w.cfg.Data, latestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, c, err := receipts.OpenCheckpoint(b, w.logKey)
	if err != nil {
		return fmt.Errorf("%s: %v", filepath.Join(w.cfg.Data, latestFile), err)
	}
	w.last = &state{c, b}
	return nil
}

// VerifierKey is the witness's cosigner verifier key (C2SP vkey, type 0x04).
func (w *Witness) VerifierKey() string { return w.vkey }

// Run polls every Interval until ctx ends.
func (w *Witness) Run(ctx context.Context) {
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		if err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("witness: poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Poll fetches the log's checkpoint once and cosigns it if it extends the
// last one cosigned. A checkpoint that cannot extend it is refused, and so
// is every checkpoint after it.
func (w *Witness) Poll(ctx context.Context) error {
	err := w.poll(ctx)
	w.mu.Lock()
	w.polled, w.lastErr = time.Now(), ""
	if err != nil {
		w.lastErr = err.Error()
	}
	w.mu.Unlock()
	return err
}

func (w *Witness) poll(ctx context.Context) error {
	w.mu.Lock()
	refused, last := w.refused, w.last
	w.mu.Unlock()
	if refused != "" {
		w.log.Error("witness: REFUSING to cosign this log: it was rewritten after a checkpoint this witness cosigned", "log", w.cfg.Log, "why", refused)
		return errors.New("refusing: " + refused)
	}
	msg, err := w.src.Read(ctx, "checkpoint", 64<<10)
	if err != nil {
		return err
	}
	n, c, err := receipts.OpenCheckpoint(msg, w.logKey)
	if err != nil {
		return fmt.Errorf("the log's checkpoint: %v", err)
	}
	if last != nil {
		if last.ckpt == c {
			return nil
		}
		if err := receipts.ProveConsistent(ctx, w.src, last.ckpt, c); err != nil {
			if errors.Is(err, receipts.ErrInconsistent) {
				return w.refuse(last, c.Size, msg, err)
			}
			return err
		}
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, w.signer)
	if err != nil {
		return err
	}
	if err := w.store(c, cosigned); err != nil {
		return err
	}
	w.log.Info("witness: cosigned", "origin", c.Origin, "size", c.Size)
	return nil
}

func (w *Witness) store(c receipts.Checkpoint, cosigned []byte) error {
	if err := receipts.WriteFileAtomic(filepath.Join(w.cfg.Data, cosignedDir, strconv.FormatInt(c.Size, 10)), cosigned, 0o644); err != nil {
		return err
	}
	if err := receipts.WriteFileAtomic(filepath.Join(w.cfg.Data, latestFile), cosigned, 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	w.last = &state{c, cosigned}
	w.mu.Unlock()
	return nil
}

// refuse records, for good, that the log forked: what it cosigned and the
// checkpoint that contradicts it.
func (w *Witness) refuse(last *state, size int64, msg []byte, why error) error {
	reason := fmt.Sprintf("the checkpoint of size %d contradicts the one of size %d cosigned earlier: %v", size, last.ckpt.Size, why)
	evidence := reason + "\n\n-- cosigned earlier:\n" + string(last.cosigned) + "\n-- served now:\n" + string(msg)
	if err := receipts.WriteFileAtomic(filepath.Join(w.cfg.Data, refusedFile), []byte(evidence), 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	w.refused = reason
	w.mu.Unlock()
	w.log.Error("witness: REFUSING to cosign this log from now on: it was rewritten after a checkpoint this witness cosigned", "log", w.cfg.Log, "why", reason,
		"evidence", filepath.Join(w.cfg.Data, refusedFile))
	return errors.New("refusing: " + reason)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

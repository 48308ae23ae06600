package receipts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/onair-live/onair/internal/receipts/cosig"
)

// witnessPollEvery is how often a node asks its witnesses for cosignatures.
const witnessPollEvery = 5 * time.Second

// witnessPoller fetches one witness's cosignatures of this log.
type witnessPoller struct {
	l      *Log
	url    string
	v      *cosig.Verifier
	client *http.Client
}

// AddWitness makes Run poll a witness (its URL, e.g. http://w.example:8090,
// and its cosigner verifier key) for its cosignatures of this log. The
// newest cosigned checkpoint is kept in the log directory as "cosigned" and
// served at /receipts/cosigned; while it is also the latest checkpoint,
// /receipts/checkpoint carries the cosignatures too. A witness that refuses
// the log is logged as an error every poll. Call before Run.
func (l *Log) AddWitness(url, vkey string) error {
	v, err := cosig.NewVerifier(vkey)
	if err != nil {
		return err
	}
	url = strings.TrimSuffix(url, "/")
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return fmt.Errorf("witness URL %q: want http(s)://host:port", url)
	}
	l.witnesses = append(l.witnesses, &witnessPoller{l: l, url: url, v: v, client: &http.Client{Timeout: 10 * time.Second}})
	return nil
}

// PollWitnesses asks each witness once for its cosignature (Run does it
// every few seconds; call it after a show's last Checkpoint to pick up the
// final cosignatures sooner). It returns the first error.
func (l *Log) PollWitnesses(ctx context.Context) error {
	var first error
	for _, w := range l.witnesses {
		if err := w.poll(ctx); err != nil && first == nil {
			first = fmt.Errorf("witness %s: %v", w.url, err)
		}
	}
	return first
}

func (w *witnessPoller) get(ctx context.Context, path string) ([]byte, error) {
	return httpGet(ctx, w.client, w.url+path, maxNote)
}

// poll takes the witness's latest cosignature if it cosigns a checkpoint
// this log signed, and reports a witness that refuses the log.
func (w *witnessPoller) poll(ctx context.Context) error {
	if b, err := w.get(ctx, "/witness/status"); err == nil {
		var st struct {
			Refusing bool   `json:"refusing"`
			Reason   string `json:"reason"`
		}
		if json.Unmarshal(b, &st) == nil && st.Refusing {
			w.l.log.Error("receipts: the witness REFUSES this log: it saw a checkpoint inconsistent with one it cosigned", "witness", w.url, "why", st.Reason)
		}
	}
	b, err := w.get(ctx, "/witness/checkpoint")
	if err != nil {
		return err
	}
	n, err := openNote(b, note.VerifierList(w.l.key.Verifier, w.v), w.v.Name())
	if err != nil {
		return fmt.Errorf("cosigned checkpoint: %v", err)
	}
	var own, co *note.Signature
	for i, s := range n.Sigs {
		switch {
		case s.Name == w.l.key.Verifier.Name() && s.Hash == w.l.key.Verifier.KeyHash():
			own = &n.Sigs[i]
		case s.Name == w.v.Name() && s.Hash == w.v.KeyHash():
			co = &n.Sigs[i]
		}
	}
	if own == nil || co == nil {
		return fmt.Errorf("cosigned checkpoint lacks the log's signature or the witness's cosignature")
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return err
	}
	return w.l.addCosignature(c, n.Text, *own, *co)
}

// addCosignature keeps a witness's cosignature: the newest cosigned
// checkpoint, with every witness's cosignature on the same text, goes to
// the "cosigned" file, and to the served checkpoint if it is the latest.
func (l *Log) addCosignature(c Checkpoint, text string, own, co note.Signature) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cosigs == nil || c.Size > l.cosignedSize {
		l.cosigs, l.cosignedSize, l.cosignedText = map[string]note.Signature{}, c.Size, text
	}
	if c.Size < l.cosignedSize || text != l.cosignedText {
		return nil // an older cosignature: the newer one is kept
	}
	if old, ok := l.cosigs[co.Name]; ok && old == co {
		return nil
	}
	l.cosigs[co.Name] = co
	sigs := []note.Signature{own}
	for _, s := range l.cosigs {
		sigs = append(sigs, s)
	}
	msg, err := note.Sign(&note.Note{Text: text, Sigs: sigs})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(l.dir, cosignedFile), msg, 0o644); err != nil {
		return err
	}
	// Only if no newer checkpoint was signed meanwhile.
	if cur := l.served.Load(); cur != nil && strings.HasPrefix(string(*cur), text+"\n") {
		l.served.CompareAndSwap(cur, &msg)
	}
	return nil
}

package receipts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/time/rate"
)

// A capacity claim is a load generator's summary of a run, signed as a note
// by the generator's own key and logged by the node it loaded, so that "held
// N listeners" is an entry anyone can check: the signature says which key
// made the claim, nothing more.

// MaxClaimNote bounds a claim's signed note.
const MaxClaimNote = 16 << 10

// ClaimRequest is the body of POST /receipts/claims.
type ClaimRequest struct {
	Key  string `json:"key"`  // the claimant's note verifier key
	Note string `json:"note"` // the summary (a JSON object) as a note signed by Key
}

// ClaimEntry is how a claim is logged.
type ClaimEntry struct {
	V    int    `json:"v"`
	Kind string `json:"kind"` // "claim"
	T    int64  `json:"t"`
	Key  string `json:"key"`
	Note string `json:"note"`
}

// DefaultClaimKeyPath is where onair load keeps its claim key.
func DefaultClaimKeyPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "onair", "load-claim.key")
}

// DefaultClaimKeyName names a new claim key after this machine.
func DefaultClaimKeyName() string {
	host, err := os.Hostname()
	if err != nil || !validKeyName(host) {
		host = "localhost"
	}
	return "onair-load/" + host
}

// SignClaim signs summary (marshalled as one line of JSON) with k.
func SignClaim(k KeyPair, summary any) ([]byte, error) {
	b, err := json.Marshal(summary)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("a claim's summary is a JSON object")
	}
	return note.Sign(&note.Note{Text: string(b) + "\n"}, k.Signer)
}

// VerifyClaim checks a claim against the key it names and returns the
// summary it signed.
func VerifyClaim(vkey string, signed []byte) ([]byte, error) {
	if len(signed) > MaxClaimNote {
		return nil, fmt.Errorf("claim note of %d bytes, at most %d", len(signed), MaxClaimNote)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("claim key %q: %v", vkey, err)
	}
	n, err := openNote(signed, note.VerifierList(v), vkey)
	if err != nil {
		return nil, fmt.Errorf("claim: %v", err)
	}
	text := strings.TrimSuffix(n.Text, "\n")
	if !strings.HasPrefix(text, "{") || !json.Valid([]byte(text)) {
		return nil, errors.New("claim: the signed text is not a JSON object")
	}
	return []byte(text), nil
}

// PostClaim sends a signed claim to the node at target (its public URL)
// and returns the index of the entry that logged it.
func PostClaim(ctx context.Context, target string, k KeyPair, signed []byte) (int64, error) {
	body, _ := json.Marshal(ClaimRequest{Key: k.VKey, Note: string(signed)})
	url := strings.TrimSuffix(target, "/") + Prefix + "claims"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return -1, fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	var out struct {
		Index int64 `json:"index"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return -1, fmt.Errorf("POST %s: bad answer %q", url, b)
	}
	return out.Index, nil
}

// claimRate keeps claims from filling the log: a few a minute at most.
var claimRate = rate.Every(10 * time.Second)

const claimBurst = 6

// serveClaim logs a claim whose signature holds, answering its index.
func (l *Log) serveClaim(w http.ResponseWriter, r *http.Request) {
	var req ClaimRequest
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*MaxClaimNote+4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		http.Error(w, `want {"key": VERIFIER-KEY, "note": SIGNED-NOTE} (at most 16 KiB): `+err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := VerifyClaim(req.Key, []byte(req.Note)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Only claims that verify count: the gate already budgets requests.
	if !l.claims.Allow() {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many claims: try again in 10 s", http.StatusTooManyRequests)
		return
	}
	entry, _ := json.Marshal(ClaimEntry{V: 1, Kind: "claim", T: time.Now().Unix(), Key: req.Key, Note: req.Note})
	index, err := l.Append(entry)
	if err != nil {
		l.log.Error("receipts: logging a claim", "err", err)
		http.Error(w, "cannot log the claim: "+err.Error(), http.StatusInternalServerError)
		return
	}
	l.log.Info("receipts: logged a claim", "index", index, "key", req.Key)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"index\":%d}\n", index)
}

package witness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Handler serves what the witness keeps:
//
//	GET /witness/checkpoint         the latest cosigned checkpoint: the log's signed note with the witness's cosignature
//	GET /witness/checkpoint/SIZE    the cosigned checkpoint of that size, if the witness cosigned one
//	GET /witness/key                the witness's cosigner verifier key
//	GET /witness/status             JSON: the log, the latest cosigned size, and whether it refuses the log (and why)
//
// A witness that refuses still serves the last checkpoint it cosigned: it
// stands by it, and its status says it refuses what came after.
func (w *Witness) Handler() http.Handler {
	return http.HandlerFunc(w.serve)
}

func (w *Witness) serve(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "read-only: GET", http.StatusMethodNotAllowed)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/witness/")
	if !ok {
		http.Error(rw, "not found (try /witness/checkpoint, /witness/key, /witness/status)", http.StatusNotFound)
		return
	}
	w.mu.Lock()
	last, refused, polled, lastErr := w.last, w.refused, w.polled, w.lastErr
	w.mu.Unlock()
	if refused != "" {
		rw.Header().Set("Onair-Witness-Refusing", "true")
	}
	switch {
	case path == "key":
		text(rw, "public, max-age=3600", []byte(w.vkey+"\n"))
	case path == "checkpoint":
		if last == nil {
			http.Error(rw, "nothing cosigned yet", http.StatusNotFound)
			return
		}
		text(rw, "public, max-age=5", last.cosigned)
	case strings.HasPrefix(path, "checkpoint/"):
		size, err := strconv.ParseInt(strings.TrimPrefix(path, "checkpoint/"), 10, 64)
		if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimPrefix(path, "checkpoint/") {
			http.Error(rw, "want /witness/checkpoint/SIZE with a decimal size", http.StatusNotFound)
			return
		}
		b, err := os.ReadFile(filepath.Join(w.cfg.Data, cosignedDir, strconv.FormatInt(size, 10)))
		if err != nil {
			http.Error(rw, fmt.Sprintf("no cosigned checkpoint of size %d", size), http.StatusNotFound)
			return
		}
		text(rw, "public, max-age=31536000, immutable", b)
	case path == "status":
		st := Status{Log: w.cfg.Log, Key: w.vkey, Refusing: refused != "", Reason: refused, LastError: lastErr}
		if !polled.IsZero() {
			st.Polled = polled.UTC().Format(time.RFC3339)
		}
		if last != nil {
			st.Origin, st.Size, st.RootHash = last.ckpt.Origin, last.ckpt.Size, last.ckpt.Hash.String()
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "no-cache")
		json.NewEncoder(rw).Encode(st)
	default:
		http.Error(rw, "not found (try /witness/checkpoint, /witness/checkpoint/SIZE, /witness/key, /witness/status)", http.StatusNotFound)
	}
}

// Status is what /witness/status says.
type Status struct {
	Log       string `json:"log"`
	Key       string `json:"key"`
	Origin    string `json:"origin,omitempty"`
	Size      int64  `json:"size"`
	RootHash  string `json:"root_hash,omitempty"`
	Polled    string `json:"polled,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Refusing  bool   `json:"refusing"`
	Reason    string `json:"reason,omitempty"`
}

func text(rw http.ResponseWriter, cache string, b []byte) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", cache)
	rw.Write(b)
}

package receipts

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Prefix is where Handler serves the log.
const Prefix = "/receipts/"

// Handler serves the log under /receipts/ as C2SP tlog-tiles says:
//
//	GET  /receipts/checkpoint      the latest signed checkpoint (with any witness cosignatures for it)
//	GET  /receipts/cosigned        the latest checkpoint a witness cosigned
//	GET  /receipts/key             the log's note verifier key
//	GET  /receipts/tile/...        hash tiles and entry bundles
//	POST /receipts/claims          a signed capacity claim to log (see HandleClaim)
//
// Mount it with mux.Handle(receipts.Prefix, log.Handler()).
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serve)
}

func (l *Log) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Error(w, "not a receipts path", http.StatusNotFound)
		return
	}
	if path == "claims" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "POST a signed claim here", http.StatusMethodNotAllowed)
			return
		}
		l.serveClaim(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the log is read-only: GET", http.StatusMethodNotAllowed)
		return
	}
	switch path {
	case checkpointFile:
		b := l.served.Load()
		if b == nil {
			http.Error(w, "no checkpoint yet", http.StatusNotFound)
			return
		}
		writeFile(w, "text/plain; charset=utf-8", "public, max-age=5", *b)
	case keyFile:
		writeFile(w, "text/plain; charset=utf-8", "public, max-age=3600", []byte(l.key.VKey+"\n"))
	default:
		l.serveFile(w, r, path)
	}
}

// serveFile serves a tile, a bundle or the cosigned checkpoint from the
// log directory: full tiles never change, partial ones are replaced by
// wider ones and then deleted.
func (l *Log) serveFile(w http.ResponseWriter, r *http.Request, path string) {
	t, isTile, err := publicFile(path)
	if err != nil {
		http.Error(w, fmt.Sprintf("no such receipts resource %q: %v (try checkpoint, key, cosigned, tile/L/N[.p/W], tile/entries/N[.p/W], claims)", path, err), http.StatusNotFound)
		return
	}
	max := int64(maxNote)
	if isTile {
		max = fullTileLen
		if t.L == entriesLevel {
			max = maxBundleLen
		}
		if !l.published(t) {
			http.Error(w, "tile beyond the latest checkpoint", http.StatusNotFound)
			return
		}
	}
	b, err := DirSource(l.dir).Read(r.Context(), path, max)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "not found: "+path, http.StatusNotFound)
		return
	}
	if err != nil {
		l.log.Error("receipts: serving", "path", path, "err", err)
		http.Error(w, "cannot read "+path, http.StatusInternalServerError)
		return
	}
	if isTile && t.L == entriesLevel {
		w.Header().Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			b = gzipped(b)
			w.Header().Set("Content-Encoding", "gzip")
		}
	}
	switch {
	case !isTile:
		writeFile(w, "text/plain; charset=utf-8", "public, max-age=5", b)
	case t.W == tileWidth:
		writeFile(w, "application/octet-stream", "public, max-age=31536000, immutable", b)
	default:
		writeFile(w, "application/octet-stream", "public, max-age=60", b)
	}
}

// acceptsGzip says whether the client takes gzip: entry bundles (JSON
// records) shrink several times, as C2SP tlog-tiles recommends.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// published says whether tile t is covered by the latest checkpoint: a
// client may only ask for tiles a checkpoint it holds implies.
func (l *Log) published(t tlog.Tile) bool {
	size := l.publishedSize.Load()
	level := t.L
	if level < 0 {
		level = 0
	}
	width := size >> (tileHeight * level)
	return t.N*tileWidth+int64(t.W) <= width
}

func writeFile(w http.ResponseWriter, ctype, cache string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", cache)
	h.Set("Content-Length", fmt.Sprint(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

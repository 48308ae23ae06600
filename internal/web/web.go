// Package web holds the pages and static assets both ports serve, embedded,
// and the headers each kind of page is served with.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
)

// The pages and their static assets are embedded: the binary needs no build
// step and no files beside it. hls.js is vendored under static/vendor by
// scripts/vendor-hlsjs.sh.
//
//go:embed *.html static
var webFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":     func(t time.Time) string { return t.UTC().Format("Mon 2 Jan, 15:04 UTC") },
	"static":  staticURL,
}).ParseFS(webFS, "*.html"))

// PageCSP lets pages load only this origin's scripts, styles and media, plus
// the blob: URLs hls.js plays through Media Source Extensions.
const PageCSP = "default-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// StudioCSP lets the host studio load only this origin's scripts, styles and
// API. getUserMedia and RTCPeerConnection need no CSP source: the microphone
// is a permission (the studio page grants it) and WebRTC media is not fetched.
const StudioCSP = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Policy is the headers a kind of page is served with.
type Policy struct{ Cache, CSP, Referrer, Permissions string }

var (
	// Public: listener pages, revalidated, this origin's media and blobs.
	Public = Policy{Cache: "no-cache", CSP: PageCSP, Referrer: "same-origin"}
	// Host: host pages (studio, dashboard): never stored, no referrer (their
	// secrets travel in the fragment), only this origin.
	Host = Policy{Cache: "no-store", CSP: StudioCSP, Referrer: "no-referrer",
		Permissions: "microphone=(), camera=(), geolocation=(), payment=(), usb=()"}
)

// Render renders an embedded page under policy p.
func Render(log *slog.Logger, w http.ResponseWriter, status int, name string, data any, p Policy) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		log.Error("render page", "page", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", p.Cache)
	h.Set("Content-Security-Policy", p.CSP)
	if p.Permissions != "" {
		h.Set("Permissions-Policy", p.Permissions)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", p.Referrer)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// asset is one embedded static file, gzipped once at start when that helps.
type asset struct {
	body, gz []byte
	ctype    string
	hash     string // of body: the ?v= of versioned URLs and the ETag
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	m := map[string]*asset{}
	err := fs.WalkDir(webFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, ctype: assetType(p), hash: hex.EncodeToString(sum[:6])}
		if strings.HasPrefix(a.ctype, "text/") || strings.HasPrefix(a.ctype, "image/svg") {
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if gz.Len() < len(body)*9/10 {
				a.gz = gz.Bytes()
			}
		}
		m[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	if err != nil {
		panic("embedded static files: " + err.Error())
	}
	return m
}

func assetType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".webmanifest":
		return "application/manifest+json"
	}
	return "text/plain; charset=utf-8" // LICENSE, VERSION
}

// staticURL is the versioned URL of an embedded asset: its content hash in
// the query makes it safe to cache for a year.
func staticURL(name string) (string, error) {
	a := assets[name]
	if a == nil {
		return "", fs.ErrNotExist
	}
	return "/static/" + name + "?v=" + a.hash, nil
}

// HandleStatic serves /static/{file...}: immutable for a year when asked by
// the versioned URL the pages use, revalidated otherwise.
func HandleStatic(w http.ResponseWriter, r *http.Request) {
	a := assets[r.PathValue("file")]
	if a == nil {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such static file")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = a.gz, `"`+a.hash+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || strings.Contains(inm, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

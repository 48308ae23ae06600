package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// The pages and their static assets are embedded: the binary needs no build
// step and no files beside it. hls.js is vendored under web/static/vendor by
// scripts/vendor-hlsjs.sh.
//
//go:embed web/*.html web/static
var webFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":     func(t time.Time) string { return t.UTC().Format("Mon 2 Jan, 15:04 UTC") },
	"static":  staticURL,
}).ParseFS(webFS, "web/*.html"))

// pageCSP lets pages load only this origin's scripts, styles and media, plus
// the blob: URLs hls.js plays through Media Source Extensions.
const pageCSP = "default-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// publicSpace is what anyone may see of a space: no tokens.
type publicSpace struct {
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	State     store.State `json:"state"`
	StartsAt  time.Time   `json:"starts_at"`
	StartedAt time.Time   `json:"started_at,omitzero"`
	AutoStart bool        `json:"auto_start"`
	// StartDelayMS is actual minus scheduled start, once live.
	StartDelayMS *int64 `json:"start_delay_ms,omitempty"`
	Listeners    int64  `json:"listeners"`
	Replay       string `json:"replay,omitempty"`
}

func (s *Server) public(sp store.Space) publicSpace {
	p := publicSpace{ID: sp.ID, Title: sp.Title, State: sp.State, StartsAt: sp.StartsAt,
		StartedAt: sp.StartedAt, AutoStart: sp.AutoStart, Listeners: s.listeners(sp.ID)}
	if !sp.StartedAt.IsZero() {
		d := sp.StartDelay().Milliseconds()
		p.StartDelayMS = &d
	}
	if sp.State == store.Ended {
		p.Replay = "/replay/" + sp.ID + ".opus"
	}
	return p
}

// publicSpaces lists live and scheduled spaces (ended ones stay reachable by id).
func (s *Server) publicSpaces() ([]publicSpace, error) {
	spaces, err := s.dir.Spaces()
	out := []publicSpace{}
	for _, sp := range spaces {
		if sp.State != store.Ended {
			out = append(out, s.public(sp))
		}
	}
	return out, err
}

func (s *Server) handlePublicList(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "store", "could not list spaces")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"spaces": list})
}

func (s *Server) handlePublicGet(w http.ResponseWriter, r *http.Request) {
	if sp, ok := s.loadSpace(w, r); ok {
		writeJSON(w, http.StatusOK, s.public(sp))
	}
}

// indexPage is what / shows: live spaces first, then the scheduled ones by
// start time.
type indexPage struct {
	Live, Scheduled []publicSpace
	Blank           publicSpace // renders the card template index.js fills
}

func (s *Server) handleIndexPage(w http.ResponseWriter, _ *http.Request) {
	list, err := s.publicSpaces()
	if err != nil {
		s.log.Error("list spaces", "err", err)
		s.render(w, http.StatusInternalServerError, "error.html", nil)
		return
	}
	var p indexPage
	for _, sp := range list {
		if sp.State == store.Live {
			p.Live = append(p.Live, sp)
		} else {
			p.Scheduled = append(p.Scheduled, sp)
		}
	}
	// The store lists spaces by id; people look for what starts next.
	byStart := func(a, b publicSpace) int { return a.StartsAt.Compare(b.StartsAt) }
	slices.SortStableFunc(p.Live, byStart)
	slices.SortStableFunc(p.Scheduled, byStart)
	s.render(w, http.StatusOK, "index.html", p)
}

func (s *Server) handleSpacePage(w http.ResponseWriter, r *http.Request) {
	sp, err := s.dir.Space(r.PathValue("id"))
	if err != nil {
		s.render(w, http.StatusNotFound, "notfound.html", nil)
		return
	}
	s.renderWith(w, http.StatusOK, "space.html", s.public(sp), s.spacePolicy(sp.ID))
}

// pagePolicy is the headers a kind of page is served with.
type pagePolicy struct{ cache, csp, referrer, permissions string }

var (
	// listener pages: revalidated, this origin's media and blobs.
	publicPolicy = pagePolicy{cache: "no-cache", csp: pageCSP, referrer: "same-origin"}
	// host pages (studio, dashboard): never stored, no referrer (their
	// secrets travel in the fragment), only this origin.
	hostPolicy = pagePolicy{cache: "no-store", csp: studioCSP, referrer: "no-referrer",
		permissions: "microphone=(), camera=(), geolocation=(), payment=(), usb=()"}
)

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	s.renderWith(w, status, name, data, publicPolicy)
}

// renderWith renders an embedded page under policy p.
func (s *Server) renderWith(w http.ResponseWriter, status int, name string, data any, p pagePolicy) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", p.cache)
	h.Set("Content-Security-Policy", p.csp)
	if p.permissions != "" {
		h.Set("Permissions-Policy", p.permissions)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", p.referrer)
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
	err := fs.WalkDir(webFS, "web/static", func(p string, d fs.DirEntry, err error) error {
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
		m[strings.TrimPrefix(p, "web/static/")] = a
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

// handleStatic serves /static/{file...}: immutable for a year when asked by
// the versioned URL the pages use, revalidated otherwise.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	a := assets[r.PathValue("file")]
	if a == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such static file")
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

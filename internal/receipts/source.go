package receipts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Source is where a log is read from: its directory, or its URL. Both name
// files the same way: "checkpoint", "key", "cosigned" and the C2SP tile
// paths "tile/...".
type Source interface {
	// Read returns the file at path, of at most max bytes. A file that is
	// not there is an error wrapping fs.ErrNotExist.
	Read(ctx context.Context, path string, max int64) ([]byte, error)
	String() string
}

// DefaultTimeout bounds each request of a URL source.
const DefaultTimeout = 30 * time.Second

// NewSource opens loc: an http(s) URL (the node's public URL, with or
// without /receipts) or a log directory.
func NewSource(loc string) (Source, error) {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, err := url.Parse(loc)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad log URL %q", loc)
		}
		if strings.Trim(u.Path, "/") == "" {
			u.Path = "/receipts"
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		return &URLSource{Base: u.String(), Client: &http.Client{Timeout: DefaultTimeout}}, nil
	}
	st, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("log directory: %v", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (want a log directory or an http(s) URL)", loc)
	}
	return DirSource(loc), nil
}

// publicFile says whether path names a file of the log that may be read
// from a source (never signing.key, never anything outside the log).
func publicFile(path string) (tlog.Tile, bool, error) {
	switch path {
	case checkpointFile, keyFile, cosignedFile:
		return tlog.Tile{}, false, nil
	}
	t, err := parseTilePath(path)
	return t, true, err
}

// DirSource reads a log directory.
type DirSource string

func (d DirSource) String() string { return string(d) }

// Read reads a file of the log. A partial tile that is gone (a wider one or
// the full one replaced it) is cut from the narrowest wider one, as its
// content is a prefix of theirs.
func (d DirSource) Read(_ context.Context, path string, max int64) ([]byte, error) {
	t, isTile, err := publicFile(path)
	if err != nil {
		return nil, err
	}
	b, err := readFileMax(filepath.Join(string(d), filepath.FromSlash(path)), max)
	if !isTile || t.W == tileWidth || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	wider, werr := d.widerTile(t, max)
	if werr != nil {
		return nil, err // say the tile asked for is missing
	}
	return narrowTile(t, wider)
}

// widerTile reads the full version of t or its narrowest wider partial.
func (d DirSource) widerTile(t tlog.Tile, max int64) ([]byte, error) {
	full := t
	full.W = tileWidth
	fullPath := filepath.Join(string(d), filepath.FromSlash(tilePath(full)))
	if b, err := readFileMax(fullPath, max); err == nil {
		return b, nil
	}
	ents, err := os.ReadDir(fullPath + ".p")
	if err != nil {
		return nil, err
	}
	best := tileWidth
	for _, e := range ents {
		if w, err := strconv.Atoi(e.Name()); err == nil && w > t.W && w < best {
			best = w
		}
	}
	if best == tileWidth {
		return nil, fs.ErrNotExist
	}
	return readFileMax(filepath.Join(fullPath+".p", strconv.Itoa(best)), max)
}

// narrowTile cuts tile data to t's width.
func narrowTile(t tlog.Tile, data []byte) ([]byte, error) {
	if t.L >= 0 {
		if len(data) < t.W*hashSize {
			return nil, fmt.Errorf("%s: wider tile too short", tilePath(t))
		}
		return data[:t.W*hashSize], nil
	}
	entries, err := parseBundle(data)
	if len(entries) < t.W {
		return nil, fmt.Errorf("%s: wider bundle has %d entries (%v)", tilePath(t), len(entries), err)
	}
	n := 0
	for _, e := range entries[:t.W] {
		n += 2 + len(e)
	}
	return data[:n], nil
}

func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, err
}

// URLSource reads a log over HTTP, under Base (".../receipts").
type URLSource struct {
	Base   string
	Client *http.Client
}

func (u *URLSource) String() string { return u.Base }

// Read GETs Base/path.
func (u *URLSource) Read(ctx context.Context, path string, max int64) ([]byte, error) {
	if _, _, err := publicFile(path); err != nil {
		return nil, err
	}
	return httpGet(ctx, u.Client, u.Base+"/"+path, max)
}

// httpGet GETs url, of at most max bytes; a 404 wraps fs.ErrNotExist.
func httpGet(ctx context.Context, c *http.Client, url string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: 404: %w", req.URL, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s: %.200s", req.URL, resp.Status, b)
	case err != nil:
		return nil, fmt.Errorf("GET %s: %v", req.URL, err)
	case int64(len(b)) > max:
		return nil, fmt.Errorf("GET %s: larger than %d bytes", req.URL, max)
	}
	return b, nil
}

// tileReader reads hash tiles from a source for tlog's proofs. tlog
// authenticates what it reads against a signed tree hash.
type tileReader struct {
	ctx context.Context
	src Source
}

func (r tileReader) Height() int { return tileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.src.Read(r.ctx, tilePath(t), fullTileLen)
		if err != nil {
			return nil, err
		}
		if len(b) != t.W*hashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d (%d hashes)", tilePath(t), len(b), t.W*hashSize, t.W)
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

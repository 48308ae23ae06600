package receipts

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "onair.test/node-1"

// logBuf collects what the log says, to assert on.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func openLog(t testing.TB, dir string) (*Log, *logBuf) {
	t.Helper()
	var lb logBuf
	l, err := Open(dir, testOrigin, slog.New(slog.NewTextHandler(&lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return l, &lb
}

func second(t int64) []byte {
	return fmt.Appendf(nil, `{"v":1,"kind":"second","t":%d,"listeners":{"total":%d}}`, t, t%1000)
}

// appendSeconds appends records for seconds from..from+n-1.
func appendSeconds(t testing.TB, l *Log, from, n int64) {
	t.Helper()
	for s := from; s < from+n; s++ {
		if _, err := l.Append(second(s)); err != nil {
			t.Fatal(err)
		}
	}
}

// refRoot is the RFC 6962 root of entries, computed by tlog over hashes kept
// in memory: independent of tiles, bundles and files.
func refRoot(t testing.TB, entries [][]byte) tlog.Hash {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	h, err := tlog.TreeHash(int64(len(entries)), r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readCheckpoint(t testing.TB, dir, vkey string) Checkpoint {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := OpenCheckpoint(b, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verifyOK(t testing.TB, src Source, opts VerifyOptions) *VerifyReport {
	t.Helper()
	rep := Verify(context.Background(), src, opts)
	if rep.Failure != nil {
		t.Fatalf("verify %s: %v", src, rep.Failure)
	}
	return rep
}

// TestAppendCheckpointRoot: the signed root is the RFC 6962 root of the
// entries at every size around tile boundaries, and the files are the C2SP
// layout.
func TestAppendCheckpointRoot(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	var entries [][]byte
	for _, size := range []int64{1, 2, 255, 256, 257, 511, 512, 700} {
		for int64(len(entries)) < size {
			e := second(int64(1_700_000_000 + len(entries)))
			if i, err := l.Append(e); err != nil || i != int64(len(entries)) {
				t.Fatalf("Append = %d, %v; want index %d", i, err, len(entries))
			}
			entries = append(entries, e)
		}
		if err := l.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		c := readCheckpoint(t, dir, l.VerifierKey())
		if c.Size != size || c.Hash != refRoot(t, entries) || c.Origin != testOrigin {
			t.Fatalf("size %d: checkpoint %+v, want root %v", size, c, refRoot(t, entries))
		}
		verifyOK(t, DirSource(dir), VerifyOptions{Key: l.VerifierKey()})
	}
	for _, p := range []string{"tile/0/000", "tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2",
		"tile/entries/000", "tile/entries/001", "tile/entries/002.p/188", "key", "signing.key"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("after 700 entries: %v", err)
		}
	}
	// Superseded partials are gone; their content is still served.
	if _, err := os.Stat(filepath.Join(dir, "tile/0/002.p")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tile/0/002.p")); len(ents) != 1 {
		t.Errorf("tile/0/002.p holds %d partial tiles, want only the latest", len(ents))
	}
	if st, err := os.Stat(filepath.Join(dir, signingKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("signing key mode: %v %v", st.Mode(), err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReopen: a log closed and reopened goes on from where it was, with
// the same key, and its later checkpoints extend the earlier ones.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 1000, 300)
	vkey := l.VerifierKey()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, checkpointFile))
	l, lb := openLog(t, dir)
	if l.VerifierKey() != vkey || l.Size() != 300 {
		t.Fatalf("reopened: key %q size %d", l.VerifierKey(), l.Size())
	}
	appendSeconds(t, l, 1300, 300)
	l.Close()
	rep := verifyOK(t, DirSource(dir), VerifyOptions{Key: vkey, Checkpoints: []ArchivedCheckpoint{{"first", first}}})
	if rep.Size != 600 || rep.Seconds.Count != 600 || rep.Seconds.Missing != 0 || len(rep.Checkpoints) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if !bytes.Contains([]byte(lb.String()), []byte("reopened the log")) {
		t.Errorf("reopen not logged: %s", lb)
	}
	// A log keeps its origin: reopened under another name, it says so.
	l, _ = openLog(t, dir)
	l.Close()
	var wb logBuf
	l2, err := Open(dir, "onair.test/renamed", slog.New(slog.NewTextHandler(&wb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if l2.Origin() != testOrigin || !strings.Contains(wb.String(), "keeps the origin it was created with") {
		t.Errorf("origin %q; log: %s", l2.Origin(), wb.String())
	}
}

// TestConcurrentAppend: appends from many goroutines each get a distinct
// index and all land in the verified log.
func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	var wg sync.WaitGroup
	seen := make([]bool, 8*100)
	var mu sync.Mutex
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				idx, err := l.Append(fmt.Appendf(nil, `{"kind":"event","t":%d,"g":%d}`, i, g))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[idx] {
					t.Errorf("index %d twice", idx)
				}
				seen[idx] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	l.Close()
	rep := verifyOK(t, DirSource(dir), VerifyOptions{})
	if rep.Size != 800 || rep.Kinds["event"] != 800 {
		t.Fatalf("size %d kinds %v", rep.Size, rep.Kinds)
	}
}

// TestBadEntries: what is not one JSON record on one line is refused and
// changes nothing.
func TestBadEntries(t *testing.T) {
	l, _ := openLog(t, t.TempDir())
	defer l.Close()
	for _, e := range []string{"", "{", "{\"t\":1}\n{\"t\":2}", "{\"a\":\n1}", string(bytes.Repeat([]byte("1"), MaxEntry+1))} {
		if _, err := l.Append([]byte(e)); err == nil {
			t.Errorf("Append(%.20q) accepted", e)
		}
	}
	if l.Size() != 0 {
		t.Fatalf("size %d after refused entries", l.Size())
	}
}

// TestHandler serves the log over real HTTP: routes, caching, errors, and a
// verify over the URL.
func TestHandler(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	defer l.Close()
	appendSeconds(t, l, 5000, 300)
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		code         int
		cache        string
	}{
		{"GET", "/receipts/checkpoint", 200, "public, max-age=5"},
		{"GET", "/receipts/key", 200, "public, max-age=3600"},
		{"GET", "/receipts/tile/0/000", 200, "public, max-age=31536000, immutable"},
		{"GET", "/receipts/tile/entries/000", 200, "public, max-age=31536000, immutable"},
		{"GET", "/receipts/tile/0/001.p/44", 200, "public, max-age=60"},
		{"GET", "/receipts/tile/0/001.p/10", 200, "public, max-age=60"}, // cut from the wider one
		{"GET", "/receipts/tile/entries/001.p/44", 200, "public, max-age=60"},
		{"GET", "/receipts/tile/1/000.p/1", 200, "public, max-age=60"},
		{"GET", "/receipts/tile/0/001.p/45", 404, ""}, // beyond the checkpoint
		{"GET", "/receipts/tile/0/002", 404, ""},
		{"GET", "/receipts/tile/0/0", 404, ""},
		{"GET", "/receipts/tile/0/000.p/0", 404, ""},
		{"GET", "/receipts/tile/00/000", 404, ""},
		{"GET", "/receipts/signing.key", 404, ""},
		{"GET", "/receipts/tail", 404, ""},
		{"GET", "/receipts/../signing.key", 404, ""},
		{"POST", "/receipts/checkpoint", 405, ""},
		{"GET", "/receipts/claims", 405, ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code || c.cache != "" && resp.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Cache-Control"), c.code, c.cache)
		}
	}
	resp, err := http.Get(srv.URL + "/receipts/tile/0/001.p/10")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	whole, _ := os.ReadFile(filepath.Join(dir, "tile/0/001.p/44"))
	if !bytes.Equal(body.Bytes(), whole[:10*hashSize]) {
		t.Error("tile/0/001.p/10 is not the first 10 hashes of tile/0/001.p/44")
	}
	// Entry bundles are gzipped for clients that take it.
	req, _ := http.NewRequest("GET", srv.URL+"/receipts/tile/entries/000", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("bundle not gzipped: %v %q", err, resp.Header.Get("Content-Encoding"))
	}
	unz, _ := io.ReadAll(zr)
	resp.Body.Close()
	if raw, _ := os.ReadFile(filepath.Join(dir, "tile/entries/000")); !bytes.Equal(unz, raw) {
		t.Error("the gzipped bundle is not the bundle")
	}
	src, err := NewSource(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rep := verifyOK(t, src, VerifyOptions{Key: l.VerifierKey()})
	if rep.Size != 300 || rep.KeySource != "given" {
		t.Fatalf("%+v", rep)
	}
}

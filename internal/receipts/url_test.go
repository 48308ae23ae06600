package receipts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestMalformedFromURL: what a URL serves instead of the log gets a clear
// error naming what was wrong, and nothing crashes.
func TestMalformedFromURL(t *testing.T) {
	l, _ := openLog(t, t.TempDir())
	appendSeconds(t, l, 7000, 300)
	l.Close()
	real := l.Handler()
	for _, c := range []struct {
		name, path string
		serve      func(w http.ResponseWriter)
		where      string
		reason     string
	}{
		{"garbage checkpoint", "/receipts/checkpoint", func(w http.ResponseWriter) { w.Write([]byte("hello\n")) },
			"checkpoint", "malformed signed note"},
		{"huge checkpoint", "/receipts/checkpoint", func(w http.ResponseWriter) { w.Write(make([]byte, 100<<10)) },
			"checkpoint", "larger than 65536 bytes"},
		{"server error", "/receipts/tile/entries/000", func(w http.ResponseWriter) { http.Error(w, "disk on fire", 500) },
			"tile/entries/000", "500 Internal Server Error: disk on fire"},
		{"short tile", "/receipts/tile/0/000", func(w http.ResponseWriter) { w.Write(make([]byte, 100)) },
			"tile/0/000", "hash tile unreadable (the entries agree with the signed checkpoint): 100 bytes, want 8192 (256 hashes)"},
		{"garbage bundle", "/receipts/tile/entries/001.p/44", func(w http.ResponseWriter) { w.Write([]byte{0xff, 0xff, 1, 2}) },
			"tile/entries/001.p/44", "entry bundle truncated or malformed, 0 of 44 entries readable: entry 0 (byte 0 of the bundle): truncated: a 65535-byte entry with only 2 bytes present"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == c.path {
					c.serve(w)
					return
				}
				real.ServeHTTP(w, r)
			}))
			defer srv.Close()
			src, _ := NewSource(srv.URL)
			rep := Verify(context.Background(), src, VerifyOptions{Key: l.VerifierKey()})
			if f := rep.Failure; f == nil || f.Where != c.where || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("failure %+v\nwant %s: %s", rep.Failure, c.where, c.reason)
			}
		})
	}
	// A server that does not answer in time.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	src := &URLSource{Base: slow.URL + "/receipts", Client: &http.Client{Timeout: 100 * time.Millisecond}}
	rep := Verify(context.Background(), src, VerifyOptions{Key: l.VerifierKey()})
	if f := rep.Failure; f == nil || f.Where != "checkpoint" || !strings.Contains(f.Reason, "Timeout") {
		t.Fatalf("failure %+v", rep.Failure)
	}
	for _, bad := range []string{"ftp://x", "http://", "/does/not/exist"} {
		if _, err := NewSource(bad); err == nil {
			t.Errorf("NewSource(%q) accepted", bad)
		}
	}
}

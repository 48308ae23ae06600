package receipts

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// copyDir copies a log directory (as a person archiving it would).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// entryAt returns the byte offset and length of entry i of a bundle file.
func entryAt(t testing.TB, b []byte, i int) (int, int) {
	off := 0
	for ; i > 0; i-- {
		off += 2 + int(binary.BigEndian.Uint16(b[off:]))
	}
	return off + 2, int(binary.BigEndian.Uint16(b[off:]))
}

func edit(t testing.TB, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tamperBase is a closed log of 700 seconds: two full bundles and a partial.
func tamperBase(t *testing.T) (dir, vkey string) {
	dir = t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 1_800_000_000, 700)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, l.VerifierKey()
}

func TestTamper(t *testing.T) {
	base, vkey := tamperBase(t)
	signWith := func(dir string, key KeyPair) {
		edit(t, filepath.Join(dir, checkpointFile), func(b []byte) []byte {
			n, err := note.Open(b, note.VerifierList(mustVerifier(t, vkey)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := note.Sign(&note.Note{Text: n.Text}, key.Signer)
			if err != nil {
				t.Fatal(err)
			}
			return out
		})
	}
	for _, c := range []struct {
		name          string
		tamper        func(dir string)
		where, reason string
		index         int64
	}{
		{"entry byte flipped", func(dir string) {
			edit(t, filepath.Join(dir, "tile/entries/001"), func(b []byte) []byte {
				off, n := entryAt(t, b, 44)
				i := off + strings.Index(string(b[off:off+n]), `"t":`) + 6
				b[i] ^= 1 // a digit of the second: still a JSON record
				return b
			})
		}, "entry", "its hash is not the one the signed tree has for it: the entry was altered", 300},
		{"hash tile byte flipped", func(dir string) {
			edit(t, filepath.Join(dir, "tile/0/001"), func(b []byte) []byte { b[5*32+7] ^= 0x80; return b })
		}, "tile/0/001", "hash tile corrupt: hash 5 differs from the one the entries give, and the entries agree with the signed checkpoint", -1},
		{"partial hash tile byte flipped", func(dir string) {
			edit(t, filepath.Join(dir, "tile/1/000.p/2"), func(b []byte) []byte { b[40] ^= 1; return b })
		}, "tile/1/000.p/2", "hash tile corrupt: hash 1 differs", -1},
		{"checkpoint byte flipped", func(dir string) {
			edit(t, filepath.Join(dir, checkpointFile), func(b []byte) []byte {
				i := strings.Index(string(b), "\n700\n") + 3
				b[i] = '1' // size 700 → 701
				return b
			})
		}, "checkpoint", "does not verify: the note was altered after signing", -1},
		{"checkpoint signed by another key", func(dir string) {
			other, _, err := createKeyNamed(t, testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			signWith(dir, other)
		}, "checkpoint", "not signed by " + strings.Join(strings.Split(vkey, "+")[:2], "+") + ": signed only by " + testOrigin + "+", -1},
		{"log truncated mid-entry", func(dir string) {
			edit(t, filepath.Join(dir, "tile/entries/002.p/188"), func(b []byte) []byte {
				off, n := entryAt(t, b, 100)
				return b[:off+n/2]
			})
		}, "tile/entries/002.p/188", "entry bundle truncated or malformed, 100 of 188 entries readable", 612},
		{"full bundle removed", func(dir string) {
			os.Remove(filepath.Join(dir, "tile/entries/001"))
		}, "tile/entries/001", "entry bundle missing: the checkpoint says the log has 700 entries; the log is truncated", 256},
		{"entries reordered", func(dir string) {
			edit(t, filepath.Join(dir, "tile/entries/000"), func(b []byte) []byte {
				o10, n10 := entryAt(t, b, 10)
				o11, n11 := entryAt(t, b, 11)
				out := append([]byte{}, b[:o10-2]...)
				out = append(out, b[o11-2:o11+n11]...)
				out = append(out, b[o10-2:o10+n10]...)
				return append(out, b[o11+n11:]...)
			})
		}, "entry", "out of place: it is the signed tree's entry 11 (entries reordered)", 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			c.tamper(dir)
			rep := Verify(context.Background(), DirSource(dir), VerifyOptions{Key: vkey})
			f := rep.Failure
			if f == nil {
				t.Fatal("verify passed a tampered log")
			}
			if f.Where != c.where || f.Index != c.index || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("failure %q / %d / %q\nwant     %q / %d / %q", f.Where, f.Index, f.Reason, c.where, c.index, c.reason)
			}
		})
	}
}

// TestRewrittenLog: a log rewritten and re-signed with its own key after a
// checkpoint was archived verifies on its own, and verify with the archived
// checkpoint names it.
func TestRewrittenLog(t *testing.T) {
	base, vkey := tamperBase(t)
	archived, _ := os.ReadFile(filepath.Join(base, checkpointFile))
	for _, c := range []struct {
		name   string
		n      int64
		reason string
	}{
		{"entry changed", 800, "size 700, root "},
		{"shortened", 600, "size 700, larger than the log's 600: the log was truncated or rolled back after it was signed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(dir, 0o755)
			key, _ := os.ReadFile(filepath.Join(base, signingKeyFile))
			os.WriteFile(filepath.Join(dir, signingKeyFile), key, 0o600)
			l, _ := openLog(t, dir)
			appendSeconds(t, l, 1_800_000_000, 100)
			l.Append([]byte(`{"kind":"second","t":1800000100,"listeners":{"total":999999}}`))
			appendSeconds(t, l, 1_800_000_101, c.n-101)
			l.Close()
			verifyOK(t, DirSource(dir), VerifyOptions{Key: vkey})
			rep := Verify(context.Background(), DirSource(dir), VerifyOptions{Key: vkey,
				Checkpoints: []ArchivedCheckpoint{{"archive.txt#1", archived}}})
			f := rep.Failure
			if f == nil || f.Where != "checkpoint archive.txt#1" || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("failure %+v, want checkpoint archive.txt#1: %q", f, c.reason)
			}
			if c.n > 700 && !strings.Contains(f.Reason, "not consistent with the log at size 800 (the proof fails): the log was rewritten") {
				t.Fatalf("reason %q", f.Reason)
			}
		})
	}
}

// TestOfflineVerify: a log copied elsewhere verifies with only the
// verifier key (its own files could be swapped, so the key is given).
func TestOfflineVerify(t *testing.T) {
	base, vkey := tamperBase(t)
	dir := t.TempDir()
	copyDir(t, base, dir)
	os.Remove(filepath.Join(dir, signingKeyFile))
	os.Remove(filepath.Join(dir, keyFile))
	os.Remove(filepath.Join(dir, tailFile))
	rep := verifyOK(t, DirSource(dir), VerifyOptions{Key: vkey})
	if rep.Size != 700 || rep.Seconds.Count != 700 || rep.Seconds.Missing != 0 {
		t.Fatalf("%+v", rep)
	}
	// Without a key, and none in the directory: a clear refusal.
	rep = Verify(context.Background(), DirSource(dir), VerifyOptions{})
	if rep.Failure == nil || rep.Failure.Where != "key" || !strings.Contains(rep.Failure.Reason, "no key given and none from the log") {
		t.Fatalf("%+v", rep.Failure)
	}
}

// TestGaps: missing seconds are reported, with where they are.
func TestGaps(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 100, 10)                             // 100..109
	l.Append([]byte(`{"kind":"event","t":111,"event":"x"}`)) // not a second
	appendSeconds(t, l, 115, 5)                              // 110..114 missing
	appendSeconds(t, l, 121, 1)                              // 120 missing
	l.Close()
	rep := verifyOK(t, DirSource(dir), VerifyOptions{})
	s := rep.Seconds
	if s.Count != 16 || s.Missing != 6 || len(s.Gaps) != 2 || s.Gaps[0] != (Gap{110, 114, 5, 10}) || s.Gaps[1] != (Gap{120, 120, 1, 15}) {
		t.Fatalf("%+v", s)
	}
	if !strings.Contains(rep.KeySource, "not whose it is") {
		t.Errorf("key source %q does not say the key is the log's own", rep.KeySource)
	}
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func createKeyNamed(t testing.TB, name string) (KeyPair, string, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return KeyPair{}, "", err
	}
	kp, err := parseKeyFile([]byte(skey + "\n" + vkey))
	return kp, vkey, err
}

package receipts

import (
	"bytes"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func FuzzTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/entries/x001/x234/067.p/5", "tile/63/999", "tile/1/000.p/255", "tile/0/x000/001", "tile/entries/000.p/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tile, err := parseTilePath(p)
		if err != nil {
			return
		}
		if tilePath(tile) != p {
			t.Fatalf("%q parses to %+v, which is %q", p, tile, tilePath(tile))
		}
		if tile.W < 1 || tile.W > tileWidth || tile.N < 0 || tile.L < -1 || tile.L > maxTileLevel {
			t.Fatalf("%q: out of range %+v", p, tile)
		}
	})
}

func FuzzBundle(f *testing.F) {
	f.Add(appendEntry(appendEntry(nil, []byte(`{"t":1}`)), []byte(`{"t":2}`)))
	f.Add([]byte{0, 5, 'a'})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parseBundle(b)
		var again []byte
		for _, e := range entries {
			again = appendEntry(again, e)
		}
		if err == nil && !bytes.Equal(again, b) || !bytes.HasPrefix(b, again) {
			t.Fatalf("entries %q do not re-encode to a prefix of %q (err %v)", entries, b, err)
		}
		if len(entries) > tileWidth {
			t.Fatalf("%d entries", len(entries))
		}
	})
}

// FuzzCheckpoint feeds the note and checkpoint parsers: whatever opens
// must be a well-formed checkpoint signed by the key.
func FuzzCheckpoint(f *testing.F) {
	k, vkey, _ := createKeyNamed(f, "fuzz.example/log")
	v, _ := note.NewVerifier(vkey)
	good, _ := note.Sign(&note.Note{Text: Checkpoint{"fuzz.example/log", 5, [32]byte{1}}.String()}, k.Signer)
	f.Add(good)
	f.Add([]byte("fuzz.example/log\n5\nAAAA\n\n— fuzz.example/log AAAA\n"))
	f.Add(append(append([]byte{}, good...), good...))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if _, c, err := OpenCheckpoint(msg, v); err == nil {
			if c.Origin != "fuzz.example/log" || c.Size < 0 {
				t.Fatalf("opened %+v", c)
			}
			if _, err := ParseCheckpoint(c.String()); err != nil {
				t.Fatalf("%+v does not re-parse: %v", c, err)
			}
		}
		ParseCheckpoint(string(msg))
		notes, _ := SplitNotes(msg)
		total := 0
		for _, n := range notes {
			total += len(n)
			if len(n) == 0 {
				t.Fatal("an empty note")
			}
		}
		if total > len(msg) {
			t.Fatal("notes longer than the input")
		}
	})
}

func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"kind":"second","t":1,"joins":{"rejected":{"a":1,"b":2}},"node":{"cpu":0.5}}`))
	f.Add([]byte(`{"kind":"claim","t":1,"key":"k","note":"{}\n\n— k AAAA\n"}`))
	f.Add([]byte(`{"t":1e3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		Row(0, r) // must not panic on any field shape
		r.Sum("joins.rejected")
		r.Number("node.cpu")
	})
}

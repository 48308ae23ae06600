package receipts

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestTreeLevels: past 65,536 entries a level-1 tile fills and a level-2
// tile starts; the tree's root and sealed tiles still agree with tlog's own
// computation over every stored hash.
func TestTreeLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 66,000 entries")
	}
	sealed := map[tlog.Tile][]byte{}
	tr := tree{
		sealed: func(level int, n int64, data []byte) error {
			sealed[tlog.Tile{H: tileHeight, L: level, N: n, W: tileWidth}] = append([]byte{}, data...)
			return nil
		},
		full: func(level int, n int64) ([]byte, error) {
			return sealed[tlog.Tile{H: tileHeight, L: level, N: n, W: tileWidth}], nil
		},
	}
	var stored []tlog.Hash
	ref := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	const n = 66_000
	for i := int64(0); i < n; i++ {
		e := fmt.Appendf(nil, `{"t":%d}`, i)
		hs, err := tlog.StoredHashes(i, e, ref)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		if _, err := tr.add(e); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := tlog.TreeHash(n, ref)
	if got, err := tr.root(); err != nil || got != want {
		t.Fatalf("root %v %v, want %v", got, err, want)
	}
	l1 := sealed[tlog.Tile{H: tileHeight, L: 1, N: 0, W: tileWidth}]
	tlogTile, err := tlog.ReadTileData(tlog.Tile{H: tileHeight, L: 1, N: 0, W: tileWidth}, ref)
	if err != nil || string(l1) != string(tlogTile) {
		t.Fatalf("level-1 tile differs from tlog's (%v)", err)
	}
	ps := tr.partials()
	if len(ps) != 3 || ps[0].tile.W != int(n%256) || ps[1].tile.W != int(n/256%256) || ps[2].tile != (tlog.Tile{H: 8, L: 2, N: 0, W: 1}) {
		t.Fatalf("partials %+v", ps)
	}
	// Tree hashes at older sizes read the sealed tiles.
	for _, size := range []int64{1, 255, 256, 65535, 65536, 65537} {
		got, err := tlog.TreeHash(size, &tr)
		want, _ := tlog.TreeHash(size, ref)
		if err != nil || got != want {
			t.Errorf("tree hash at %d: %v %v", size, got, err)
		}
	}
}

package receipts

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// tree grows an RFC 6962 Merkle tree one entry at a time, keeping in memory
// only its right edge: the partial tile at each level. Both the log (which
// writes every tile that fills) and the verifier (which compares every tile
// it rebuilds from the entries with the one the log serves) use it, so that
// writing and checking are one computation.
type tree struct {
	size    int64
	partial [][]byte // per level of tiles, the hashes of its partial tile
	// sealed is called with each tile as it fills (level -1 is not used:
	// entry bundles are the caller's business).
	sealed func(level int, n int64, data []byte) error
	// full reads a tile that has filled, for hashes left of the right edge
	// (only needed for tree hashes at sizes before the current one).
	full func(level int, n int64) ([]byte, error)
}

// add appends one entry and returns its leaf hash.
func (t *tree) add(entry []byte) (tlog.Hash, error) {
	hashes, err := tlog.StoredHashes(t.size, entry, t)
	if err != nil {
		return tlog.Hash{}, err
	}
	return hashes[0], t.addHashes(hashes)
}

func (t *tree) addHashes(hashes []tlog.Hash) error {
	base := tlog.StoredHashIndex(0, t.size)
	for i, h := range hashes {
		level, _ := tlog.SplitStoredHashIndex(base + int64(i))
		if level%tileHeight != 0 {
			continue // inside a tile: recomputed from the level below
		}
		l := level / tileHeight
		for len(t.partial) <= l {
			t.partial = append(t.partial, nil)
		}
		t.partial[l] = append(t.partial[l], h[:]...)
	}
	t.size++
	for l := 0; l < len(t.partial) && len(t.partial[l]) == fullTileLen; l++ {
		n := t.size>>(tileHeight*(l+1)) - 1
		if t.sealed != nil {
			if err := t.sealed(l, n, t.partial[l]); err != nil {
				return err
			}
		}
		t.partial[l] = nil
	}
	return nil
}

// ReadHashes serves tlog the stored hashes it needs, from the partial tiles
// or, left of them, from sealed tiles.
func (t *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		tile := tlog.TileForIndex(tileHeight, x)
		data, err := t.tileData(tile)
		if err != nil {
			return nil, err
		}
		if out[i], err = tlog.HashFromTile(tile, data, x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tree) tileData(tile tlog.Tile) ([]byte, error) {
	if tile.N == t.size>>(tileHeight*(tile.L+1)) && tile.L < len(t.partial) &&
		len(t.partial[tile.L]) >= tile.W*hashSize {
		return t.partial[tile.L], nil
	}
	if t.full == nil {
		return nil, fmt.Errorf("hash at level %d, tile %d is not on the right edge of the tree", tile.L*tileHeight, tile.N)
	}
	data, err := t.full(tile.L, tile.N)
	if err == nil && len(data) != fullTileLen {
		err = fmt.Errorf("%s: %d bytes, want %d", tilePath(tlog.Tile{H: tileHeight, L: tile.L, N: tile.N, W: tileWidth}), len(data), fullTileLen)
	}
	return data, err
}

// root is the tree hash at the current size.
func (t *tree) root() (tlog.Hash, error) {
	return tlog.TreeHash(t.size, t)
}

// partialTile is one tile on the right edge of a tree.
type partialTile struct {
	tile tlog.Tile
	data []byte
}

// partials lists the non-empty partial hash tiles: the ones a checkpoint at
// the current size needs to be served.
func (t *tree) partials() []partialTile {
	var out []partialTile
	for l, data := range t.partial {
		if len(data) == 0 {
			continue
		}
		n := t.size >> (tileHeight * (l + 1))
		out = append(out, partialTile{tlog.Tile{H: tileHeight, L: l, N: n, W: len(data) / hashSize}, data})
	}
	return out
}

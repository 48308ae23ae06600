package receipts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// The C2SP tlog-tiles geometry: tiles of height 8 (256 hashes), entry bundles
// of 256 entries, each entry at most 65,535 bytes (a big-endian uint16
// length prefix).
const (
	tileHeight  = 8
	tileWidth   = 1 << tileHeight
	hashSize    = tlog.HashSize
	fullTileLen = tileWidth * hashSize
	// MaxEntry is the largest entry a bundle can carry.
	MaxEntry = 1<<16 - 1
	// maxBundleLen bounds an entry bundle read from a file or a URL.
	maxBundleLen = tileWidth * (2 + MaxEntry)
	// entriesLevel is how tlog names the level of entry bundles.
	entriesLevel = -1
	maxTileLevel = 63
)

// tilePath is the C2SP path of t: "tile/L/N[.p/W]" for hash tiles,
// "tile/entries/N[.p/W]" for entry bundles (t.L == -1). Unlike tlog's own
// paths, C2SP paths carry no height: it is always 8.
func tilePath(t tlog.Tile) string {
	level := "entries"
	if t.L >= 0 {
		level = strconv.Itoa(t.L)
	}
	p := "tile/" + level + "/" + indexPath(t.N)
	if t.W < tileWidth {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

// indexPath encodes n in zero-padded 3-digit elements, all but the last
// prefixed with x: 1234067 is x001/x234/067.
func indexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// parseTilePath is the inverse of tilePath; it accepts only the canonical
// spelling, so that one tile has one name (and one cache entry).
func parseTilePath(p string) (tlog.Tile, error) {
	bad := func(why string) (tlog.Tile, error) {
		return tlog.Tile{}, fmt.Errorf("bad tile path %q: %s", p, why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad("want tile/L/N[.p/W] or tile/entries/N[.p/W]")
	}
	t := tlog.Tile{H: tileHeight, W: tileWidth}
	level, rest, _ := strings.Cut(rest, "/")
	if level == "entries" {
		t.L = entriesLevel
	} else {
		l, err := canonicalInt(level, maxTileLevel)
		if err != nil {
			return bad("level: " + err.Error())
		}
		t.L = int(l)
	}
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := canonicalInt(rest[i+3:], tileWidth-1)
		if err != nil || w == 0 {
			return bad("width must be 1 to 255")
		}
		t.W, rest = int(w), rest[:i]
	}
	elems := strings.Split(rest, "/")
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("index elements before the last start with x")
			}
		}
		if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
			return bad("index elements are three digits")
		}
		d, _ := strconv.ParseInt(e, 10, 64)
		if t.N > (1<<62)/1000 {
			return bad("index too large")
		}
		t.N = t.N*1000 + d
	}
	if indexPath(t.N) != rest {
		return bad("index not in canonical form")
	}
	return t, nil
}

// canonicalInt parses a decimal with no sign and no leading zeros, ≤ max.
func canonicalInt(s string, max int64) (int64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("not a decimal without leading zeros")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("out of range (max %d)", max)
	}
	return n, nil
}

// appendEntry appends entry to bundle data in the bundle format: a
// big-endian uint16 length, then the bytes.
func appendEntry(bundle, entry []byte) []byte {
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(entry)))
	return append(bundle, entry...)
}

// BundleError says where an entry bundle stops making sense.
type BundleError struct {
	Entry  int    // position in the bundle of the entry that is malformed
	Offset int    // byte offset of its length prefix
	Reason string // what is wrong
}

func (e *BundleError) Error() string {
	return fmt.Sprintf("entry %d (byte %d of the bundle): %s", e.Entry, e.Offset, e.Reason)
}

// parseBundle splits bundle data into its entries. It returns the entries it
// could read and, when the data does not end on an entry boundary, a
// *BundleError for the first entry that does not fit.
func parseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for off := 0; off < len(data); {
		if len(entries) == tileWidth {
			return entries, &BundleError{len(entries), off, "more than 256 entries in one bundle"}
		}
		if len(data)-off < 2 {
			return entries, &BundleError{len(entries), off, "truncated length prefix"}
		}
		n := int(binary.BigEndian.Uint16(data[off:]))
		if n == 0 {
			return entries, &BundleError{len(entries), off, "empty entry"}
		}
		if len(data)-off-2 < n {
			return entries, &BundleError{len(entries), off,
				fmt.Sprintf("truncated: a %d-byte entry with only %d bytes present", n, len(data)-off-2)}
		}
		entries = append(entries, data[off+2:off+2+n])
		off += 2 + n
	}
	return entries, nil
}

// tileHash is the Merkle tree hash of a full tile's 256 hashes: the hash
// one level of tiles up. tlog computes it internally but does not export it.
func tileHash(data []byte) tlog.Hash {
	hs := make([]tlog.Hash, len(data)/hashSize)
	for i := range hs {
		copy(hs[i][:], data[i*hashSize:])
	}
	for len(hs) > 1 {
		for i := 0; i < len(hs)/2; i++ {
			hs[i] = tlog.NodeHash(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	return hs[0]
}

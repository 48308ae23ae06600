package load

import (
	"bytes"
	"errors"
	"time"
)

// plPart is one EXT-X-PART of a media playlist.
type plPart struct {
	msn uint64
	k   int
	dur int64    // ns
	end int64    // Unix ns: the program date-time of the part's end (0: unknown)
	uri [2]int32 // offsets of its URI in the playlist text
}

func (p plPart) after(q plPart) bool { return p.msn > q.msn || (p.msn == q.msn && p.k > q.k) }

// plSeg is one complete media segment of a media playlist: an EXTINF and
// its URI line.
type plSeg struct {
	msn uint64   // EXT-X-MEDIA-SEQUENCE plus its index among the segments
	dur int64    // EXTINF, ns
	pdt int64    // Unix ns: the program date-time of its start (0: unknown)
	uri [2]int32 // offsets of its URI in the playlist text
}

// playlist is what an HLS player, low-latency or classic, needs of a media
// playlist. Parsing reuses its memory: no allocation once the parts and
// segments slices have grown.
type playlist struct {
	parts      []plPart
	segs       []plSeg // complete segments, oldest first
	target     int64   // EXT-X-TARGETDURATION, ns
	seq        uint64  // EXT-X-MEDIA-SEQUENCE
	holdBack   int64   // PART-HOLD-BACK, ns
	partTarget int64   // PART-TARGET, ns
	hint       plPart
	hasHint    bool
	mapURI     [2]int32
	hasMap     bool
	ended      bool
}

var errBadPlaylist = errors.New("malformed media playlist")

// parse reads a media playlist: its parts (LL-HLS) and its segments.
func (pl *playlist) parse(b []byte) error {
	parts, segs := pl.parts[:0], pl.segs[:0]
	*pl = playlist{}
	if !bytes.HasPrefix(b, []byte("#EXTM3U")) {
		return errBadPlaylist
	}
	var pdt, inSeg int64
	// The EXTINF waiting for its URI line, and the date of its start.
	var segDur, segPDT int64
	inf := false
	for off := 0; off < len(b); {
		line := b[off:]
		next := len(b)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if inf && len(line) > 0 && line[0] != '#' && len(bytes.TrimSpace(line)) > 0 { // the URI of the last EXTINF's segment
			segs = append(segs, plSeg{dur: segDur, pdt: segPDT, uri: [2]int32{int32(off), int32(off + len(line))}})
			inf = false
		}
		if len(line) > 4 && line[0] == '#' {
			switch {
			case bytes.HasPrefix(line, []byte("#EXT-X-PART:")):
				d, _ := attr(line, "DURATION=")
				u, at := attr(line, "URI=")
				dur, ok := decimalNs(d)
				if !ok || len(u) == 0 {
					return errBadPlaylist
				}
				msn, k, ok := partID(u)
				if !ok {
					return errBadPlaylist
				}
				inSeg += dur
				p := plPart{msn: msn, k: k, dur: dur, uri: [2]int32{int32(off + at), int32(off + at + len(u))}}
				if pdt != 0 {
					p.end = pdt + inSeg
				}
				parts = append(parts, p)
			case bytes.HasPrefix(line, []byte("#EXT-X-PROGRAM-DATE-TIME:")):
				pdt = parsePDT(line[len("#EXT-X-PROGRAM-DATE-TIME:"):])
				inSeg = 0
			case bytes.HasPrefix(line, []byte("#EXTINF:")):
				v, _, _ := bytes.Cut(line[len("#EXTINF:"):], []byte(","))
				d, ok := decimalNs(bytes.TrimSpace(v))
				if !ok {
					return errBadPlaylist
				}
				segDur, segPDT, inf = d, pdt, true
				if pdt != 0 {
					pdt += d // the next segment's date unless it has its own
				}
				inSeg = 0
			case bytes.HasPrefix(line, []byte("#EXT-X-TARGETDURATION:")):
				pl.target, _ = decimalNs(bytes.TrimSpace(line[len("#EXT-X-TARGETDURATION:"):]))
			case bytes.HasPrefix(line, []byte("#EXT-X-MEDIA-SEQUENCE:")):
				n, _ := atoi(bytes.TrimSpace(line[len("#EXT-X-MEDIA-SEQUENCE:"):]))
				pl.seq = uint64(n)
			case bytes.HasPrefix(line, []byte("#EXT-X-PRELOAD-HINT:")):
				if t, _ := attr(line, "TYPE="); string(t) == "PART" {
					u, _ := attr(line, "URI=")
					pl.hint.msn, pl.hint.k, pl.hasHint = partID(u)
				}
			case bytes.HasPrefix(line, []byte("#EXT-X-SERVER-CONTROL:")):
				v, _ := attr(line, "PART-HOLD-BACK=")
				pl.holdBack, _ = decimalNs(v)
			case bytes.HasPrefix(line, []byte("#EXT-X-PART-INF:")):
				v, _ := attr(line, "PART-TARGET=")
				pl.partTarget, _ = decimalNs(v)
			case bytes.HasPrefix(line, []byte("#EXT-X-MAP:")):
				u, at := attr(line, "URI=")
				pl.mapURI, pl.hasMap = [2]int32{int32(off + at), int32(off + at + len(u))}, len(u) > 0
			case bytes.Equal(line, []byte("#EXT-X-ENDLIST")):
				pl.ended = true
			}
		}
		off = next
	}
	for i := range segs { // EXT-X-MEDIA-SEQUENCE is before the first segment, or 0
		segs[i].msn = pl.seq + uint64(i)
	}
	pl.parts, pl.segs = parts, segs
	return nil
}

// attr returns the value of attribute key (with its '=') in a tag line, and
// its offset in the line; quotes are stripped.
func attr(line []byte, key string) ([]byte, int) {
	for from := 0; ; {
		i := bytes.Index(line[from:], []byte(key))
		if i < 0 {
			return nil, 0
		}
		i += from
		if i > 0 && line[i-1] != ':' && line[i-1] != ',' {
			from = i + len(key)
			continue
		}
		v := i + len(key)
		if v < len(line) && line[v] == '"' {
			e := bytes.IndexByte(line[v+1:], '"')
			if e < 0 {
				return nil, 0
			}
			return line[v+1 : v+1+e], v + 1
		}
		e := bytes.IndexByte(line[v:], ',')
		if e < 0 {
			e = len(line) - v
		}
		return line[v : v+e], v
	}
}

// decimalNs parses a decimal number of seconds ("0.200") into ns.
func decimalNs(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var sec, frac int64
	scale := int64(time.Second)
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		sec = sec*10 + int64(b[i]-'0')
		if sec > 1e9 {
			return 0, false
		}
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if scale > 1 {
				scale /= 10
				frac += int64(b[i]-'0') * scale
			}
		}
	}
	if i != len(b) {
		return 0, false
	}
	return sec*int64(time.Second) + frac, true
}

// partID parses onair's part names, p{msn}.{k}.m4s (after any path).
func partID(u []byte) (msn uint64, k int, ok bool) {
	if i := bytes.LastIndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	if q := bytes.IndexByte(u, '?'); q >= 0 {
		u = u[:q]
	}
	rest, ok := bytes.CutSuffix(u, []byte(".m4s"))
	if !ok || len(rest) < 4 || rest[0] != 'p' {
		return 0, 0, false
	}
	m, kk, ok := bytes.Cut(rest[1:], []byte("."))
	if !ok {
		return 0, 0, false
	}
	a, ok1 := atoi(m)
	b, ok2 := atoi(kk)
	if !ok1 || !ok2 || b > 1<<20 {
		return 0, 0, false
	}
	return uint64(a), int(b), true
}

// parsePDT parses an EXT-X-PROGRAM-DATE-TIME value into Unix ns (0 when it
// is not a date): the common UTC form without allocating, any RFC 3339 form
// otherwise.
func parsePDT(b []byte) int64 {
	// 2006-01-02T15:04:05.000Z
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		num := func(s []byte) int {
			v, ok := atoi(s)
			if !ok {
				return -1
			}
			return int(v)
		}
		y, mo, d, h, mi, s := num(b[0:4]), num(b[5:7]), num(b[8:10]), num(b[11:13]), num(b[14:16]), num(b[17:19])
		var frac int64
		ok := y >= 0 && mo >= 0 && d >= 0 && h >= 0 && mi >= 0 && s >= 0
		if rest := b[19 : len(b)-1]; ok && len(rest) > 0 {
			f, fok := decimalNs(rest) // ".437" → 0.437 s
			frac, ok = f, fok && rest[0] == '.'
		}
		if ok {
			return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).UnixNano() + frac
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

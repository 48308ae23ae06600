package fmp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// FragmentInfo locates one moof+mdat pair in a file.
type FragmentInfo struct {
	Offset, Size   int64
	Samples        int    // packets (20 ms each)
	BaseDecodeTime uint64 // tfdt, 48 kHz ticks
}

// Index is the layout of a fragmented file: the init segment (ftyp+moov)
// first, then fragments. A VOD playlist addresses them as byte ranges.
type Index struct {
	InitSize  int64
	Fragments []FragmentInfo
}

// maxMoof bounds a moof read while indexing: ours hold a few hundred samples.
const maxMoof = 1 << 20

// ReadIndexFile is ReadIndex of the file at path.
func ReadIndexFile(path string) (Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return Index{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Index{}, err
	}
	return ReadIndex(f, fi.Size())
}

// ReadIndex scans the top-level boxes of a fragmented file without reading
// media data. A file cut short inside a fragment (a crash while recording)
// indexes up to its last complete fragment.
func ReadIndex(r io.ReaderAt, size int64) (Index, error) {
	var idx Index
	var hdr [16]byte
	var moof *FragmentInfo
	for off := int64(0); off+8 <= size; {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return idx, err
		}
		typ, n := string(hdr[4:8]), int64(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 || off+n > size {
			break // truncated: keep what is complete
		}
		switch typ {
		case "ftyp", "moov":
			if len(idx.Fragments) > 0 || moof != nil {
				return idx, fmt.Errorf("%w: %s after media", ErrMalformed, typ)
			}
			idx.InitSize = off + n
		case "moof":
			f, err := readMoof(r, off, n)
			if err != nil {
				return idx, err
			}
			moof = &f
		case "mdat":
			if moof != nil {
				moof.Size = off + n - moof.Offset
				idx.Fragments = append(idx.Fragments, *moof)
				moof = nil
			}
		}
		off += n
	}
	if idx.InitSize == 0 {
		return idx, fmt.Errorf("%w: no init segment", ErrMalformed)
	}
	return idx, nil
}

// readMoof reads the sample count and base decode time of a moof.
func readMoof(r io.ReaderAt, off, n int64) (FragmentInfo, error) {
	f := FragmentInfo{Offset: off}
	if n > maxMoof {
		return f, fmt.Errorf("%w: moof of %d bytes", ErrMalformed, n)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil {
		return f, err
	}
	moof, err := Boxes(b)
	if err != nil || len(moof) != 1 {
		return f, fmt.Errorf("%w: moof at %d", ErrMalformed, off)
	}
	kids, err := Boxes(moof[0].Payload)
	if err != nil {
		return f, err
	}
	for _, k := range kids {
		if k.Type == "traf" {
			return f, readTraf(&f, k.Payload)
		}
	}
	return f, fmt.Errorf("%w: moof at %d without traf", ErrMalformed, off)
}

func readTraf(f *FragmentInfo, payload []byte) error {
	boxes, err := Boxes(payload)
	if err != nil {
		return err
	}
	for _, b := range boxes {
		p := b.Payload
		switch {
		case b.Type == "tfdt" && len(p) >= 12 && p[0] == 1:
			f.BaseDecodeTime = binary.BigEndian.Uint64(p[4:])
		case b.Type == "tfdt" && len(p) >= 8:
			f.BaseDecodeTime = uint64(binary.BigEndian.Uint32(p[4:]))
		case b.Type == "trun" && len(p) >= 8:
			f.Samples = int(binary.BigEndian.Uint32(p[4:]))
		}
	}
	if f.Samples == 0 {
		return errors.New("fmp4: fragment without samples")
	}
	return nil
}

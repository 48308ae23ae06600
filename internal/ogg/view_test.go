package ogg

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/onair-live/onair/internal/program"
)

// TestRenumberMatchesARecomputedCRC: the patched CRC is the CRC of the
// renumbered page, for pages of every size, renumbered once or from one
// view to another.
func TestRenumberMatchesARecomputedCRC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pg := NewPager(77, 5, 1)
	var pages []Page
	for i := 0; len(pages) < 200; i++ {
		pkt := make([]byte, 1+rng.IntN(400))
		pkt[0] = 0xf8
		if p, ok := pg.Push(program.Frame{PTS: uint64(i) * 960, Packet: pkt}); ok {
			pages = append(pages, p)
		}
	}
	pages = append(pages, Page{Data: BuildPage(0, ^uint64(0), 77, 500, nil), Seq: 500, Granule: ^uint64(0)})
	for i, p := range pages {
		for _, v := range []View{ViewFrom(pages[0]), ViewFrom(pages[i/2]), {Seq: 3, Granule: 1234567}} {
			b := p.AppendView(nil, v)
			want := bytes.Clone(p.Data)
			seq, g := p.Seq-v.Seq, p.Granule
			if g != ^uint64(0) {
				g -= v.Granule
			}
			binary.LittleEndian.PutUint64(want[6:], g)
			binary.LittleEndian.PutUint32(want[18:], seq)
			Seal(want)
			if !bytes.Equal(b, want) {
				t.Fatalf("page %d (%d bytes) in view %+v: CRC %x, want %x", i, len(b), v, b[22:26], want[22:26])
			}
			// From this view to another, in place.
			p.Renumber(b, View{})
			if !bytes.Equal(b, p.Data) {
				t.Fatalf("page %d renumbered back differs", i)
			}
		}
	}
}

func TestViewStartsTheStreamAtPageTwoGranuleZero(t *testing.T) {
	pg := NewPager(1, 5, 1)
	var last Page
	for i := range 50 {
		if p, ok := pg.Push(program.Frame{PTS: 100000 + uint64(i)*960, Packet: []byte{0xf8, 0xff, 0xfe}}); ok {
			last = p
		}
	}
	v := ViewFrom(last)
	b := last.AppendView(nil, v)
	if seq, g := binary.LittleEndian.Uint32(b[18:]), binary.LittleEndian.Uint64(b[6:]); seq != 2 || g != 5*960 || v.StartGranule(last) != 0 {
		t.Fatalf("first page in its own view: sequence %d granule %d start %d", seq, g, v.StartGranule(last))
	}
	if h := pg.Headers(); binary.LittleEndian.Uint32(h[18:]) != 0 {
		t.Fatal("OpusHead is not page 0")
	}
}

func BenchmarkRenumber(b *testing.B) {
	pg := NewPager(1, 5, 1)
	var p Page
	for i := range 5 {
		p, _ = pg.Push(program.Frame{PTS: uint64(i) * 960, Packet: make([]byte, 120)})
	}
	buf := bytes.Clone(p.Data)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		p.Renumber(buf, View{Seq: uint32(i), Granule: uint64(i)})
	}
}

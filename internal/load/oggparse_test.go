package load

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/onair-live/onair/internal/ogg"
)

// testStream builds an Ogg/Opus stream as the server sends it: OpusHead,
// OpusTags, then audio pages of five 20 ms packets.
func testStream(pages int) ([]byte, []PageHeader) {
	var b []byte
	var want []PageHeader
	add := func(flags byte, granule uint64, seq uint32, packets [][]byte) {
		p := ogg.BuildPage(flags, granule, 0xabcd, seq, packets)
		b = append(b, p...)
		segs := 0
		body := 0
		for _, pk := range packets {
			segs += len(pk)/255 + 1
			body += len(pk)
		}
		want = append(want, PageHeader{Flags: flags, Granule: granule, Serial: 0xabcd, Seq: seq, Segments: segs, BodyLen: body})
	}
	add(ogg.FlagBOS, 0, 0, [][]byte{ogg.OpusHeadPacket(1, 312, 48000)})
	add(0, 0, 1, [][]byte{ogg.OpusTagsPacket("test")})
	g := uint64(4800)
	for i := range pages {
		var packets [][]byte
		for k := range 5 {
			// Sizes around 255 exercise multi-segment lacing.
			packets = append(packets, bytes.Repeat([]byte{byte(i + k)}, 100+(i*37+k*91)%400))
		}
		flags := byte(0)
		if i == pages-1 {
			flags = ogg.FlagEOS
		}
		g += 4800
		add(flags, g, uint32(2+i), packets)
	}
	return b, want
}

// feedAll runs the parser over b in chunks of the given sizes (cycled).
func feedAll(p *PageParser, b []byte, sizes []int) (pages []PageHeader, lost int) {
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		chunk := b[:n]
		b = b[n:]
		for len(chunk) > 0 {
			k, ev := p.Feed(chunk)
			if k <= 0 || k > len(chunk) {
				panic("Feed made no progress or overran")
			}
			chunk = chunk[k:]
			switch ev {
			case PageDone:
				pages = append(pages, p.Page)
			case PageLostSync:
				lost++
			}
		}
	}
	return pages, lost
}

func TestPageParserChunkings(t *testing.T) {
	stream, want := testStream(40)
	for _, sizes := range [][]int{{len(stream)}, {1}, {2, 3, 5, 7}, {27}, {4096}, {28, 1, 300, 4000}} {
		var p PageParser
		got, lost := feedAll(&p, stream, sizes)
		if lost != 0 {
			t.Fatalf("chunks %v: lost sync %d times", sizes, lost)
		}
		if len(got) != len(want) {
			t.Fatalf("chunks %v: %d pages, want %d", sizes, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("chunks %v: page %d = %+v, want %+v", sizes, i, got[i], want[i])
			}
		}
		if !got[len(got)-1].Audio() || got[0].Audio() || got[1].Audio() {
			t.Fatalf("Audio(): headers must not count as audio, audio pages must")
		}
	}
	// Random chunkings.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		sizes := make([]int, 1+rng.IntN(10))
		for i := range sizes {
			sizes[i] = 1 + rng.IntN(600)
		}
		var p PageParser
		got, _ := feedAll(&p, stream, sizes)
		if len(got) != len(want) || got[len(got)-1] != want[len(want)-1] {
			t.Fatalf("chunks %v: %d pages", sizes, len(got))
		}
	}
}

func TestPageParserResync(t *testing.T) {
	stream, want := testStream(6)
	// Garbage before the stream, between two pages (with a false start
	// "OgOggS"-like prefix), and a page with a bad version byte.
	first := want[0].Size() + want[1].Size()
	var b []byte
	b = append(b, "junk\x00Og"...)
	b = append(b, stream[:first]...)
	b = append(b, "OgOgxOggSxx"...) // "OggS" then version 'x': not a page either
	b = append(b, stream[first:]...)
	var p PageParser
	got, lost := feedAll(&p, b, []int{3})
	if lost < 2 {
		t.Fatalf("lost sync %d times, want at least 2", lost)
	}
	if len(got) != len(want) {
		t.Fatalf("%d pages after resync, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("page %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestPageParserNoAllocs(t *testing.T) {
	stream, _ := testStream(20)
	var p PageParser
	allocs := testing.AllocsPerRun(20, func() {
		b := stream
		for len(b) > 0 {
			n, _ := p.Feed(b[:min(len(b), 4096)])
			b = b[n:]
		}
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations per stream, want 0", allocs)
	}
}

func BenchmarkPageParser(b *testing.B) {
	stream, _ := testStream(100)
	b.SetBytes(int64(len(stream)))
	var p PageParser
	for b.Loop() {
		s := stream
		for len(s) > 0 {
			n, _ := p.Feed(s[:min(len(s), 4096)])
			s = s[n:]
		}
	}
}

// FuzzPageParser: any bytes, in any chunking, never panic, always make
// progress, and give the same pages whether fed at once or byte by byte.
func FuzzPageParser(f *testing.F) {
	stream, _ := testStream(3)
	f.Add(stream, uint8(7))
	f.Add([]byte("OggS"), uint8(1))
	f.Add([]byte("OggS\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff"), uint8(3))
	f.Add([]byte("xxOgOggS\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		var whole, split PageParser
		a, lostA := feedAll(&whole, b, []int{len(b) + 1})
		c, lostC := feedAll(&split, b, []int{int(chunk%64) + 1})
		if len(a) != len(c) || lostA != lostC {
			t.Fatalf("whole: %d pages %d losses; in chunks of %d: %d pages %d losses", len(a), lostA, chunk%64+1, len(c), lostC)
		}
		for i := range a {
			if a[i] != c[i] {
				t.Fatalf("page %d differs: %+v vs %+v", i, a[i], c[i])
			}
			if a[i].Size() > ogg.MaxPageSize {
				t.Fatalf("page %d of %d bytes: more than an Ogg page can hold", i, a[i].Size())
			}
		}
	})
}

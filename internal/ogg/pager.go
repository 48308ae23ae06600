package ogg

import (
	"time"

	"github.com/onair-live/onair/internal/program"
)

// Page is one encoded Ogg page of the program. Data is immutable and shared
// by every listener and the recorder.
type Page struct {
	Data    []byte
	Seq     uint32    // Ogg page sequence number
	Granule uint64    // granule position at the end of the page
	Frames  int       // program frames in the page
	Capture time.Time // capture time of the page's first frame
	EOS     bool
	// crcShift is zeroShift(len(Data)-22), made once per page so that
	// renumbering it for a view costs a few multiplications, not a CRC.
	crcShift uint32
}

// StartGranule is the granule position of the page's first sample.
func (p Page) StartGranule() uint64 {
	return p.Granule - uint64(p.Frames)*program.FrameSamples
}

// Pager packs program frames into Ogg pages of a fixed number of frames.
// Granule positions follow the program's PTS, so pages made on different
// nodes from the same frames are identical.
type Pager struct {
	serial        uint32
	framesPerPage int
	channels      int
	seq           uint32 // next audio page sequence number
	pending       [][]byte
	first         program.Frame
	lastEnd       uint64 // granule after the last frame pushed
}

// firstAudioSeq follows the two header pages.
const firstAudioSeq = 2

// NewPager returns a pager for a stream with the given serial.
func NewPager(serial uint32, framesPerPage, channels int) *Pager {
	if framesPerPage < 1 {
		framesPerPage = 1
	}
	return &Pager{serial: serial, framesPerPage: framesPerPage, channels: channels,
		seq: firstAudioSeq}
}

// ResumeAt makes the pager continue a stream whose last page was numbered
// seq-1 and ended at granule: a recording picked up after a crash, whose
// frames go on from there. The End frame alone then makes an EOS page
// with that granule.
func (pg *Pager) ResumeAt(seq uint32, granule uint64) {
	pg.seq, pg.lastEnd = seq, granule
}

// Headers returns the OpusHead and OpusTags pages, numbered 0 and 1: every
// stream (the recording, and each listener's through its View) starts
// with them. libogg takes a first page numbered otherwise for a hole
// before the headers, and VLC then finds no stream at all.
func (pg *Pager) Headers() []byte {
	head := BuildPage(FlagBOS, 0, pg.serial, 0, [][]byte{OpusHeadPacket(pg.channels, program.PreSkip, program.SampleRate)})
	return append(head, BuildPage(0, 0, pg.serial, 1, [][]byte{OpusTagsPacket("onair")})...)
}

// Push adds a frame and returns a page when one is complete. The End frame
// flushes what is pending in a final page marked EOS (empty if need be).
func (pg *Pager) Push(f program.Frame) (Page, bool) {
	if !f.End {
		if len(pg.pending) == 0 {
			pg.first = f
		}
		pg.pending = append(pg.pending, f.Packet)
		// RFC 7845: the granule counts decoded samples, pre-skip included.
		pg.lastEnd = f.PTS + f.Samples()
		if len(pg.pending) < pg.framesPerPage && lacingValues(pg.pending) < maxSegments-8 {
			return Page{}, false
		}
		return pg.flush(0), true
	}
	if len(pg.pending) == 0 {
		pg.first = f
	}
	return pg.flush(FlagEOS), true
}

// Flush returns the frames pending as a page without the end of stream,
// false when none are: a recording closed to be resumed keeps them all.
func (pg *Pager) Flush() (Page, bool) {
	if len(pg.pending) == 0 {
		return Page{}, false
	}
	return pg.flush(0), true
}

func (pg *Pager) flush(flags byte) Page {
	p := Page{Seq: pg.seq, Granule: pg.lastEnd, Frames: len(pg.pending),
		Capture: pg.first.Capture, EOS: flags&FlagEOS != 0}
	p.Data = BuildPage(flags, p.Granule, pg.serial, pg.seq, pg.pending)
	p.crcShift = zeroShift(len(p.Data) - 22)
	pg.seq++
	pg.pending = pg.pending[:0]
	return p
}

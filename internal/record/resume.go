package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
)

// ErrFinished is Resume's answer for a recording that has its end of
// stream: the show it holds is over.
var ErrFinished = errors.New("the recording is finished (it has its end of stream)")

// cut is a place where a recording file can end whole: after its headers
// or after a page (Ogg) or fragment (MP4).
type cut struct {
	size   int64  // bytes up to here
	frames uint64 // program frames before here
	units  uint32 // pages or fragments before here
}

// Resume picks up the recording at path (and its MP4 copy) after the
// process writing it died: both files are cut back to the last point where
// both are whole (a page torn by the crash, or the tail of the copy that
// got further, goes), and the recorder appends from there. It returns the
// program frame the show goes on from: the mixer's next frame must carry
// that sequence number and PTS, so both files play on without a seam.
func Resume(path string, serial uint32, framesPerPage int, syncEvery time.Duration, log *slog.Logger) (*Recorder, uint64, error) {
	oggCuts, err := oggCutsOf(path)
	if err != nil {
		return nil, 0, fmt.Errorf("resume recording %s: %w", path, err)
	}
	mp4Cuts, err := mp4CutsOf(MP4Path(path))
	if err != nil {
		return nil, 0, fmt.Errorf("resume recording %s: %w", MP4Path(path), err)
	}
	o, m := common(oggCuts, mp4Cuts)
	of, err := openAt(path, o.size, log)
	if err != nil {
		return nil, 0, fmt.Errorf("resume recording: %w", err)
	}
	mf, err := openAt(MP4Path(path), m.size, log)
	if err != nil {
		of.f.Close()
		return nil, 0, fmt.Errorf("resume recording: %w", err)
	}
	pager := ogg.NewPager(serial, framesPerPage, 1)
	pager.ResumeAt(o.units, o.frames*program.FrameSamples)
	r := newRecorder(path, of, &mp4Sink{f: mf, seq: m.units}, pager, syncEvery, log)
	go r.run()
	return r, o.frames, nil
}

// common is the last cut of each list at the same frame: the lists go up
// in frames, and the loop stops at the headers (0 frames) at worst.
func common(a, b []cut) (cut, cut) {
	i, j := len(a)-1, len(b)-1
	for a[i].frames != b[j].frames {
		for a[i].frames > b[j].frames {
			i--
		}
		for b[j].frames > a[i].frames {
			j--
		}
	}
	return a[i], b[j]
}

// oggCutsOf lists where the Ogg recording can end whole: after its two
// header pages, then after each audio page, up to the first damage.
func oggCutsOf(path string) ([]cut, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd := ogg.NewReader(bufio.NewReaderSize(f, 256<<10))
	var cuts []cut
	for n := uint32(1); ; n++ {
		p, err := rd.NextPage()
		if err != nil {
			if len(cuts) == 0 {
				return nil, fmt.Errorf("no whole headers (%w)", err)
			}
			return cuts, nil // torn or damaged here: what came before stays
		}
		if p.EOS {
			return nil, ErrFinished
		}
		if n >= 2 { // the headers are pages 0 and 1
			cuts = append(cuts, cut{size: p.End, frames: p.Granule / program.FrameSamples, units: p.Seq + 1})
		}
	}
}

// mp4CutsOf lists where the MP4 copy can end whole: after its init
// segment, then after each fragment.
func mp4CutsOf(path string) ([]cut, error) {
	idx, err := fmp4.ReadIndexFile(path)
	if err != nil {
		return nil, err
	}
	cuts := []cut{{size: idx.InitSize}}
	for i, fr := range idx.Fragments {
		cuts = append(cuts, cut{size: fr.Offset + fr.Size, units: uint32(i + 1),
			frames: fr.BaseDecodeTime/program.FrameSamples + uint64(fr.Samples)})
	}
	return cuts, nil
}

// openAt opens an existing recording file for appending at size, cutting
// off what follows.
func openAt(path string, size int64, log *slog.Logger) (*file, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &file{f: f, path: path, log: log, size: size}, nil
}

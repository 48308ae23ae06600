package record

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
)

// FragmentFrames is the length of one fragment of the MP4 copy: 200 ms,
// so a crash loses little more than the sync interval. The replay playlist
// groups fragments into segments.
const FragmentFrames = 10

// MP4Path is where the fragmented-MP4 copy of the recording at oggPath
// lives: the replay's HLS segments, addressed by byte range.
func MP4Path(oggPath string) string {
	return strings.TrimSuffix(oggPath, ".opus") + ".mp4"
}

// mp4Sink writes the program as fragmented MP4. Its errors are kept apart from the Ogg file's: either copy
// alone is a complete recording.
type mp4Sink struct {
	f       *file
	pending [][]byte
	first   program.Frame
	seq     uint32
}

func openMP4(path string, log *slog.Logger) (*mp4Sink, error) {
	f, err := createFile(path, log)
	if err != nil {
		return nil, fmt.Errorf("start recording: %w", err)
	}
	m := &mp4Sink{f: f}
	m.f.write(fmp4.Init(1, program.PreSkip))
	return m, nil
}

func (m *mp4Sink) push(f program.Frame) {
	if f.End {
		m.flush()
		return
	}
	if len(m.pending) == 0 {
		m.first = f
	}
	m.pending = append(m.pending, f.Packet)
	if len(m.pending) == FragmentFrames {
		m.flush()
	}
}

func (m *mp4Sink) flush() {
	if len(m.pending) == 0 {
		return
	}
	m.seq++
	m.f.write(fmp4.Fragment(m.seq, m.first.PTS, m.pending))
	m.pending = m.pending[:0]
}

func (m *mp4Sink) sync() { m.f.sync() }

func (m *mp4Sink) close() error { return m.f.close() }

// RecoveredSeconds is the program duration the Ogg recording at oggPath
// holds up to its last intact page: for a show whose server died before
// writing the end of stream.
func RecoveredSeconds(oggPath string) float64 {
	f, err := os.Open(oggPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	rd := ogg.NewReader(bufio.NewReaderSize(f, 256<<10))
	var granule uint64
	for {
		if _, err := rd.NextPacket(); err != nil {
			return Seconds(granule)
		}
		granule = rd.Granule()
	}
}

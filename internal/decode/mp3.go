package decode

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Chunk is how much decoded audio MP3 reads at a time: one MPEG-1 Layer
// III frame (1152 samples) of 16-bit stereo.
const mp3Chunk = 1152 * 4

// MP3 decodes an MPEG audio Layer III stream read from r.
type MP3 struct {
	d   *mp3.Decoder
	raw []byte
	pcm []float32
	rs  *Resampler
}

// NewMP3 reads the stream's first frame (after any ID3v2 tag) to learn its
// rate.
func NewMP3(r io.Reader) (*MP3, error) {
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return nil, fmt.Errorf("mp3: %w", err)
	}
	rs, err := NewResampler(d.SampleRate())
	if err != nil {
		return nil, err
	}
	return &MP3{d: d, raw: make([]byte, mp3Chunk), pcm: make([]float32, mp3Chunk/4), rs: rs}, nil
}

// Rate is the stream's sample rate as sent.
func (m *MP3) Rate() int { return m.d.SampleRate() }

// Next returns the next stretch of audio as 48 kHz mono, valid until the
// next call (possibly empty while the resampler fills); io.EOF at the end.
func (m *MP3) Next() ([]float32, error) {
	n, err := io.ReadFull(m.d, m.raw)
	if n == 0 {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return nil, err
	}
	// go-mp3 always gives 16-bit little-endian stereo: average the channels.
	pcm := m.pcm[:n/4]
	for i := range pcm {
		l := int16(binary.LittleEndian.Uint16(m.raw[4*i:]))
		r := int16(binary.LittleEndian.Uint16(m.raw[4*i+2:]))
		pcm[i] = (float32(l) + float32(r)) / (2 * -math.MinInt16)
	}
	return m.rs.Process(pcm)
}

// Close frees the resampler.
func (m *MP3) Close() { m.rs.Close() }

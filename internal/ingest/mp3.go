package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/onair-live/onair/internal/decode"
)

// openMP3 reads up to the first frame, to learn the stream's rate.
func openMP3(r io.Reader) (*Stream, error) {
	cr := &countingReader{r: r}
	m, err := decode.NewMP3(cr)
	if err != nil {
		return nil, classify(err, "reading the first MP3 frame")
	}
	s := &Stream{Stats: Stats{Codec: "mp3", Rate: m.Rate()}, close: m.Close}
	s.run = func(ctx context.Context, sp Pusher, st *Stats) error {
		for {
			pcm, err := m.Next()
			st.Bytes = cr.n
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return classify(err, fmt.Sprintf("after %d MP3 frames", st.Packets))
			}
			if len(pcm) == 0 {
				continue
			}
			if err := sp.PushPCM(ctx, pcm); err != nil {
				return err
			}
			st.Packets++
		}
	}
	return s, nil
}

// countingReader counts the bytes the MP3 decoder read, for Stats.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

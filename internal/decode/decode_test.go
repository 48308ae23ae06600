package decode_test

import (
	"math"
	"testing"

	"github.com/onair-live/onair/internal/decode"
)

// TestResamplerStreams: 44.1 kHz fed in ragged chunks, as decoders hand
// it, comes out at 48 kHz with nothing lost or doubled between calls and
// the pitch kept.
func TestResamplerStreams(t *testing.T) {
	rs, err := decode.NewResampler(44100)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	in := make([]float32, 44100*2)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/44100))
	}
	var out []float32
	for off, step := 0, 1; off < len(in); off, step = off+step, step%1500+97 {
		got, err := rs.Process(in[off:min(off+step, len(in))])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	// Output lags input by the filter's delay: under 30 ms short.
	if want := 96000; len(out) > want || len(out) < want-1440 {
		t.Fatalf("%d samples out, want about %d", len(out), want)
	}
	// Zero crossings in the middle second: 2,000 for 1 kHz at any rate.
	mid, zc := out[24000:72000], 0
	for i := 1; i < len(mid); i++ {
		if (mid[i-1] < 0) != (mid[i] < 0) {
			zc++
		}
	}
	if zc < 1990 || zc > 2010 {
		t.Errorf("%d zero crossings in a second, want 2000 (1 kHz)", zc)
	}
	if _, err := decode.NewResampler(1000); err == nil {
		t.Error("1 kHz accepted, want an error")
	}
}

func TestPassthroughAt48k(t *testing.T) {
	rs, err := decode.NewResampler(48000)
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{0.1, 0.2, 0.3}
	if out, _ := rs.Process(in); len(out) != 3 || out[2] != 0.3 {
		t.Errorf("48 kHz: %v, want the input as is", out)
	}
}

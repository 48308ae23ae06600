package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os/exec"
	"testing"

	"github.com/onair-live/onair/internal/ingest"
)

// sink is a Pusher that keeps what the mixer would get.
type sink struct {
	opusSamples int
	pcm         []float32
	keep        bool
}

func (s *sink) Push(_ context.Context, _ []byte, samples int) error {
	s.opusSamples += samples
	return nil
}

func (s *sink) PushPCM(_ context.Context, pcm []float32) error {
	if s.keep {
		s.pcm = append(s.pcm, pcm...)
	} else {
		s.opusSamples += len(pcm)
	}
	return nil
}

// encode has ffmpeg make secs seconds of a sine at rate Hz in an encoder
// and muxer, as a radio encoder would send it.
func encode(tb testing.TB, freq, rate, secs, codec, muxer string) []byte {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		tb.Skip("ffmpeg not installed (make test installs it)")
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "sine=f="+freq+":sample_rate="+rate+":duration="+secs, "-ac", "2", "-c:a", codec, "-b:a", "96k",
		"-f", muxer, "-").Output()
	if err != nil {
		tb.Fatalf("ffmpeg %s: %v", codec, err)
	}
	return out
}

// goertzel is the power of freq in x at 48 kHz, normalised by length.
func goertzel(x []float32, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/48000)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

// TestDecodesToMono48k: Vorbis and MP3 at 44.1 kHz stereo come out as
// 48 kHz mono of the same length and pitch.
func TestDecodesToMono48k(t *testing.T) {
	for _, c := range []struct{ codec, muxer, want string }{
		{"libvorbis", "ogg", "vorbis"}, {"libmp3lame", "mp3", "mp3"},
	} {
		var s sink
		s.keep = true
		st, err := ingest.Run(context.Background(), bytes.NewReader(encode(t, "1000", "44100", "2", c.codec, c.muxer)), &s)
		if err != nil {
			t.Fatalf("%s: %v", c.codec, err)
		}
		if st.Codec != c.want || st.Rate != 44100 {
			t.Errorf("%s: stats %+v", c.codec, st)
		}
		if secs := float64(len(s.pcm)) / 48000; math.Abs(secs-2) > 0.1 {
			t.Errorf("%s: %.3f s decoded, want 2", c.codec, secs)
		}
		mid := s.pcm[24000:72000]
		if on, off := goertzel(mid, 1000), goertzel(mid, 918.75); on < 1e-3 || on < 1000*off {
			// 918.75 Hz is where 1 kHz would land if the rate were not converted.
			t.Errorf("%s: 1 kHz power %.3g, at the unconverted pitch %.3g", c.codec, on, off)
		}
	}
}

// TestRefusesOtherCodecs names what it saw.
func TestRefusesOtherCodecs(t *testing.T) {
	for _, c := range []struct{ codec, muxer, name string }{
		{"aac", "adts", "AAC"}, {"flac", "ogg", "Ogg/FLAC"}, {"flac", "flac", "FLAC"}, {"pcm_s16le", "wav", "WAV"},
	} {
		_, err := ingest.Open(bytes.NewReader(encode(t, "440", "48000", "0.5", c.codec, c.muxer)))
		var u *ingest.UnsupportedError
		if !errors.As(err, &u) || !bytes.Contains([]byte(u.Reason), []byte(c.name)) {
			t.Errorf("%s in %s: %v, want unsupported naming %s", c.codec, c.muxer, err, c.name)
		}
	}
	var b *ingest.BadInputError
	if _, err := ingest.Open(bytes.NewReader([]byte("hello, not audio"))); !errors.As(err, &b) {
		t.Errorf("text: %v, want bad input", err)
	}
}

// BenchmarkDecode is what a speaker in a codec other than Opus costs the
// ingest: decoding and resampling, reported per second of audio
// (µs/speaker-s: 10,000 is 1% of a core). Opus is passed through here (the
// mixer decodes it, for every codec alike).
func BenchmarkDecode(b *testing.B) {
	const secs = 10
	for _, c := range []struct{ name, codec, muxer, rate string }{
		{"vorbis-44k", "libvorbis", "ogg", "44100"}, {"vorbis-48k", "libvorbis", "ogg", "48000"},
		{"mp3-44k", "libmp3lame", "mp3", "44100"}, {"opus-passthrough", "libopus", "ogg", "48000"},
	} {
		media := encode(b, "440", c.rate, "10", c.codec, c.muxer)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var s sink
				if _, err := ingest.Run(context.Background(), bytes.NewReader(media), &s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/secs, "µs/speaker-s")
		})
	}
}

// FuzzRun: whatever an encoder sends, Run ends with an error or nil, never a
// panic or a hang.
func FuzzRun(f *testing.F) {
	for _, seed := range [][]byte{[]byte("OggS"), []byte("ID3\x04\x00"), {0xFF, 0xFB, 0x90, 0x00}, {0xFF, 0xF1}} {
		f.Add(seed)
	}
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		f.Add(encode(f, "440", "44100", "0.2", "libvorbis", "ogg"))
		f.Add(encode(f, "440", "44100", "0.2", "libmp3lame", "mp3"))
		f.Add(encode(f, "440", "48000", "0.2", "libopus", "ogg"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s sink
		_, _ = ingest.Run(context.Background(), bytes.NewReader(data), &s)
	})
}

// TestChainedOgg: an encoder that starts a new logical stream (a new
// track) goes on as the same speaker, even when the codec changes.
func TestChainedOgg(t *testing.T) {
	chain := append(encode(t, "440", "44100", "1", "libvorbis", "ogg"), encode(t, "660", "48000", "1", "libopus", "ogg")...)
	chain = append(chain, encode(t, "880", "44100", "1", "libvorbis", "ogg")...)
	s := sink{keep: true}
	st, err := ingest.Run(context.Background(), bytes.NewReader(chain), &s)
	if err != nil {
		t.Fatal(err)
	}
	if pcm, opus := float64(len(s.pcm))/48000, float64(s.opusSamples)/48000; math.Abs(pcm-2) > 0.1 || math.Abs(opus-1) > 0.05 {
		t.Errorf("decoded %.2f s of Vorbis and %.2f s of Opus, want 2 and 1", pcm, opus)
	}
	if st.Codec != "vorbis" {
		t.Errorf("codec after the chain: %q, want the last stream's", st.Codec)
	}
	bad := append(encode(t, "440", "44100", "0.5", "libvorbis", "ogg"), "not a page"...)
	var be *ingest.BadInputError
	if _, err := ingest.Run(context.Background(), bytes.NewReader(bad), &s); !errors.As(err, &be) {
		t.Errorf("garbage after the end of stream: %v, want bad input", err)
	}
}

// TestMP3GarbageMidStream: past libmpg123's resync limit, garbage in an MP3
// stream is bad input, not a guess at where the next frame is.
func TestMP3GarbageMidStream(t *testing.T) {
	mp3 := encode(t, "440", "44100", "1", "libmp3lame", "mp3")
	junk := bytes.Repeat([]byte("\x00garbage"), 4096)
	var s sink
	_, err := ingest.Run(context.Background(), bytes.NewReader(append(append(mp3[:len(mp3)/2:len(mp3)/2], junk...), mp3[len(mp3)/2:]...)), &s)
	var be *ingest.BadInputError
	if !errors.As(err, &be) {
		t.Fatalf("32 KiB of garbage mid-stream: %v, want bad input", err)
	}
	t.Log(be.Reason)
}

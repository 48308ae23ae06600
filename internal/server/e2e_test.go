package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (make test installs it)", bin)
		}
	}
}

// pushTone runs ffmpeg as a speaker: a sine pushed as chunked Ogg/Opus with
// HTTP PUT, exactly as the README tells users to.
// pageDur is ffmpeg's Ogg -page_duration in µs; 0 keeps its default (1 s).
func pushTone(ctx context.Context, t *testing.T, url string, freq int, header string, pageDur int) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "sine=f=" + strconv.Itoa(freq) + ":sample_rate=48000", "-c:a", "libopus", "-b:a", "48k",
		"-f", "ogg", "-method", "PUT"}
	if pageDur > 0 {
		args = append(args, "-page_duration", strconv.Itoa(pageDur))
	}
	if header != "" {
		args = append(args, "-headers", header+"\r\n")
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", append(args, url)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// decodeLive has ffmpeg read the live stream for secs seconds and returns it
// as mono 48 kHz samples.
func decodeLive(t *testing.T, url string, secs float64) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs*float64(time.Second))+20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url,
		"-t", strconv.FormatFloat(secs, 'f', 2, 64), "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg listener: %v: %s", err, errb.String())
	}
	return s16le(out.Bytes())
}

// s16le converts signed 16-bit little-endian PCM to samples in [-1, 1).
func s16le(b []byte) []float64 {
	pcm := make([]float64, len(b)/2)
	for i := range pcm {
		pcm[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return pcm
}

// goertzel returns the power of freq in x (normalized by length).
func goertzel(x []float64, freq float64) float64 {
	w := 2 * math.Pi * freq / 48000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return p / float64(len(x)*len(x))
}

// assertTones checks both tones dominate off-frequency probes in every
// second of pcm, and that no 20 ms window is silent (a gap).
func assertTones(t *testing.T, pcm []float64, freqs ...float64) {
	t.Helper()
	const win = 960
	for i := 0; i+win <= len(pcm); i += win {
		var e float64
		for _, v := range pcm[i : i+win] {
			e += v * v
		}
		if rms := math.Sqrt(e / win); rms < 0.01 {
			t.Fatalf("gap: 20 ms window at %.2f s has RMS %.4f", float64(i)/48000, rms)
		}
	}
	for s := 0; s+48000 <= len(pcm); s += 48000 {
		sec := pcm[s : s+48000]
		noise := math.Max(goertzel(sec, 550), goertzel(sec, 1000))
		for _, f := range freqs {
			if p := goertzel(sec, f); p < 100*noise || p < 1e-4 {
				t.Fatalf("second %d: %v Hz power %.3g vs off-tone %.3g", s/48000, f, p, noise)
			}
		}
	}
}

func TestEndToEndFFmpegSpeakersToListenerAndReplay(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("two tones")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One speaker authenticates with the header and sends 20 ms pages (as
	// the README advises), the other uses ?token= and ffmpeg's 1 s pages.
	a := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=a", 440, "Authorization: Bearer "+tok, 20000)
	b := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=b&token="+tok, 660, "", 0)
	e.waitPlaying(id, tok, 2) // green room: speakers buffer before the show
	e.transition(id, tok, "start")
	startedAt := time.Now()

	j := e.join(id)
	pcm := decodeLive(t, j["ogg"].(string), 6)
	if got := float64(len(pcm)) / 48000; got < 5.9 {
		t.Fatalf("listener decoded %.2f s, want 6", got)
	}
	assertTones(t, pcm, 440, 660)

	sp := e.transition(id, tok, "end")
	live := time.Since(startedAt).Seconds()
	cancel()
	a.Wait()
	b.Wait()
	if rec := sp["recorded_seconds"].(float64); math.Abs(rec-live) > 1 {
		t.Errorf("recorded_seconds %.2f, live for %.2f", rec, live)
	}
	dur := probeDuration(t, e.pub+"/replay/"+id+".opus")
	if math.Abs(dur-live) > 1 {
		t.Fatalf("replay duration %.2f s, live for %.2f s", dur, live)
	}
	// The replay holds the tones too (skip the first second: buffering).
	rep := decodeLive(t, e.pub+"/replay/"+id+".opus", live-0.5)
	assertTones(t, rep[48000:], 440, 660)
}

// waitPlaying waits until n speakers of the space are mixed.
func (e *env) waitPlaying(id, tok string, n int) {
	e.t.Helper()
	e.waitPlayingFor(id, tok, n, 15*time.Second)
}

// waitPlayingFor is waitPlaying with its own limit, for slow starters.
func (e *env) waitPlayingFor(id, tok string, n int, limit time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		_, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil)
		playing := 0
		speakers, _ := sp["speakers"].([]any)
		for _, s := range speakers {
			if s.(map[string]any)["state"] == "playing" {
				playing++
			}
		}
		if playing >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d of %d speakers playing after %v: %v", playing, n, limit, speakers)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func probeDuration(t *testing.T, url string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,sample_rate,channels",
		"-of", "json", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	var p struct {
		Format  struct{ Duration string }
		Streams []struct {
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int
		}
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	if s := p.Streams[0]; s.CodecName != "opus" || s.SampleRate != "48000" || s.Channels != 1 {
		t.Fatalf("replay stream %+v, want opus 48000 mono", s)
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrash kills the server with SIGKILL in the middle of a show: the
// recording on disk keeps all but the last 2 s and plays; the server
// started again on the same data directory takes the show back on air, the
// speaker comes back, and once the host ends it the replay (Ogg and HLS)
// plays across the restart: the audio before the kill, less 2 s at most,
// then the audio after.
func TestCrash(t *testing.T) {
	needFFmpeg(t)
	data := t.TempDir()
	s := startServer(t, data)
	sp := s.createSpace(t, "Crash test")
	spk := pushTone(t, s, sp, "a", 440)
	s.waitSpeaker(t, sp)
	liveFrom, _ := s.goLive(t, sp)
	time.Sleep(time.Until(liveFrom.Add(5 * time.Second))) // the show must run; nothing to poll
	if !spk.running() {
		t.Fatalf("the ffmpeg speaker exited: %v\n%s", spk.err, spk.stderr)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killAt := time.Now()
	s.wait(t, 10*time.Second)
	spk.wait(t, 10*time.Second)

	rec := filepath.Join(data, "recordings", sp.id+".opus")
	size := len(mustRead(t, rec))
	checkOpusFile(t, rec)
	got, before := float64(len(decode(t, rec)))/48000, killAt.Sub(liveFrom).Seconds()
	t.Logf("after SIGKILL the recording holds %.2f s of a %.2f s show (%d bytes)", got, before, size)
	if got < before-2 {
		t.Errorf("after SIGKILL the recording holds %.2f s; the show was live %.2f s: more than the last 2 s lost", got, before)
	}

	// The next start takes the show back on air; the speaker reconnects.
	s = startServer(t, data)
	resumedAt := time.Now() // the program went on before this: the interval after is a floor
	if !regexp.MustCompile(`level=WARN.*live.*resuming.*space=` + sp.id).MatchString(s.stderr.String()) {
		t.Errorf("the restarted server does not warn that it resumes %s:\n%s", sp.id, s.stderr)
	}
	if st := s.state(t, sp.id); st != "live" {
		t.Fatalf("after the crash and restart the space is %q; want live", st)
	}
	pushTone(t, s, sp, "a", 440)
	s.waitSpeaker(t, sp)
	l := listen(t, s.join(t, sp.id)) // a listener of the show that goes on
	time.Sleep(5 * time.Second)
	if err := hostCall(s, sp, "end"); err != nil {
		t.Fatal(err)
	}
	after := time.Since(resumedAt).Seconds()
	<-l.done
	if got := l.seconds(); got < 4 {
		t.Errorf("a listener after the restart heard %.2f s of 5 s live", got)
	}

	// The replay, as listeners get it: the Ogg file and the VOD HLS.
	want := before - 2 + after - 0.2
	for _, url := range []string{s.pub + "/replay/" + sp.id + ".opus", s.pub + "/replay/" + sp.id + "/index.m3u8"} {
		dur := probeSeconds(t, url)
		t.Logf("%s: %.2f s (%.2f s live before the kill, %.2f s after the restart)", url[len(s.pub):], dur, before, after)
		if dur < want {
			t.Errorf("%s lasts %.2f s; want at least %.2f s (%.2f before the kill less 2, %.2f after)", url, dur, want, before, after)
		}
		decodesCleanly(t, url)
	}
	pcm := decode(t, s.pub+"/replay/"+sp.id+".opus")
	assertTone(t, pcm[:len(pcm)/3], 440)   // before the kill
	assertTone(t, pcm[2*len(pcm)/3:], 440) // after the restart
	assertReplay(t, s, sp.id)
	if rs, _ := s.listJSON(t, sp.id)["recorded_seconds"].(float64); rs < want {
		t.Errorf("recorded_seconds is %.2f; want at least %.2f", rs, want)
	}
	s.stop(t, syscall.SIGTERM)
}

// probeSeconds is the duration ffprobe gives src (a file or a URL).
func probeSeconds(t *testing.T, src string) float64 {
	t.Helper()
	d, err := strconv.ParseFloat(ffprobe(t, src).Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe %s: no duration: %v", src, err)
	}
	return d
}

// decodesCleanly has ffmpeg decode src end to end; a word from it at
// level error fails the test.
func decodesCleanly(t *testing.T, src string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", src, "-f", "null", "-")
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil || strings.TrimSpace(errb.String()) != "" {
		t.Errorf("ffmpeg -v error -i %s -f null -: %v\n%s", src, err, errb.String())
	}
}

package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The encoders radio people already use, from Debian, each speaking the
// Icecast source protocol to the host port exactly as it would to Icecast.

func needBin(t *testing.T, bins ...string) {
	t.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (make test installs it)", bin)
		}
	}
}

// hostPort splits the host base URL.
func (e *env) hostPort() (string, int) {
	u, _ := url.Parse(e.host)
	port, _ := strconv.Atoi(u.Port())
	return u.Hostname(), port
}

// ffmpegIcecast pushes a sine through ffmpeg's icecast:// output: PUT with
// Expect: 100-continue, or the older SOURCE with legacy. codec is an ffmpeg
// encoder and muxer ("libopus ogg", "libvorbis ogg", "libmp3lame mp3").
func ffmpegIcecast(ctx context.Context, t *testing.T, e *env, user, tok, mount string, freq int, enc, muxer string, legacy bool) *exec.Cmd {
	cmd := ffmpegIcecastCmd(ctx, e, user, tok, mount, freq, enc, muxer, legacy)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func ffmpegIcecastCmd(ctx context.Context, e *env, user, tok, mount string, freq int, enc, muxer string, legacy bool) *exec.Cmd {
	host, port := e.hostPort()
	args := []string{"-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "sine=f=" + strconv.Itoa(freq) + ":sample_rate=44100", "-c:a", enc, "-b:a", "64k", "-f", muxer}
	if legacy {
		args = append(args, "-legacy_icecast", "1")
	}
	if muxer == "ogg" {
		args = append(args, "-page_duration", "100000")
	}
	u := fmt.Sprintf("icecast://%s:%s@%s:%d%s", user, tok, host, port, mount)
	return exec.CommandContext(ctx, "ffmpeg", append(args, u)...)
}

// liquidsoapIcecast runs Liquidsoap's output.icecast with a sine and the
// given encoder ("%opus", "%mp3", "%vorbis"): SOURCE over HTTP/1.0, waiting
// for the 200 before sending.
func liquidsoapIcecast(ctx context.Context, t *testing.T, e *env, user, tok, mount string, freq int, format string) *exec.Cmd {
	host, port := e.hostPort()
	script := fmt.Sprintf(`settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
output.icecast(%s, host=%q, port=%d, user=%q, password=%q, mount=%q, fallible=true,
  sine(%d., amplitude=0.125))
`, format, host, port, user, tok, mount, freq)
	path := filepath.Join(t.TempDir(), "speaker.liq")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "liquidsoap", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// ices2Vorbis streams an Ogg/Vorbis file of a sine with ices2 (libshout:
// an OPTIONS * upgrade probe, then PUT or SOURCE), named by its Ice-Name.
func ices2Vorbis(ctx context.Context, t *testing.T, e *env, name, tok, mount string, freq int) *exec.Cmd {
	host, port := e.hostPort()
	dir := t.TempDir()
	file := filepath.Join(dir, "tone.ogg")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "sine=f="+strconv.Itoa(freq)+":sample_rate=44100:duration=60", "-c:a", "libvorbis", file).CombinedOutput(); err != nil {
		t.Fatalf("making the Vorbis file: %v %s", err, out)
	}
	list := filepath.Join(dir, "playlist.txt")
	conf := filepath.Join(dir, "ices.xml")
	xml := fmt.Sprintf(`<?xml version="1.0"?>
<ices>
  <background>0</background><logpath>%s</logpath><logfile>ices.log</logfile><loglevel>2</loglevel><consolelog>0</consolelog>
  <stream>
    <metadata><name>%s</name></metadata>
    <input><module>playlist</module>
      <param name="type">basic</param><param name="file">%s</param><param name="random">0</param><param name="once">1</param>
    </input>
    <instance><hostname>%s</hostname><port>%d</port><password>%s</password><mount>%s</mount>
      <reconnectdelay>1</reconnectdelay><reconnectattempts>5</reconnectattempts></instance>
  </stream>
</ices>
`, dir, name, list, host, port, tok, mount)
	if err := os.WriteFile(list, []byte(file+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "ices2", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "ices.log"))
			t.Logf("ices2 log:\n%s", log)
		}
	})
	return cmd
}

// TestIcecastEncodersIntoOneShow has six unmodified encoders speak into one
// show, each a tone of its own: ffmpeg's icecast:// with Opus (PUT and
// 100-continue), Vorbis (the legacy SOURCE) and MP3; Liquidsoap with %opus
// and %mp3 (SOURCE, HTTP/1.0); ices2 with a Vorbis file. A listener
// hears every tone, every second, with no gap.
func TestIcecastEncodersIntoOneShow(t *testing.T) {
	needFFmpeg(t)
	needBin(t, "liquidsoap", "ices2")
	e := startServer(t)
	id, tok := e.space("icecast encoders")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Liquidsoap first: it takes seconds to load its library.
	cmds := []*exec.Cmd{
		liquidsoapIcecast(ctx, t, e, "liqopus", tok, "/"+id+".opus", 770, "%opus"),
		liquidsoapIcecast(ctx, t, e, "liqmp3", tok, "/ingest/"+id, 880, "%mp3"),
		ffmpegIcecast(ctx, t, e, "ffopus", tok, "/ingest/"+id, 330, "libopus", "ogg", false),
		ffmpegIcecast(ctx, t, e, "ffvorbis", tok, "/"+id+".ogg", 440, "libvorbis", "ogg", true),
		ffmpegIcecast(ctx, t, e, "ffmp3", tok, "/"+id+".mp3?speaker=ffmp3", 660, "libmp3lame", "mp3", false),
		ices2Vorbis(ctx, t, e, "ices", tok, "/"+id+".ogg", 1320),
	}
	e.waitPlayingFor(id, tok, len(cmds), time.Minute)
	e.transition(id, tok, "start")
	pcm := decodeLive(t, e.join(id)["ogg"].(string), 5)
	assertTones(t, pcm, 330, 440, 660, 770, 880, 1320)
	_, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil)
	t.Logf("speakers: %v", sp["speakers"])
	cancel()
	for _, c := range cmds {
		_ = c.Wait()
	}
}

package server_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// playerUser is the unprivileged account third-party players run as when
// the tests run as root (VLC refuses root); scripts/deps.sh creates it.
const playerUser = "onair-player"

// TestPlayersJoinLiveOggMidShow: VLC, GStreamer and ffmpeg, each joining
// the live Ogg stream seconds into a show, decode the speaker's tone with
// no gap, and Chromium plays it. VLC is the strict one: it needs the headers as pages 0 and 1
// and granules from about 0 (issue 14).
func TestPlayersJoinLiveOggMidShow(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("players")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	speaker := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=a", 440, "Authorization: Bearer "+tok, 20000)
	defer speaker.Wait()
	defer cancel()
	e.waitPlaying(id, tok, 1)
	e.transition(id, tok, "start")
	// Mid-show: the program's granule positions are far from 0 by now.
	time.Sleep(3 * time.Second)

	t.Run("vlc", func(t *testing.T) {
		url := e.join(id)["ogg"].(string)
		assertTones(t, vlcDecode(t, url, 6)[4800:], 440) // skip the first 100 ms: the decoder's start
	})
	t.Run("gstreamer", func(t *testing.T) {
		url := e.join(id)["ogg"].(string)
		assertTones(t, gstDecode(t, url, 6), 440)
	})
	t.Run("ffmpeg", func(t *testing.T) {
		url := e.join(id)["ogg"].(string)
		assertTones(t, decodeLive(t, url, 6), 440)
	})
	t.Run("chromium", func(t *testing.T) {
		// The listener page with HLS blocked plays the live Ogg in <audio>.
		b := newBrowser(t, e, time.Minute)
		b.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{
				URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/hls/*", Block: true}}})
			return err
		}))
		b.run(chromedp.Navigate(e.pub+"/s/"+id), chromedp.Click(chromedp.ID("play")))
		b.waitFor("ogg playback", `document.getElementById('space').dataset.mode === 'ogg' &&
			document.getElementById('space').dataset.phase === 'playing'`, 30*time.Second)
		if m := b.assertAdvances(4*time.Second, 3*time.Second); m.Source != "live" || !strings.Contains(m.Tech, "Ogg") {
			t.Fatalf("Chromium joining mid-show: %+v", m)
		}
	})
}

// vlcDecode plays url in VLC (cvlc, no interface) for secs seconds into a
// WAV file (--aout afile) and returns at least secs-1 s of it as 48 kHz mono.
func vlcDecode(t *testing.T, url string, secs int) []float64 {
	t.Helper()
	bin, err := exec.LookPath("cvlc")
	if err != nil {
		t.Fatal("VLC is not installed (make test installs vlc-bin and vlc-plugin-base)")
	}
	dir := playerDir(t)
	wav := filepath.Join(dir, "out.wav")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+20)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--no-video", "--aout", "afile", "--audiofile-file", wav,
		"--run-time", strconv.Itoa(secs), "--play-and-exit", "--no-stats", "-q", url)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	asPlayer(t, cmd)
	if err := cmd.Run(); err != nil {
		t.Fatalf("vlc: %v: %s", err, errb.String())
	}
	pcm := decodeLive(t, wav, float64(secs))
	if got := float64(len(pcm)) / 48000; got < float64(secs)-1 {
		t.Fatalf("VLC played %.2f s of %d s: %s", got, secs, errb.String())
	}
	return pcm
}

// gstDecode plays url with GStreamer's own Ogg demuxer and Opus decoder
// for secs seconds and returns what it decoded as 48 kHz mono.
func gstDecode(t *testing.T, url string, secs int) []float64 {
	t.Helper()
	if _, err := exec.LookPath("gst-launch-1.0"); err != nil {
		t.Fatal("GStreamer is not installed (make test installs gstreamer1.0-tools and its base and good plugins)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "gst-launch-1.0", "-q", "souphttpsrc", "location="+url, "!", "oggdemux", "!",
		"opusdec", "!", "audioconvert", "!", "audioresample", "!", "audio/x-raw,format=S16LE,channels=1,rate=48000", "!",
		"fdsink", "fd=1")
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() == nil { // it stopped on its own before its time: an error
		t.Fatalf("gst-launch: %v: %s", err, errb.String())
	}
	pcm := s16le(out.Bytes())
	if got := float64(len(pcm)) / 48000; got < float64(secs)-1 {
		t.Fatalf("GStreamer decoded %.2f s in %d s: %s", got, secs, errb.String())
	}
	return pcm
}

// asPlayer makes cmd run as playerUser when the tests run as root.
func asPlayer(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if os.Getuid() != 0 {
		return
	}
	u, err := user.Lookup(playerUser)
	if err != nil {
		t.Fatalf("running as root and there is no %s user to run players as (scripts/deps.sh test creates it): %v", playerUser, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// playerDir is a temporary directory the player (perhaps playerUser) can
// write its home and output to.
func playerDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Getuid() == 0 {
		if u, err := user.Lookup(playerUser); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(dir, uid, gid); err != nil {
				t.Fatal(err)
			}
			// t.TempDir's parent is root's 0700 directory: let the player in.
			if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

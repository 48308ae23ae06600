package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sourceClient speaks the Icecast source protocol by hand, to see every
// byte of the answer: a request line and headers, no body framing.
type sourceClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialSource(t *testing.T, e *env, method, path, user, pass string, hdr ...string) *sourceClient {
	t.Helper()
	host, _ := strings.CutPrefix(e.host, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	req := method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Basic " + auth + "\r\n" +
		strings.Join(append(hdr, ""), "\r\n") + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return &sourceClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// response reads one status line and its headers.
func (c *sourceClient) response() (int, http.Header, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("reading the answer: %v", err)
	}
	body := ""
	if resp.StatusCode >= 200 && resp.ContentLength > 0 {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp.StatusCode, resp.Header, body
}

// encodeFile has ffmpeg make secs seconds of a sine in the given encoder
// and muxer, as an encoder would stream it.
func encodeFile(t *testing.T, freq, secs, enc, muxer string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "media")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "sine=f="+freq+":duration="+secs, "-c:a", enc, "-f", muxer, path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v %s", enc, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIcecastRefusals: a wrong password is 401 with a Basic challenge (for
// raw clients and ffmpeg alike), an unknown mount 404, a codec onair does
// not decode 415 with a reason, whether the Content-Type says so or only
// the bytes do (ffmpeg labels every stream audio/mpeg).
func TestIcecastRefusals(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("refusals")

	c := dialSource(t, e, "SOURCE", "/ingest/"+id, "source", "wrong")
	if code, h, _ := c.response(); code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("wrong password: %d, WWW-Authenticate %q; want 401 with a Basic challenge", code, h.Get("WWW-Authenticate"))
	}
	out, err := ffmpegIcecastCmd(context.Background(), e, "source", "wrong", "/ingest/"+id, 440, "libopus", "ogg", false).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Errorf("ffmpeg with a wrong password: %v %s; want it to report 401", err, out)
	}

	for _, path := range []string{"/nosuch.ogg", "/ingest/nosuch"} {
		c := dialSource(t, e, "SOURCE", path, "source", tok)
		if code, _, body := c.response(); code != 404 || !strings.Contains(body, "nosuch") {
			t.Errorf("unknown mount %s: %d %s, want 404 naming it", path, code, body)
		}
	}
	out, err = ffmpegIcecastCmd(context.Background(), e, "source", tok, "/nosuch.opus", 440, "libopus", "ogg", false).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "404") {
		t.Errorf("ffmpeg to an unknown mount: %v %s; want it to report 404", err, out)
	}

	c = dialSource(t, e, "PUT", "/"+id+".aac", "source", tok, "Content-Type: audio/aac", "Expect: 100-continue")
	if code, _, body := c.response(); code != 415 || !strings.Contains(body, "AAC") {
		t.Errorf("Content-Type audio/aac: %d %s, want 415 naming AAC", code, body)
	}
	for name, media := range map[string][]byte{
		"AAC (ADTS)": encodeFile(t, "440", "1", "aac", "adts"),
		"Ogg/FLAC":   encodeFile(t, "440", "1", "flac", "ogg"),
	} {
		c := dialSource(t, e, "PUT", "/ingest/"+id, "source", tok, "Content-Type: audio/mpeg", "Expect: 100-continue")
		if code, _, _ := c.response(); code != 100 {
			t.Fatalf("%s: first answer %d, want 100 Continue", name, code)
		}
		if _, err := c.conn.Write(media); err != nil {
			t.Fatal(err)
		}
		if code, _, body := c.response(); code != 415 || !strings.Contains(body, name) {
			t.Errorf("%s labelled audio/mpeg: %d %s, want 415 naming it", name, code, body)
		}
	}
	if _, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil); sp["speakers"] != nil && len(sp["speakers"].([]any)) > 0 {
		t.Errorf("refused sources joined the mix: %v", sp["speakers"])
	}
}

// TestIcecastGarbageMidStream: a source that turns to garbage mid-stream is
// cut and leaves the mix, and the others go on with no gap.
func TestIcecastGarbageMidStream(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok := e.space("garbage")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=a", 440, "Authorization: Bearer "+tok, 20000)
	b := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=b&token="+tok, 660, "", 20000)
	e.waitPlaying(id, tok, 2)
	e.transition(id, tok, "start")

	listened := make(chan []float64, 1)
	ogg := e.join(id)["ogg"].(string)
	go func() { listened <- decodeLive(t, ogg, 5) }()

	// A live Ogg/Opus source for 3 s, then garbage.
	enc := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "sine=f=880", "-c:a", "libopus", "-page_duration", "20000", "-f", "ogg", "-")
	media, err := enc.StdoutPipe()
	if err != nil || enc.Start() != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	defer enc.Wait()
	c := dialSource(t, e, "SOURCE", "/"+id+".opus", "bad", tok, "Content-Type: audio/ogg")
	buf := make([]byte, 4096)
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); {
		n, err := media.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.conn.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, _ := c.response(); code != 200 {
		t.Fatalf("good start: %d, want 200", code)
	}
	e.waitPlaying(id, tok, 3)
	if _, err := c.conn.Write([]byte(strings.Repeat("\x00garbage", 4096))); err != nil {
		t.Fatal(err)
	}
	// Closed (a reset, as the garbage is left unread), not timed out.
	var ne net.Error
	if n, err := io.Copy(io.Discard, c.br); n != 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("after garbage: read %d bytes, %v; want the server to close the connection", n, err)
	}
	pcm := <-listened
	assertTones(t, pcm, 440, 660)
	_, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil)
	for _, s := range sp["speakers"].([]any) {
		if s.(map[string]any)["name"] == "bad" {
			t.Errorf("the garbage source is still in the mix: %v", s)
		}
	}
	cancel()
	a.Wait()
	b.Wait()
}

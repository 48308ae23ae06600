package origin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
)

// sniffWait is how long an Icecast source client is given to send its first
// bytes before it is answered 200: ffmpeg streams right after 100 Continue,
// so its codec can still be refused with a 415; libshout and Liquidsoap wait
// for the 200, so theirs is checked after it (and a bad stream is dropped).
const sniffWait = time.Second

// source is an encoder's stream and the way to answer it: through the
// ResponseWriter for a framed body (chunked or sized), or on the hijacked
// connection for an Icecast source client's unframed one (SOURCE, or PUT
// with neither a length nor chunking: the body runs until the connection
// closes). There it answers as Icecast does: 100 Continue when asked, then
// 200 before the media flows, and nothing at the end.
type source struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	ctx      context.Context
	body     io.Reader
	conn     net.Conn // set once hijacked
	br       *bufio.Reader
	answered bool
}

func openSource(w http.ResponseWriter, r *http.Request) (*source, error) {
	rc := http.NewResponseController(w)
	src := &source{w: w, rc: rc, ctx: r.Context(), body: r.Body}
	if !unframed(r) {
		return src, nil
	}
	conn, brw, err := rc.Hijack()
	if err != nil {
		return nil, err
	}
	src.conn, src.br, src.body = conn, brw.Reader, brw.Reader
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		if _, err := io.WriteString(conn, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return src, nil
}

// unframed is a request whose body has no HTTP framing: Go's server sees it
// as empty, so it is read from the connection itself.
func unframed(r *http.Request) bool {
	return r.Method == "SOURCE" || (len(r.TransferEncoding) == 0 && r.Header.Get("Content-Length") == "")
}

// sniff waits up to sniffWait for the first bytes of a hijacked stream and
// answers 200 if none came, so clients that wait for it start sending.
func (s *source) sniff() {
	if s.conn == nil {
		return
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(sniffWait))
	_, err := s.br.Peek(1)
	_ = s.conn.SetReadDeadline(time.Time{})
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		s.accept()
	}
}

// accept tells an Icecast client the stream is taken. A framed request is
// answered once its body ends.
func (s *source) accept() {
	if s.conn == nil || s.answered {
		return
	}
	s.answered = true
	_, _ = io.WriteString(s.conn, "HTTP/1.0 200 OK\r\nServer: onair (Icecast 2 source protocol)\r\nCache-Control: no-cache\r\n\r\n")
}

// finish answers with a JSON body, unless the stream was already accepted
// (an Icecast client then only sees its connection close).
func (s *source) finish(status int, v any) {
	switch {
	case s.conn == nil:
		httpapi.WriteJSON(s.w, status, v)
	case !s.answered:
		s.answered = true
		body, _ := json.Marshal(v)
		_, _ = fmt.Fprintf(s.conn, "HTTP/1.0 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			status, http.StatusText(status), len(body), body)
	}
}

func (s *source) setDeadline(t time.Time) error {
	if s.conn != nil {
		return s.conn.SetReadDeadline(t)
	}
	return s.rc.SetReadDeadline(t)
}

func (s *source) close() {
	if s.conn != nil {
		s.conn.Close()
	}
}

// basicChallenge adds the Basic challenge to a 401, as Icecast does: a
// source client that got the password wrong says so instead of retrying
// blindly. Only ingest routes use it, so browsers never see the prompt.
type basicChallenge struct{ http.ResponseWriter }

func (b basicChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		b.Header().Set("WWW-Authenticate", `Basic realm="onair", charset="UTF-8"`)
	}
	b.ResponseWriter.WriteHeader(code)
}

// refusedType is the 415 reason for a Content-Type onair cannot decode,
// "" for one it takes or cannot tell from (the stream's bytes decide then:
// ffmpeg labels every Icecast stream audio/mpeg unless told otherwise).
func refusedType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	var what string
	switch mt {
	case "audio/aac", "audio/aacp", "audio/x-aac", "audio/mp4", "audio/x-m4a":
		what = "AAC"
	case "audio/flac", "audio/x-flac":
		what = "FLAC"
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		what = "WAV"
	case "audio/webm", "video/webm":
		what = "WebM"
	default:
		if !strings.HasPrefix(mt, "video/") {
			return ""
		}
		what = "video"
	}
	return fmt.Sprintf("Content-Type %s (%s) is not supported; send Ogg/Opus, Ogg/Vorbis or MP3", mt, what)
}

// handleMount is the Icecast mount-style path: /{id}.opus, /{id}.ogg,
// /{id}.mp3 (or /{id}) is the ingest of space id. The extension is only a
// label: the stream's bytes tell its codec.
func (s *Origin) handleMount(w http.ResponseWriter, r *http.Request) {
	mount := r.PathValue("mount")
	r.SetPathValue("id", strings.TrimSuffix(mount, path.Ext(mount)))
	s.handleIngest(w, r)
}

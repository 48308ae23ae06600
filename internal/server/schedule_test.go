package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/server"
)

// autoSpace creates a space that goes live by itself at `at`.
func (e *env) autoSpace(title string, at time.Time) (string, string) {
	e.t.Helper()
	code, sp := e.call("POST", e.host+"/api/v1/spaces", e.admin,
		map[string]any{"title": title, "starts_at": at.UTC().Format(time.RFC3339Nano), "auto_start": true})
	if code != http.StatusCreated || sp["auto_start"] != true {
		e.t.Fatalf("create auto-start space: %d %v", code, sp)
	}
	return sp["id"].(string), sp["host_token"].(string)
}

// waitStarted polls the host API until the space is live and returns its
// start delay in milliseconds as the API reports it.
func (e *env) waitStarted(id, tok string, d time.Duration) (float64, map[string]any) {
	e.t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		_, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil)
		if sp["state"] == "live" {
			return sp["start_delay_ms"].(float64), sp
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("space %s not live within %v: %v", id, d, sp)
		}
	}
}

// TestAutoStartAPI: with nobody pressing start, a space created with
// starts_at and auto_start goes live on time with its green room, and the
// host and public APIs both show the start delay.
func TestAutoStartAPI(t *testing.T) {
	e := startServer(t)
	if code, body := e.call("POST", e.host+"/api/v1/spaces", e.admin, map[string]any{"title": "x", "auto_start": true}); code != 400 || body["code"] != "bad_schedule" {
		t.Fatalf("auto_start without starts_at: %d %v", code, body)
	}
	at := time.Now().Add(1500 * time.Millisecond)
	id, tok := e.autoSpace("on its own", at)
	synthSpeaker(t, e, id)
	delay, sp := e.waitStarted(id, tok, 5*time.Second)
	t.Logf("auto-start delay %.0f ms (started_by %v)", delay, sp["started_by"])
	if delay < 0 || delay > 100 || sp["started_by"] != "schedule" {
		t.Fatalf("auto-start: %v", sp)
	}
	if speakers := sp["speakers"].([]any); len(speakers) != 1 {
		t.Fatalf("the green room did not go live: %v", speakers)
	}
	_, pub := e.call("GET", e.pub+"/api/v1/spaces/"+id, "", nil)
	if pub["start_delay_ms"] != delay || pub["auto_start"] != true {
		t.Fatalf("public view: %v", pub)
	}
}

// TestAutoStartAfterRestart: the node is down when the show falls due; the
// next start of onair on the same data dir takes it live at once and says
// how late.
func TestAutoStartAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := startServerWith(t, func(c *server.Config) { c.Gate, c.DataDir = roomyGate, dir })
	due := time.Now().Add(500 * time.Millisecond)
	id, tok := e.autoSpace("while down", due)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(due) + 700*time.Millisecond)
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", HostListen: "127.0.0.1:0", DataDir: dir,
		Gate: roomyGate, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	srv.Serve()
	defer srv.Shutdown(context.Background())
	e.srv, e.host, e.pub = srv, srv.HostURL(), srv.PublicURL()
	delay, sp := e.waitStarted(id, tok, 3*time.Second)
	late := float64(back.Sub(due).Milliseconds())
	t.Logf("started %.0f ms late (down %.0f ms past due)", delay, late)
	if delay < late || delay > late+100 || sp["started_by"] != "schedule" {
		t.Fatalf("late start: %v", sp)
	}
}

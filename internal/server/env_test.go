package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/server"
)

// env is a real server on loopback ports with its admin key.
type env struct {
	t     *testing.T
	srv   *server.Server
	admin string
	pub   string // public base URL
	host  string // host base URL
	data  string
}

func startServer(t *testing.T) *env {
	t.Helper()
	return startServerWith(t, func(c *server.Config) { c.Gate = roomyGate })
}

// roomyGate is a gate that never stands in a functional test's way: one
// test client makes more requests per second than any listener would.
var roomyGate = gate.Config{JoinRate: 1e4, JoinPrefixRate: 1e5, MediaRate: 1e4, MediaPrefixRate: 1e5,
	PageRate: 1e4, PagePrefixRate: 1e5, Conns: gate.ConnLimits{PerIP: 1e5, PerPrefix: 1e5, Rate: 1e5, Burst: 1e5},
	Admit: gate.AdmitConfig{StartRate: 1e5, MaxRate: 1e5, MinRate: 1e5}, Mode: gate.Normal}

// startServerWith starts a server whose config tune adjusts.
func startServerWith(t *testing.T, tune func(*server.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	cfg := server.Config{Listen: "127.0.0.1:0", HostListen: "127.0.0.1:0", DataDir: dir,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
	tune(&cfg)
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	e := &env{t: t, srv: srv, admin: srv.GeneratedAdminKey, pub: srv.PublicURL(), host: srv.HostURL(), data: dir}
	if e.admin == "" {
		t.Fatal("no admin key generated on first start")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return e
}

// call sends a JSON request and decodes the JSON answer.
func (e *env) call(method, url, token string, body any) (int, map[string]any) {
	e.t.Helper()
	code, out, _ := e.callWith(http.DefaultClient, method, url, token, body)
	return code, out
}

// callWith is call through client c (a listener's cookie jar), with the
// answer's headers.
func (e *env) callWith(c *http.Client, method, url, token string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, resp.Header
}

// space creates a space and returns its id and host token.
func (e *env) space(title string) (string, string) {
	e.t.Helper()
	code, sp := e.call("POST", e.host+"/api/v1/spaces", e.admin, map[string]any{"title": title})
	if code != http.StatusCreated {
		e.t.Fatalf("create space: %d %v", code, sp)
	}
	return sp["id"].(string), sp["host_token"].(string)
}

func (e *env) transition(id, token, verb string) map[string]any {
	e.t.Helper()
	code, sp := e.call("POST", e.host+"/api/v1/spaces/"+id+"/"+verb, token, nil)
	if code != http.StatusOK {
		e.t.Fatalf("%s: %d %v", verb, code, sp)
	}
	return sp
}

func (e *env) join(id string) map[string]any {
	e.t.Helper()
	code, j := e.call("POST", e.pub+"/api/v1/spaces/"+id+"/join", "", nil)
	if code != http.StatusOK {
		e.t.Fatalf("join: %d %v", code, j)
	}
	return j
}

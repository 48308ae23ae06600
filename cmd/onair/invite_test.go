package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestInvite: `onair space invite` prints a studio link whose token is a
// speaker's: it sees the stage, and `onair space start` with it is refused
// with the reason.
func TestInvite(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	sp := s.createSpace(t, "Invites")
	out := mustCLI(t, cleanEnv(), "space", "invite", sp.id, "--role", "speaker", "--name", "alice",
		"--token", sp.token, "--server", s.host)
	m := regexp.MustCompile(`studio link: (\S+/studio/` + sp.id + `#token=(\w+))`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Invited alice as speaker") {
		t.Fatalf("space invite printed:\n%s", out)
	}
	req, _ := http.NewRequest("GET", s.host+"/api/v1/spaces/"+sp.id, nil)
	req.Header.Set("Authorization", "Bearer "+m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Role string }
	_ = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if resp.StatusCode != 200 || v.Role != "speaker" {
		t.Fatalf("the invite token sees the space: %d role %q", resp.StatusCode, v.Role)
	}
	_, errs, code := cli(t, cleanEnv(), "space", "start", sp.id, "--token", m[2], "--server", s.host)
	if code != 1 || !strings.Contains(errs, "403") || !strings.Contains(errs, "a speaker token cannot start the show") {
		t.Fatalf("start with a speaker token: exit %d, %q", code, errs)
	}
	// Co-hosts go live; a second invite under the same name is refused.
	out = mustCLI(t, cleanEnv(), "space", "invite", sp.id, "--role", "cohost", "--name", "bo", "--token", sp.token, "--server", s.host)
	co := regexp.MustCompile(`#token=(\w+)`).FindStringSubmatch(out)
	mustCLI(t, cleanEnv(), "space", "start", sp.id, "--token", co[1], "--server", s.host)
	if _, errs, code := cli(t, cleanEnv(), "space", "invite", sp.id, "--name", "alice", "--token", co[1], "--server", s.host); code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("a second alice: exit %d, %q", code, errs)
	}
}

package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/synth"
)

// invite makes an invite of role called name and returns its id and token.
func (e *env) invite(id, tok, role, name string) (string, string) {
	e.t.Helper()
	code, inv := e.call("POST", e.host+"/api/v1/spaces/"+id+"/invites", tok, map[string]any{"role": role, "name": name})
	if code != http.StatusCreated {
		e.t.Fatalf("invite %s %s: %d %v", role, name, code, inv)
	}
	if !strings.HasPrefix(inv["studio"].(string), e.host+"/studio/"+id+"#token=") {
		e.t.Fatalf("invite studio link %v", inv["studio"])
	}
	return inv["id"].(string), inv["token"].(string)
}

// seat puts name on stage with tok through an ingest PUT that sends the
// Ogg/Opus headers and then stays open (an encoder that has not sent its
// first audio page yet) until the test ends.
func (e *env) seat(id, tok, name string) {
	e.t.Helper()
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write(ogg.NewPager(7, 5, 1).Headers()) }()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "PUT", e.host+"/ingest/"+id+"?speaker="+name, pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	e.t.Cleanup(func() { pw.Close(); cancel(); <-done })
	e.waitSpeaker(id, name, true, 5*time.Second)
}

// refusedSeat tries to come on stage as name with tok, sending a short
// Ogg/Opus stream, and returns the answer.
func (e *env) refusedSeat(id, tok, name string) (int, map[string]any) {
	e.t.Helper()
	pg := ogg.NewPager(7, 5, 1)
	body := pg.Headers()
	pkts, err := synth.Packets(&synth.Tone{Freq: 440, Amp: 0.3}, 10)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, p := range pkts {
		if page, ok := pg.Push(program.Frame{Seq: uint64(i), PTS: uint64(i) * program.FrameSamples, Packet: p}); ok {
			body = append(body, page.Data...)
		}
	}
	code, out, _ := e.callWith(http.DefaultClient, "PUT", e.host+"/ingest/"+id+"?speaker="+name, tok, body)
	return code, out
}

// waitSpeaker waits until name is on stage (or, with on false, gone) and
// returns how long that took.
func (e *env) waitSpeaker(id, name string, on bool, d time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	for {
		_, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, e.admin, nil)
		found := false
		speakers, _ := sp["speakers"].([]any)
		for _, s := range speakers {
			found = found || s.(map[string]any)["name"] == name
		}
		if found == on {
			return time.Since(start)
		}
		if time.Since(start) > d {
			e.t.Fatalf("speaker %q on stage=%v not within %v: %v", name, on, d, speakers)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRolesAllowedAndRefused runs every action of the stage API with every
// kind of token, each on a fresh space: what the role allows answers 2xx,
// the rest 401 or 403 with a reason.
func TestRolesAllowedAndRefused(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	_, otherHost := e.space("another show")
	type tokens struct{ id, host, cohost, speaker, revoked, ticket, spare string }
	fresh := func() tokens {
		id, host := e.space("roles")
		var k tokens
		k.id, k.host = id, host
		_, k.cohost = e.invite(id, host, "cohost", "co")
		_, k.speaker = e.invite(id, host, "speaker", "guest")
		rid, rtok := e.invite(id, host, "speaker", "gone")
		k.revoked = rtok
		if code, body := e.call("DELETE", e.host+"/api/v1/spaces/"+id+"/invites/"+rid, host, nil); code != 200 {
			t.Fatalf("revoke: %d %v", code, body)
		}
		k.spare, _ = e.invite(id, host, "speaker", "spare")
		k.ticket = e.join(id)["ticket"].(string)
		return k
	}
	type action struct {
		name  string
		setup func(k tokens) // seats who the action acts on
		do    func(k tokens, tok string) (int, map[string]any)
	}
	api := func(k tokens, method, path string, body any, tok string) (int, map[string]any) {
		return e.call(method, e.host+"/api/v1/spaces/"+k.id+path, tok, body)
	}
	none := func(tokens) {}
	actions := []action{
		{"see the stage", none, func(k tokens, tok string) (int, map[string]any) { return api(k, "GET", "", nil, tok) }},
		{"start", none, func(k tokens, tok string) (int, map[string]any) { return api(k, "POST", "/start", nil, tok) }},
		{"end", none, func(k tokens, tok string) (int, map[string]any) { return api(k, "POST", "/end", nil, tok) }},
		{"invite", none, func(k tokens, tok string) (int, map[string]any) {
			return api(k, "POST", "/invites", map[string]any{"role": "speaker", "name": "new"}, tok)
		}},
		{"list invites", none, func(k tokens, tok string) (int, map[string]any) { return api(k, "GET", "/invites", nil, tok) }},
		{"revoke", none, func(k tokens, tok string) (int, map[string]any) {
			return api(k, "DELETE", "/invites/"+k.spare, nil, tok)
		}},
		{"mute", func(k tokens) { e.seat(k.id, k.speaker, "guest") }, func(k tokens, tok string) (int, map[string]any) {
			return api(k, "POST", "/speakers/guest/mute", map[string]any{"muted": true}, tok)
		}},
		{"remove a speaker", func(k tokens) { e.seat(k.id, k.speaker, "guest") }, func(k tokens, tok string) (int, map[string]any) {
			return api(k, "DELETE", "/speakers/guest", nil, tok)
		}},
		{"remove the host", func(k tokens) { e.seat(k.id, k.host, "boss") }, func(k tokens, tok string) (int, map[string]any) {
			return api(k, "DELETE", "/speakers/boss", nil, tok)
		}},
	}
	// want[role] per action, in the order above.
	wants := map[string][]int{
		"host":        {200, 200, 200, 201, 200, 200, 200, 200, 200},
		"cohost":      {200, 200, 200, 201, 200, 200, 200, 200, 403},
		"speaker":     {200, 403, 403, 403, 403, 403, 403, 403, 403},
		"revoked":     {401, 401, 401, 401, 401, 401, 401, 401, 401},
		"other space": {403, 403, 403, 403, 403, 403, 403, 403, 403},
		"ticket":      {403, 403, 403, 403, 403, 403, 403, 403, 403},
		"no token":    {401, 401, 401, 401, 401, 401, 401, 401, 401},
	}
	pick := map[string]func(k tokens) string{
		"host": func(k tokens) string { return k.host }, "cohost": func(k tokens) string { return k.cohost },
		"speaker": func(k tokens) string { return k.speaker }, "revoked": func(k tokens) string { return k.revoked },
		"other space": func(tokens) string { return otherHost }, "ticket": func(k tokens) string { return k.ticket },
		"no token": func(tokens) string { return "" },
	}
	for role, want := range wants {
		for i, a := range actions {
			k := fresh()
			a.setup(k)
			code, body := a.do(k, pick[role](k))
			if code != want[i] {
				t.Errorf("%s: %s: %d %v, want %d", role, a.name, code, body, want[i])
				continue
			}
			if code >= 400 && (body["code"] == "" || body["error"] == "") {
				t.Errorf("%s: %s: %d without a reason: %v", role, a.name, code, body)
			}
		}
	}
}

// TestRoleRefusalsSayWhy checks the words of the refusals people meet, and
// that a speaker token speaks only under its own name.
func TestRoleRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	id, host := e.space("reasons")
	cid, co := e.invite(id, host, "cohost", "co")
	_, spk := e.invite(id, host, "speaker", "guest")
	for _, c := range []struct {
		method, path, tok string
		body              any
		status            int
		code, words       string
	}{
		{"POST", "/api/v1/spaces/" + id + "/end", spk, nil, 403, "wrong_role", "a speaker token cannot end the show"},
		{"POST", "/api/v1/spaces/" + id + "/invites", spk, map[string]any{"role": "speaker", "name": "x"}, 403, "wrong_role", "cannot invite"},
		{"POST", "/api/v1/spaces/" + id + "/invites", host, map[string]any{"role": "host", "name": "x"}, 400, "bad_role", "role"},
		{"POST", "/api/v1/spaces/" + id + "/invites", host, map[string]any{"role": "speaker", "name": "<script>"}, 400, "bad_name", "name"},
		{"POST", "/api/v1/spaces/" + id + "/invites", host, map[string]any{"role": "speaker", "name": strings.Repeat("a", 65)}, 400, "bad_name", "name"},
		{"POST", "/api/v1/spaces/" + id + "/invites", host, map[string]any{"role": "speaker", "name": "guest"}, 409, "name_taken", "name"},
		{"DELETE", "/api/v1/spaces/" + id + "/invites/nope", host, nil, 404, "unknown_invite", "no invite"},
		{"PUT", "/ingest/" + id + "?speaker=host", spk, nil, 403, "wrong_name", `speaks as "guest"`},
		{"POST", "/api/v1/spaces", co, map[string]any{"title": "x"}, 403, "wrong_role", "admin key"},
	} {
		code, body := e.call(c.method, e.host+c.path, c.tok, c.body)
		if code != c.status || body["code"] != c.code || !strings.Contains(body["error"].(string), c.words) {
			t.Errorf("%s %s: %d %v, want %d %s %q", c.method, c.path, code, body, c.status, c.code, c.words)
		}
	}
	// A speaker cannot take the host's place by name on stage.
	e.seat(id, host, "boss")
	_, boss := e.invite(id, host, "speaker", "boss")
	if code, body := e.refusedSeat(id, boss, "boss"); code != 403 || body["code"] != "seat_taken" {
		t.Fatalf("a speaker taking the host's seat by name: %d %v", code, body)
	}
	_, list := e.call("GET", e.host+"/api/v1/spaces/"+id+"/invites", co, nil)
	invs := list["invites"].([]any)
	if len(invs) != 3 || invs[0].(map[string]any)["id"] != cid || invs[0].(map[string]any)["role"] != "cohost" {
		t.Fatalf("invites listed: %v", invs)
	}
	for _, inv := range invs {
		if _, leak := inv.(map[string]any)["token"]; leak {
			t.Fatalf("the list shows a token: %v", inv)
		}
	}
}

// TestRevokeCutsSpeakersOff: an ffmpeg speaker and a WHIP speaker, each on
// stage with its own speaker token, are off the stage within a second of
// their invites being revoked (ffmpeg's upload ends too), and their tokens
// answer 401 from then on. A co-host's revocation works the same.
func TestRevokeCutsSpeakersOff(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, host := e.space("revocation")
	_, co := e.invite(id, host, "cohost", "co")
	ffID, ffTok := e.invite(id, host, "speaker", "alice")
	rtcID, rtcTok := e.invite(id, host, "speaker", "bob")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ff := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=alice", 440, "Authorization: Bearer "+ffTok, 20000)
	exited := make(chan time.Time, 1)
	go func() { _ = ff.Wait(); exited <- time.Now() }()
	whipSpeaker(t, ctx, e, id, rtcTok, "bob", 660)
	e.waitPlaying(id, host, 2)
	e.transition(id, co, "start")

	revoke := func(inv string) time.Time {
		t.Helper()
		at := time.Now()
		if code, body := e.call("DELETE", e.host+"/api/v1/spaces/"+id+"/invites/"+inv, co, nil); code != 200 || body["cut"] != 1.0 {
			t.Fatalf("revoke: %d %v", code, body)
		}
		return at
	}
	at := revoke(ffID)
	gone := e.waitSpeaker(id, "alice", false, time.Second)
	select {
	case end := <-exited:
		t.Logf("ffmpeg speaker off the stage %v after the revocation, its upload ended after %v",
			gone.Round(time.Millisecond), end.Sub(at).Round(time.Millisecond))
	case <-time.After(time.Second - time.Since(at)):
		t.Fatalf("ffmpeg still uploading 1 s after its token was revoked")
	}
	sessions := e.srv.RTCSessions()
	at = revoke(rtcID)
	gone = e.waitSpeaker(id, "bob", false, time.Second)
	for e.srv.RTCSessions() >= sessions {
		if time.Since(at) > time.Second {
			t.Fatalf("the WHIP session is still open 1 s after its token was revoked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("WHIP speaker off the stage %v after the revocation, session closed after %v",
		gone.Round(time.Millisecond), time.Since(at).Round(time.Millisecond))
	for _, tok := range []string{ffTok, rtcTok} {
		if code, body := e.call("PUT", e.host+"/ingest/"+id, tok, nil); code != 401 || body["code"] != "revoked" {
			t.Fatalf("a revoked token speaking: %d %v", code, body)
		}
	}
}

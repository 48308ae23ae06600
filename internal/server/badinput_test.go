package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/ticket"
)

func TestStatusCodes(t *testing.T) {
	e := startServer(t)
	id, tok := e.space("codes")
	other, otherTok := e.space("other")
	j := e.join(id)
	tkt := j["ticket"].(string)

	forged, _, _ := ticket.NewKeyring(ticket.NewKey(1)).Issue(id, time.Hour, time.Now())
	otherTicket := e.join(other)["ticket"].(string)
	big := `{"title":"` + strings.Repeat("x", 100<<10) + `"}`

	cases := []struct {
		name, method, url, token string
		body                     any
		want                     int
	}{
		{"create without token", "POST", e.host + "/api/v1/spaces", "", map[string]any{"title": "x"}, 401},
		{"create with wrong token", "POST", e.host + "/api/v1/spaces", "nope", map[string]any{"title": "x"}, 401},
		{"create with a host token", "POST", e.host + "/api/v1/spaces", tok, map[string]any{"title": "x"}, 403},
		{"create with empty title", "POST", e.host + "/api/v1/spaces", e.admin, map[string]any{"title": " "}, 400},
		{"create with unknown field", "POST", e.host + "/api/v1/spaces", e.admin, map[string]any{"title": "x", "tilte": 1}, 400},
		{"create with bad JSON", "POST", e.host + "/api/v1/spaces", e.admin, []byte("{"), 400},
		{"create oversized JSON", "POST", e.host + "/api/v1/spaces", e.admin, []byte(big), 413},
		{"list as host", "GET", e.host + "/api/v1/spaces", tok, nil, 403},
		{"start unknown space", "POST", e.host + "/api/v1/spaces/nosuch/start", e.admin, nil, 404},
		{"start without token", "POST", e.host + "/api/v1/spaces/" + id + "/start", "", nil, 401},
		{"start with wrong token", "POST", e.host + "/api/v1/spaces/" + id + "/start", "nope", nil, 401},
		{"start with other space's token", "POST", e.host + "/api/v1/spaces/" + id + "/start", otherTok, nil, 403},
		{"start with a listener ticket", "POST", e.host + "/api/v1/spaces/" + id + "/start", tkt, nil, 403},
		{"ingest unknown space", "PUT", e.host + "/ingest/nosuch?speaker=a", e.admin, []byte("x"), 404},
		{"ingest without token", "PUT", e.host + "/ingest/" + id + "?speaker=a", "", []byte("x"), 401},
		{"ingest bad speaker name", "PUT", e.host + "/ingest/" + id + "?speaker=%3Cscript%3E", tok, []byte("x"), 400},
		{"join unknown space", "POST", e.pub + "/api/v1/spaces/nosuch/join", "", nil, 404},
		{"live unknown space", "GET", e.pub + "/live/nosuch.opus?t=" + tkt, "", nil, 403},
		{"live without ticket", "GET", e.pub + "/live/" + id + ".opus", "", nil, 401},
		{"live forged ticket", "GET", e.pub + "/live/" + id + ".opus?t=" + forged, "", nil, 403},
		{"live other space's ticket", "GET", e.pub + "/live/" + id + ".opus?t=" + otherTicket, "", nil, 403},
		{"live garbage ticket", "GET", e.pub + "/live/" + id + ".opus?t=%00%01", "", nil, 403},
		{"replay unknown space", "GET", e.pub + "/replay/nosuch.opus", "", nil, 404},
		{"replay before the end", "GET", e.pub + "/replay/" + id + ".opus", "", nil, 409},
		{"host API is not on the public port", "POST", e.pub + "/api/v1/spaces", e.admin, map[string]any{"title": "x"}, 404},
		{"ingest is not on the public port", "PUT", e.pub + "/ingest/" + id + "?speaker=a", tok, []byte("x"), 404},
		{"unknown path", "GET", e.pub + "/nope", "", nil, 404},
	}
	for _, c := range cases {
		if code, body := e.call(c.method, c.url, c.token, c.body); code != c.want {
			t.Errorf("%s: got %d %v, want %d", c.name, code, body, c.want)
		} else if body["error"] == nil || body["error"] == "" {
			t.Errorf("%s: %d without an error message", c.name, code)
		}
	}
}

func TestExpiredTicket(t *testing.T) {
	e := startServer(t)
	id, _ := e.space("expiry")
	tok, _, _ := e.srv.Keys().Issue(id, -time.Second, time.Now())
	if code, body := e.call("GET", e.pub+"/live/"+id+".opus?t="+tok, "", nil); code != 403 || !strings.Contains(body["error"].(string), "expired") {
		t.Fatalf("expired ticket: %d %v", code, body)
	}
}

// TestBadIngestLeavesShowRunning sends garbage and a non-Opus Ogg stream as
// speakers of a live space: each gets 400 with a reason while the program
// and the recording carry on.
func TestBadIngestLeavesShowRunning(t *testing.T) {
	e := startServer(t)
	id, tok := e.space("bad ingest")
	e.transition(id, tok, "start")
	resp, err := http.Get(e.join(id)["ogg"].(string))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("listen: %v %v", err, resp)
	}
	defer resp.Body.Close()

	vorbis := ogg.BuildPage(ogg.FlagBOS, 0, 1, 0, [][]byte{[]byte("\x01vorbis\x00\x00\x00\x00\x01\x80\xbb\x00\x00")})
	bodies := map[string][]byte{
		"garbage": []byte(strings.Repeat("garbage!", 100)),
		"empty":   {},
		"vorbis":  vorbis,
		"opus head only": append(ogg.BuildPage(ogg.FlagBOS, 0, 1, 0, [][]byte{ogg.OpusHeadPacket(1, 312, 48000)}),
			ogg.BuildPage(0, 0, 1, 1, [][]byte{[]byte("not tags")})...),
	}
	for name, body := range bodies {
		req, _ := http.NewRequest("PUT", e.host+"/ingest/"+id+"?speaker="+strings.ReplaceAll(name, " ", "_"), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 400 || !strings.Contains(string(msg), "error") {
			t.Errorf("%s: %d %s, want 400 with a reason", name, r.StatusCode, msg)
		}
	}
	// The listener still receives the program after all that: a valid stream
	// with a packet every 20 ms.
	rd := ogg.NewReader(resp.Body)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 2+100; i++ {
			if _, err := rd.NextPacket(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listener stream broken after bad ingest: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("listener got fewer than 100 packets in 5 s after bad ingest")
	}
}

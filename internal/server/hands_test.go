package server_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/onair-live/onair/internal/server"
)

// listenerClient is one listener: its own cookie jar, joined to the space.
func (e *env) listenerClient(id string) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(e.pub+"/api/v1/spaces/"+id+"/join", "application/json", nil)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("join: %v %v", err, resp)
	}
	resp.Body.Close()
	return c
}

// raise raises a hand as the listener c and returns the status and answer.
func (e *env) raise(c *http.Client, id, name string) (int, map[string]any) {
	e.t.Helper()
	code, body, _ := e.callWith(c, "POST", e.pub+"/api/v1/spaces/"+id+"/hands", "", map[string]any{"name": name})
	return code, body
}

// TestRaisedHands: listeners raise hands with a ticket and a valid name,
// at most once per 10 s and at most 100 waiting per space; hosts list,
// accept (the listener's page gets a speaker link that speaks under their
// name) and dismiss them; speakers cannot.
func TestRaisedHands(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	id, host := e.space("Hands")
	_, spk := e.invite(id, host, "speaker", "guest")
	e.transition(id, host, "start")

	if code, body := e.raise(http.DefaultClient, id, "x"); code != 401 {
		t.Fatalf("a hand without a ticket: %d %v", code, body)
	}
	ann := e.listenerClient(id)
	for _, bad := range []string{"", "<img src=x>", strings.Repeat("a", 65), "a\nb"} {
		if code, body := e.raise(ann, id, bad); code != 400 || body["code"] != "bad_name" {
			t.Fatalf("name %q: %d %v", bad, code, body)
		}
	}
	code, mine := e.raise(ann, id, "Ann")
	if code != 201 || mine["status"] != "waiting" || mine["key"] == "" {
		t.Fatalf("raise: %d %v", code, mine)
	}
	if code, body := e.raise(ann, id, "Ann"); code != 429 || body["code"] != "too_soon" {
		t.Fatalf("raising again at once: %d %v", code, body)
	}
	if code, body := e.call("GET", e.host+"/api/v1/spaces/"+id+"/hands", spk, nil); code != 403 {
		t.Fatalf("a speaker listing hands: %d %v", code, body)
	}
	_, list := e.call("GET", e.host+"/api/v1/spaces/"+id+"/hands", host, nil)
	hands := list["hands"].([]any)
	if len(hands) != 1 || hands[0].(map[string]any)["name"] != "Ann" || hands[0].(map[string]any)["key"] != nil {
		t.Fatalf("hosts see %v", hands)
	}
	if _, doc := e.call("GET", e.pub+"/stage/"+id+".json", "", nil); doc["hands"] != 1.0 {
		t.Fatalf("stage document hands: %v", doc["hands"])
	}
	ref := mine["id"].(string)
	if code, _ := e.call("POST", e.host+"/api/v1/spaces/"+id+"/hands/"+ref+"/accept", spk, nil); code != 403 {
		t.Fatalf("a speaker accepting: %d", code)
	}
	if code, body := e.call("POST", e.host+"/api/v1/spaces/"+id+"/hands/"+ref+"/accept", host, nil); code != 200 || body["status"] != "accepted" {
		t.Fatalf("accept: %d %v", code, body)
	}
	if code, _ := e.call("POST", e.host+"/api/v1/spaces/"+id+"/hands/"+ref+"/dismiss", host, nil); code != 404 {
		t.Fatalf("answering twice: %d", code)
	}
	_, answer := e.call("GET", e.pub+"/api/v1/spaces/"+id+"/hands/"+mine["key"].(string), "", nil)
	link, _ := answer["studio"].(string)
	tok, ok := strings.CutPrefix(link, e.host+"/studio/"+id+"#token=")
	if answer["status"] != "accepted" || !ok {
		t.Fatalf("the listener's answer: %v", answer)
	}
	if _, sp := e.call("GET", e.host+"/api/v1/spaces/"+id, tok, nil); sp["role"] != "speaker" || sp["speak_as"] != "Ann" {
		t.Fatalf("the accepted listener's token: %v", sp)
	}

	// Dismissed: the page learns it; nothing is made.
	bob := e.listenerClient(id)
	_, hb := e.raise(bob, id, "Bob")
	if code, _ := e.call("POST", e.host+"/api/v1/spaces/"+id+"/hands/"+hb["id"].(string)+"/dismiss", host, nil); code != 200 {
		t.Fatalf("dismiss: %d", code)
	}
	if _, a := e.call("GET", e.pub+"/api/v1/spaces/"+id+"/hands/"+hb["key"].(string), "", nil); a["status"] != "dismissed" || a["studio"] != nil {
		t.Fatalf("dismissed answer: %v", a)
	}

	// A flood: at most 100 wait; the hosts' list stays that size.
	full := 0
	for i := range 105 {
		code, body := e.raise(e.listenerClient(id), id, "flood "+string(rune('a'+i%26)))
		if code == 429 && body["code"] == "hands_full" {
			full++
		}
	}
	_, list = e.call("GET", e.host+"/api/v1/spaces/"+id+"/hands", host, nil)
	if n := len(list["hands"].([]any)); n != 100 || full != 5 {
		t.Fatalf("after 105 raises: %d waiting, %d refused as full", n, full)
	}
}

// TestRaisedHandsSpendTheJoinBudget: raising hands goes through the gate
// like a join: from one address, joins and hands together get the join
// budget's burst of 10, then 429 from the gate.
func TestRaisedHandsSpendTheJoinBudget(t *testing.T) {
	t.Parallel()
	e := startServerWith(t, func(c *server.Config) {
		c.Gate = roomyGate
		c.Gate.JoinRate = 1 // bursts of 10
	})
	id, host := e.space("budget")
	e.transition(id, host, "start")
	ann := e.listenerClient(id) // one join
	gated := 0
	for range 12 {
		code, body := e.raise(ann, id, "Ann")
		if code == 429 && body["code"] != "too_soon" {
			gated++
		}
	}
	if gated != 3 {
		t.Fatalf("1 join + 12 hands from one address: %d refused by the gate, want 3", gated)
	}
}

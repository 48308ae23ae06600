package gate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTokenKeySharedAcrossEdges: gates built with one cluster token key
// accept each other's queue tokens and challenges, and a gate restarted
// with it accepts its predecessor's; another key, no key, or an expired
// token are refused; a short key is a clear error.
func TestTokenKeySharedAcrossEdges(t *testing.T) {
	key := []byte("a cluster secret of 32 bytes....")
	a := New(Config{TokenKey: key, PoWBase: 8}, nil)
	b := New(Config{TokenKey: key, PoWBase: 8}, nil)
	restarted := New(Config{TokenKey: key, PoWBase: 8}, nil)
	other := New(Config{TokenKey: []byte("another cluster's secret........"), PoWBase: 8}, nil)
	lone := New(Config{PoWBase: 8}, nil)
	now := time.Now()
	tok := a.sign.seal(kindQueue, "sp", 7, unixMilli(now.Add(queueTTL)))
	expired := a.sign.seal(kindQueue, "sp", 7, unixMilli(now.Add(-time.Second)))
	join := func(g *Gate, tok string) (uint64, bool) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Onair-Queue", tok)
		return g.queued(r, "sp", now)
	}
	for name, g := range map[string]*Gate{"another edge": b, "a restarted edge": restarted} {
		if n, ok := join(g, tok); !ok || n != 7 {
			t.Errorf("%s refused a queue token of the cluster (%d, %v)", name, n, ok)
		}
		ch := a.newChallenge("sp", 8, now)
		if !g.checkSolution("sp", ch.Token, Solve(ch.Token, 8), now) {
			t.Errorf("%s refused a challenge of the cluster", name)
		}
	}
	for name, g := range map[string]*Gate{"another cluster": other, "a lone node": lone} {
		if _, ok := join(g, tok); ok {
			t.Errorf("%s accepted the cluster's queue token", name)
		}
	}
	if _, ok := join(b, expired); ok {
		t.Error("an expired queue token was accepted")
	}
	if err := CheckTokenKey([]byte("short")); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("a 5-byte key: %v", err)
	}
	if CheckTokenKey(nil) != nil || CheckTokenKey(key) != nil {
		t.Error("a good key or none refused")
	}
}

// TestChallengeAcrossEdges: a challenge one edge gave, solved, is spent at
// the edge it is used at (once there); it never spends another edge's own
// challenges, whose ids are apart.
func TestChallengeAcrossEdges(t *testing.T) {
	key := []byte("a cluster secret of 32 bytes....")
	a := New(Config{TokenKey: key, PoWBase: 8}, nil)
	b := New(Config{TokenKey: key, PoWBase: 8}, nil)
	now := time.Now()
	fromA := a.newChallenge("sp", 8, now)
	sol := Solve(fromA.Token, 8)
	if !b.checkSolution("sp", fromA.Token, sol, now) || b.checkSolution("sp", fromA.Token, sol, now) {
		t.Fatal("edge A's solved challenge at edge B: want accepted once")
	}
	own := b.newChallenge("sp", 8, now)
	if !b.checkSolution("sp", own.Token, Solve(own.Token, 8), now) {
		t.Fatal("edge B's own first challenge refused after A's was spent at B")
	}
}

// lostLine is a line whose every place goes stale as soon as it is drawn:
// a shared line whose keeper is lost between a draw and a check.
type lostLine struct{ Line }

func (lostLine) Join(string, time.Time) Ticket { return Ticket{Number: 7, Position: 1, ETA: 0.01} }

func (lostLine) Check(_ string, n uint64, _ time.Time) Ticket { return Ticket{Number: n, Stale: true} }

// TestStalePlaceIsNotAdmission: a join held for a short wait whose place
// goes stale meanwhile is answered with its place, not let in; coming back
// with it, it draws again, spending it.
func TestStalePlaceIsNotAdmission(t *testing.T) {
	g := New(Config{Line: lostLine{LocalLine(NewAdmission(AdmitConfig{}, time.Now()))}, Mode: Normal}, nil)
	w := httptest.NewRecorder()
	if g.Admit(w, httptest.NewRequest(http.MethodPost, "/", nil), "sp") || w.Code != http.StatusAccepted {
		t.Fatalf("a place that went stale: admitted, or answered %d", w.Code)
	}
	tok := w.Result().Header.Get("Set-Cookie")
	tok = strings.TrimPrefix(strings.Split(tok, ";")[0], QueueCookie("sp")+"=")
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Onair-Queue", tok)
	w = httptest.NewRecorder()
	if g.Admit(w, r, "sp") || w.Code != http.StatusAccepted {
		t.Fatalf("back with the stale place: admitted, or %d", w.Code)
	}
	if g.spend(7, time.Now()) {
		t.Fatal("the stale place was drawn again without being spent")
	}
}

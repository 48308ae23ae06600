package gate

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzJoinRequest sends joins whose proof of work, queue token and query
// string are anything a client may put there, to a gate under attack: none
// gets in without a place in line or a solved challenge that the gate
// signed (HMAC: no input can forge one), and the rest are answered with
// the challenge or a place in line.
func FuzzJoinRequest(f *testing.F) {
	g := New(Config{Mode: UnderAttack, PoWBase: 8}, nil)
	ch := g.newChallenge("sp", 8, time.Now())
	q := g.sign.seal(kindQueue, "sp", 1, unixMilli(time.Now().Add(time.Hour)))
	f.Add(ch.Token+":123", q, "pow="+ch.Token+":1&q="+q)
	f.Add(":", "", "")
	f.Add(strings.Repeat("A", 5000)+":x", "AQ", "pow=%zz")
	f.Fuzz(func(t *testing.T, pow, queue, query string) {
		r := httptest.NewRequest("POST", "/api/v1/spaces/sp/join", nil)
		r.URL.RawQuery = query
		if pow != "" && validHeader(pow) {
			r.Header.Set("Onair-PoW", pow)
		}
		if queue != "" && validHeader(queue) {
			r.Header.Set("Onair-Queue", queue)
		}
		w := httptest.NewRecorder()
		if g.Admit(w, r, "sp") {
			// Only a place in line the gate gave (after a proof), or a real
			// solution to a challenge it signed, may pass.
			if _, queued := g.queued(r, "sp", time.Now()); queued {
				return
			}
			c, n := powParam(r)
			if _, err := g.sign.open(c, kindChallenge, "sp", 3); err != nil || LeadingZeroBits(c, n) < 8 {
				t.Fatalf("admitted under attack with pow %q queue %q query %q", pow, queue, query)
			}
			return
		}
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusAccepted {
			t.Fatalf("join answered %d", w.Code)
		}
	})
}

// validHeader is what net/http would let a client send as a header value.
func validHeader(v string) bool {
	return !strings.ContainsAny(v, "\r\n\x00") && strings.TrimSpace(v) == v
}

// FuzzRequestSource: whatever X-Forwarded-For says, a request from an
// untrusted peer is keyed by the peer, and one from a trusted proxy by the
// peer or a valid address the proxy named.
func FuzzRequestSource(f *testing.F) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Add("10.1.2.3:4000", "203.0.113.7")
	f.Add("192.0.2.1:80", "1.2.3.4, 5.6.7.8")
	f.Add("[::1]:9", "::ffff:1.2.3.4,  ,")
	f.Add("garbage", "")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		src := RequestSource(r, proxies)
		peer := SourceOf(remote)
		if !trusted(peer.Addr, proxies) && src != peer {
			t.Fatalf("untrusted %q with X-Forwarded-For %q keyed as %v", remote, xff, src)
		}
		if src != peer && !src.Addr.IsValid() {
			t.Fatalf("invalid source %v", src)
		}
		if src.Addr.IsValid() && !src.Prefix.Contains(src.Addr) {
			t.Fatalf("source %v outside its prefix", src)
		}
	})
}

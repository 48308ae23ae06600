package gate

import (
	"net"
	"net/http/httptest"
	"testing"
	"time"
)

// A connection that shows an admitted listener's ticket leaves its source's
// caps, at most connsPerTicket per listener; closing it frees the
// listener's place, not a source slot it no longer holds.
func TestAdmittedConnectionsLeaveTheCaps(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gl := GuardListener(ln, ConnLimits{PerIP: 2, PerPrefix: 2}, New(Config{}, nil))
	defer gl.Close()
	accepted := acceptAll(gl)
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	// take dials n connections and returns those accepted within a moment.
	take := func(n int) []net.Conn {
		t.Helper()
		for range n {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		var got []net.Conn
		for deadline := time.After(300 * time.Millisecond); ; {
			select {
			case c := <-accepted:
				got = append(got, c)
			case <-deadline:
				return got
			}
		}
	}
	admit := func(c net.Conn, listener uint64) {
		r := httptest.NewRequest("GET", "/live/x.opus", nil)
		AdmitConn(r.WithContext(ConnContext(r.Context(), c)), listener)
	}
	first := take(3)
	if len(first) != 2 {
		t.Fatalf("%d of 3 accepted under a cap of 2", len(first))
	}
	admit(first[0], 1)
	admit(first[1], 2)
	admit(first[1], 2) // twice on one connection: still one place
	second := take(3)
	if len(second) != 2 {
		t.Fatalf("after two admitted: %d of 3 more accepted, want 2", len(second))
	}
	// Listener 1 has a second place, not a third.
	admit(second[0], 1)
	admit(second[1], 1)
	if got := take(2); len(got) != 1 {
		t.Fatalf("with listener 1's two places used: %d of 2 accepted, want 1 (one slot freed)", len(got))
	}
	// Closing admitted connections (twice) gives back no source slot.
	first[0].Close()
	first[0].Close()
	second[0].Close()
	if got := take(1); len(got) != 0 {
		t.Fatal("closing admitted connections freed a source slot")
	}
	// Listener 1 can be admitted again on a counted connection.
	admit(second[1], 1)
	if got := take(1); len(got) != 1 {
		t.Fatal("listener 1, with its places given back, could not take one")
	}
}

package receipts

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/receipts/claims", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestClaims: a claim is logged only when its note verifies with the key it
// names; bad claims get a clear 400 and change nothing; a flood is limited.
func TestClaims(t *testing.T) {
	l, _ := openLog(t, t.TempDir())
	defer l.Close()
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	k, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), "onair-load/t")
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "k2"), "onair-load/t")
	signed, err := SignClaim(k, map[string]int{"held": 5})
	if err != nil {
		t.Fatal(err)
	}
	req := func(key string, note []byte) string {
		b, _ := json.Marshal(ClaimRequest{Key: key, Note: string(note)})
		return string(b)
	}
	altered := bytes.Replace(signed, []byte(`"held":5`), []byte(`"held":9`), 1)
	big, _ := SignClaim(k, map[string]string{"x": strings.Repeat("a", MaxClaimNote)})
	for _, c := range []struct{ body, want string }{
		{"not json", "want {\"key\": VERIFIER-KEY"},
		{`{"key":"x","note":"y","extra":1}`, "unknown field"},
		{req("garbage", signed), "claim key \"garbage\""},
		{req(k.VKey, altered), "does not verify: the note was altered"},
		{req(other.VKey, signed), "not signed by " + other.VKey + ": signed only by onair-load/t+"},
		{req(k.VKey, []byte("no signature\n")), "malformed signed note"},
		{req(k.VKey, big), "claim note of"},
	} {
		code, body := postRaw(t, srv.URL, c.body)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("POST %.40q: %d %q, want 400 %q", c.body, code, body, c.want)
		}
	}
	if l.Size() != 0 {
		t.Fatalf("bad claims were logged: size %d", l.Size())
	}
	idx, err := PostClaim(context.Background(), srv.URL, k, signed)
	if err != nil || idx != 0 {
		t.Fatalf("PostClaim = %d, %v", idx, err)
	}
	var limited bool
	for i := 0; i < claimBurst+1 && !limited; i++ {
		code, _ := postRaw(t, srv.URL, req(k.VKey, signed))
		limited = code == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("a flood of claims was not limited")
	}
}

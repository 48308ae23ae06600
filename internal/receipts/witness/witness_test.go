package witness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/receipts/cosig"
)

const origin = "onair.test/node-w"

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func openLog(t *testing.T, dir string, lb *logBuf) *receipts.Log {
	t.Helper()
	l, err := receipts.Open(dir, origin, slog.New(slog.NewTextHandler(lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appendSeconds(t *testing.T, l *receipts.Log, from, n int64, listeners int) {
	t.Helper()
	for s := from; s < from+n; s++ {
		if _, err := l.Append(fmt.Appendf(nil, `{"kind":"second","t":%d,"listeners":{"total":%d}}`, s, listeners)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
}

// swappable serves whichever log handler it holds: the node's operator
// swapping in a rewritten log behind the same URL.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }
func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// TestWitness: over real HTTP, the witness cosigns a growing log (each
// checkpoint proved consistent with the last from the log's tiles), the
// node picks the cosignatures up and serves them, verify checks them; then
// the log is rewritten and re-signed with its own key: the witness refuses
// it, keeps refusing (also after a restart), and the node says so.
func TestWitness(t *testing.T) {
	ctx := context.Background()
	var nodeLog logBuf
	dirA := t.TempDir()
	l := openLog(t, dirA, &nodeLog)
	defer l.Close()
	appendSeconds(t, l, 1000, 300, 10)

	var node swappable
	node.set(l.Handler())
	nodeSrv := httptest.NewServer(&node)
	defer nodeSrv.Close()

	var wlog logBuf
	data := t.TempDir()
	cfg := Config{Log: nodeSrv.URL, LogKey: l.VerifierKey(), Data: data, Name: "witness.test/w1",
		Logger: slog.New(slog.NewTextHandler(&wlog, nil))}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wSrv := httptest.NewServer(w.Handler())
	defer wSrv.Close()
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	appendSeconds(t, l, 1300, 400, 10)
	if err := w.Poll(ctx); err != nil {
		t.Fatalf("poll after growth: %v", err)
	}
	st := status(t, wSrv.URL)
	if st.Size != 700 || st.Refusing {
		t.Fatalf("status %+v", st)
	}
	for _, p := range []string{"cosigned/300", "cosigned/700", "latest", "witness.key"} {
		if _, err := os.Stat(filepath.Join(data, p)); err != nil {
			t.Error(err)
		}
	}

	// The node fetches the cosignature; its checkpoint and cosigned file carry it.
	if err := l.AddWitness(wSrv.URL, w.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if err := l.PollWitnesses(ctx); err != nil {
		t.Fatal(err)
	}
	ckpt := get(t, nodeSrv.URL+"/receipts/checkpoint")
	if !strings.Contains(ckpt, "— witness.test/w1 ") {
		t.Fatalf("the served checkpoint lacks the cosignature:\n%s", ckpt)
	}
	rep := receipts.Verify(ctx, receipts.DirSource(dirA), receipts.VerifyOptions{Key: l.VerifierKey(), WitnessKeys: []string{w.VerifierKey()}})
	if rep.Failure != nil || len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Cosigners[0] == "" {
		t.Fatalf("verify with the witness key: %v %+v", rep.Failure, rep.Checkpoints)
	}
	_, otherW, _ := cosigGenerate(t)
	rep = receipts.Verify(ctx, receipts.DirSource(dirA), receipts.VerifyOptions{Key: l.VerifierKey(), WitnessKeys: []string{otherW}})
	if rep.Failure == nil || rep.Failure.Where != "cosigned" || !strings.Contains(rep.Failure.Reason, "no signature by witness.test/other+") {
		t.Fatalf("verify with another witness key: %v", rep.Failure)
	}

	// The operator rewrites the log (one second changed) and re-signs it.
	dirB := t.TempDir()
	key, _ := os.ReadFile(filepath.Join(dirA, "signing.key"))
	os.WriteFile(filepath.Join(dirB, "signing.key"), key, 0o600)
	var rewrittenLog logBuf
	lb := openLog(t, dirB, &rewrittenLog)
	defer lb.Close()
	appendSeconds(t, lb, 1000, 300, 10)
	appendSeconds(t, lb, 1300, 500, 99999)
	if err := lb.AddWitness(wSrv.URL, w.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	node.set(lb.Handler())
	for i := 0; i < 2; i++ {
		err := w.Poll(ctx)
		if err == nil || !strings.Contains(err.Error(), "refusing: the checkpoint of size 800 contradicts the one of size 700 cosigned earlier") {
			t.Fatalf("poll %d of the rewritten log: %v", i, err)
		}
	}
	if st := status(t, wSrv.URL); !st.Refusing || st.Size != 700 || !strings.Contains(st.Reason, "the log was rewritten") {
		t.Fatalf("status %+v", st)
	}
	if !strings.Contains(wlog.String(), "REFUSING") {
		t.Errorf("the witness did not say it refuses:\n%s", wlog.String())
	}
	ev, _ := os.ReadFile(filepath.Join(data, "refused"))
	if !bytes.Contains(ev, []byte("-- cosigned earlier:")) || !bytes.Contains(ev, []byte("\n800\n")) {
		t.Errorf("refused file lacks the evidence:\n%s", ev)
	}
	// The rewritten log's node hears it: the witness refuses, and the
	// cosignature it still serves is not for the rewritten log's tree.
	lb.PollWitnesses(ctx)
	if !strings.Contains(rewrittenLog.String(), "the witness REFUSES this log") {
		t.Errorf("the node did not report the refusal:\n%s", rewrittenLog.String())
	}
	// A restarted witness still refuses, even once the log looks normal again.
	node.set(l.Handler())
	w2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Poll(ctx); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("restarted witness: %v", err)
	}
}

func status(t *testing.T, url string) Status {
	var st Status
	if err := json.Unmarshal([]byte(get(t, url+"/witness/status")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b.String())
	}
	return b.String()
}

func cosigGenerate(t *testing.T) (string, string, error) {
	return cosig.GenerateKey("witness.test/other")
}

// TestWitnessBadTiles: tiles that do not match the log's own signed
// checkpoint are an error of the moment, not proof of a fork: the witness
// does not cosign, does not refuse, and cosigns once the tiles are right.
func TestWitnessBadTiles(t *testing.T) {
	ctx := context.Background()
	var lb logBuf
	l := openLog(t, t.TempDir(), &lb)
	defer l.Close()
	appendSeconds(t, l, 1000, 300, 1)
	var corrupt atomic.Bool
	real := l.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corrupt.Load() && r.URL.Path == "/receipts/tile/0/001.p/54" {
			w.Write(make([]byte, 54*32))
			return
		}
		real.ServeHTTP(w, r)
	}))
	defer srv.Close()
	w, err := New(Config{Log: srv.URL, LogKey: l.VerifierKey(), Data: t.TempDir(), Name: "witness.test/w2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	appendSeconds(t, l, 1300, 10, 1)
	corrupt.Store(true)
	err = w.Poll(ctx)
	if err == nil || !strings.Contains(err.Error(), "building a consistency proof from 300 to 310: downloaded inconsistent tile") {
		t.Fatalf("poll with a corrupt tile: %v", err)
	}
	corrupt.Store(false)
	if err := w.Poll(ctx); err != nil {
		t.Fatalf("poll once the tiles are right: %v", err)
	}
	if w.last.ckpt.Size != 310 || w.refused != "" {
		t.Fatalf("size %d refused %q", w.last.ckpt.Size, w.refused)
	}
}

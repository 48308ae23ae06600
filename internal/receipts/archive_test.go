package receipts

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestArchiveDuringAppends: a client archives checkpoints over HTTP while
// the log grows and checkpoints; every one it kept is proved consistent with
// the final log.
func TestArchiveDuringAppends(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	src, err := NewSource(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan struct{})
	var archived []ArchivedCheckpoint
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the archiving client
		defer wg.Done()
		var last Checkpoint
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			msg, c, err := ReadCheckpoint(ctx, src, l.VerifierKey())
			if err != nil {
				t.Error(err)
				return
			}
			if c != last {
				archived = append(archived, ArchivedCheckpoint{Name: c.Hash.String(), Note: msg})
				last = c
			}
		}
	}()
	for i := int64(0); i < 1500; i++ {
		if _, err := l.Append(second(3_000_000 + i)); err != nil {
			t.Fatal(err)
		}
		if i%37 == 0 {
			if err := l.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(done)
	wg.Wait()
	l.Close()
	if len(archived) < 5 {
		t.Fatalf("only %d checkpoints archived", len(archived))
	}
	rep := verifyOK(t, src, VerifyOptions{Key: l.VerifierKey(), Checkpoints: archived})
	if len(rep.Checkpoints) != len(archived) || rep.Size != 1500 {
		t.Fatalf("%d of %d archived checked, size %d", len(rep.Checkpoints), len(archived), rep.Size)
	}
	t.Logf("%d checkpoints archived during 1500 appends, all consistent", len(archived))
}

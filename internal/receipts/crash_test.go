package receipts

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTornTail: a crash that tore the last entry (the tail file cut in its
// middle) reopens at the entry before it, says what it lost, and goes on.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 2000, 300)
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	appendSeconds(t, l, 2300, 10)
	// The process "dies" here: l is abandoned, never closed.
	edit(t, filepath.Join(dir, tailFile), func(b []byte) []byte { return b[:len(b)-20] })

	l2, lb := openLog(t, dir)
	if l2.Size() != 309 {
		t.Fatalf("reopened at %d entries, want 309", l2.Size())
	}
	out := lb.String()
	for _, want := range []string{"torn by a crash", "lost_entry_index=309", "lost_bytes=", "truncated: a ", "reopened the log", "entries=309", "checkpoint_size=300", "last_entry_t=1970-01-01T00:38:28Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("the reopened log does not say %q:\n%s", want, out)
		}
	}
	appendSeconds(t, l2, 2310, 5)
	l2.Close()
	rep := verifyOK(t, DirSource(dir), VerifyOptions{})
	if rep.Size != 314 || rep.Seconds.Missing != 1 || rep.Seconds.Gaps[0].From != 2309 {
		t.Fatalf("%+v", rep.Seconds)
	}
}

// TestLostSignedEntries: a log whose files lost entries its own checkpoint
// signed refuses to open rather than fork itself.
func TestLostSignedEntries(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 2000, 300)
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(dir, tailFile), func(b []byte) []byte {
		off, _ := entryAt(t, b[tailHeader:], 10)
		return b[:tailHeader+off-2]
	})
	_, err := Open(dir, testOrigin, nil)
	if err == nil || !strings.Contains(err.Error(), "lost entries it had signed: its checkpoint says 300 entries, the files hold 266") {
		t.Fatalf("Open = %v", err)
	}
	// An entry changed under a signed checkpoint: refused too.
	dir2 := t.TempDir()
	l, _ = openLog(t, dir2)
	appendSeconds(t, l, 2000, 20)
	l.Close()
	edit(t, filepath.Join(dir2, tailFile), func(b []byte) []byte {
		b[tailHeader+30] ^= 1
		return b
	})
	if _, err := Open(dir2, testOrigin, nil); err == nil || !strings.Contains(err.Error(), "does not match its own checkpoint") {
		t.Fatalf("Open = %v", err)
	}
}

// TestKill9: a child process appending in a loop (with checkpoints) is
// killed with SIGKILL; the log reopens with every entry the child had
// reported, and verifies.
func TestKill9(t *testing.T) {
	if dir := os.Getenv("ONAIR_RECEIPTS_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "ONAIR_RECEIPTS_CHILD="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	var reported int64 = -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			reported = n
		}
		if reported >= 700 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if reported < 700 {
		t.Fatalf("child reported %d appends", reported)
	}
	l, lb := openLog(t, dir)
	if l.Size() <= reported {
		t.Fatalf("reopened at %d entries; the child had appended entry %d", l.Size(), reported)
	}
	if !strings.Contains(lb.String(), "reopened the log") {
		t.Errorf("no reopen message: %s", lb)
	}
	appendSeconds(t, l, 1_900_000_000+l.Size(), 3)
	l.Close()
	rep := verifyOK(t, DirSource(dir), VerifyOptions{})
	if rep.Seconds.Missing != 0 || rep.Seconds.Backwards != 0 {
		t.Fatalf("%+v", rep.Seconds)
	}
}

// crashChild appends seconds as fast as it can, checkpointing every 50,
// reporting each index on stdout once Append returned.
func crashChild(dir string) {
	l, err := Open(dir, testOrigin, nil)
	if err != nil {
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := int64(0); i < 100_000; i++ { // bounded, should the parent not kill it
		idx, err := l.Append(second(1_900_000_000 + i))
		if err != nil {
			os.Exit(4)
		}
		if i%50 == 0 {
			l.Checkpoint()
		}
		w.WriteString(strconv.FormatInt(idx, 10) + "\n")
		w.Flush()
	}
	os.Exit(0)
}

// TestCrashBeforeBundle: a crash after a bundle's hash tiles were written
// but before the bundle itself (its 256 entries only in the tail) reopens
// with all 256 and seals the bundle.
func TestCrashBeforeBundle(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	appendSeconds(t, l, 4000, 255)
	l.mu.Lock()
	l.tail.Sync()
	tail, _ := os.ReadFile(filepath.Join(dir, tailFile))
	l.mu.Unlock()
	appendSeconds(t, l, 4255, 1) // seals: hash tile 0/000, bundle 000, a new tail
	l.Close()
	// Undo the bundle and the new tail: as if the crash came between (the
	// checkpoint at 256 stays: reopening must match it).
	os.Remove(filepath.Join(dir, "tile/entries/000"))
	os.RemoveAll(filepath.Join(dir, "tile/entries/000.p"))
	os.WriteFile(filepath.Join(dir, tailFile), appendEntry(tail, second(4255)), 0o644)

	l2, _ := openLog(t, dir)
	if l2.Size() != 256 {
		t.Fatalf("reopened at %d, want 256", l2.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, "tile/entries/000")); err != nil {
		t.Fatalf("the bundle was not sealed on reopen: %v", err)
	}
	appendSeconds(t, l2, 4256, 10)
	l2.Close()
	if rep := verifyOK(t, DirSource(dir), VerifyOptions{}); rep.Size != 266 || rep.Seconds.Missing != 0 {
		t.Fatalf("%+v", rep)
	}
}

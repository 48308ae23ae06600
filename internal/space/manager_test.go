package space

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/bus"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/program"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/synth"
)

type env struct {
	t   *testing.T
	dir string
	st  *store.Store
	bus *bus.Local
	m   *Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st, bus: bus.NewLocal()}
	e.m, err = NewManager(st, e.bus, Config{DataDir: dir, SyncEvery: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.m.Shutdown()
		st.Close()
	})
	return e
}

func (e *env) create(title string) store.Space {
	e.t.Helper()
	now := time.Now().UTC()
	sp, _, err := e.st.CreateSpace(title, now, now)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

func (e *env) state(id string) store.Space {
	e.t.Helper()
	sp, err := e.st.Space(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

// frames collects what the bus carries for a space.
type frames struct {
	mu sync.Mutex
	fs []program.Frame
}

func (c *frames) add(f program.Frame) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

func (c *frames) get() []program.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]program.Frame(nil), c.fs...)
}

// speaking is a synthetic speaker's run: done is closed when it stops, err
// says why.
type speaking struct {
	done chan struct{}
	err  error
}

// speak attaches a synthetic speaker pushing a tone in real time.
func (e *env) speak(id, name string) (*mix.Speaker, *speaking) {
	e.t.Helper()
	spk, err := e.m.Speaker(id, name)
	if err != nil {
		e.t.Fatalf("speaker %s: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &speaking{done: make(chan struct{})}
	go func() {
		defer close(run.done)
		run.err = synth.Run(ctx, spk, &synth.Tone{Freq: 440, Amp: 0.3})
	}()
	e.t.Cleanup(func() {
		cancel()
		<-run.done
	})
	return spk, run
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mixed(m *Manager, id, name string) bool {
	for _, s := range m.Speakers(id) {
		if s.Name == name && s.State == "playing" && s.Level > 0.01 {
			return true
		}
	}
	return false
}

// lastPage returns the flags and granule of the last Ogg page of a file,
// walking every page from the start (so a damaged file fails).
func lastPage(t *testing.T, path string) (flags byte, granule uint64, pages int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(b); pages++ {
		if len(b)-off < 27 || string(b[off:off+4]) != "OggS" {
			t.Fatalf("%s: no page at byte %d of %d", path, off, len(b))
		}
		h := b[off:]
		nseg := int(h[26])
		size := 27 + nseg
		for i := range nseg {
			size += int(h[27+i])
		}
		flags, granule = h[5], binary.LittleEndian.Uint64(h[6:])
		off += size
	}
	return flags, granule, pages
}

// decodeClean decodes a file with ffmpeg (-v warning, no output allowed on
// stderr) and returns its RMS and length in samples.
func decodeClean(t *testing.T, path string) (rms float64, samples int) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make test installs it)")
	}
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-i", path, "-f", "s16le", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("ffmpeg %s: %v: %s", path, err, errb.String())
	}
	pcm := out.Bytes()
	var e float64
	for i := 0; i+1 < len(pcm); i += 2 {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[i:]))) / 32768
		e += v * v
	}
	samples = len(pcm) / 2
	if samples == 0 {
		return 0, 0
	}
	return math.Sqrt(e / float64(samples)), samples
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestGreenRoomThenLiveThenEnd(t *testing.T) {
	e := newEnv(t)
	sp := e.create("green room")
	var got frames
	cancel := e.bus.Subscribe(sp.ID, got.add)
	defer cancel()
	rec := e.m.RecordingPath(sp.ID)

	// A speaker before the show: mixed, but nothing published or recorded.
	_, speakerDone := e.speak(sp.ID, "alice")
	waitFor(t, "alice to be mixed in the green room", 5*time.Second, func() bool { return mixed(e.m, sp.ID, "alice") })
	time.Sleep(300 * time.Millisecond) // many mixer ticks
	if n := len(got.get()); n != 0 {
		t.Fatalf("%d frames published before Start", n)
	}
	if exists(rec) {
		t.Fatal("a recording exists before Start")
	}
	if st := e.state(sp.ID).State; st != store.Scheduled {
		t.Fatalf("state %s before Start", st)
	}
	if !e.m.Runtime(sp.ID) {
		t.Fatal("no runtime for a space with a speaker")
	}

	// Start: live, published from frame 0, recorded.
	live, err := e.m.Start(sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if live.State != store.Live || live.StartedAt.IsZero() {
		t.Fatalf("after Start: %+v", live)
	}
	if !exists(rec) {
		t.Fatal("no recording file once live")
	}
	if again, err := e.m.Start(sp.ID); err != nil || again.State != store.Live || !again.StartedAt.Equal(live.StartedAt) {
		t.Fatalf("second Start: %+v %v", again, err)
	}
	waitFor(t, "a second of program", 5*time.Second, func() bool { return len(got.get()) >= 50 })
	if !mixed(e.m, sp.ID, "alice") {
		t.Fatal("alice dropped out of the mix when the show went live")
	}

	ended, err := e.m.End(sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	fs := got.get()
	if ended.State != store.Ended || ended.EndedAt.IsZero() {
		t.Fatalf("after End: %+v", ended)
	}
	// The program: frames 0..n-1 in order, then one End frame.
	if len(fs) < 51 || !fs[len(fs)-1].End {
		t.Fatalf("%d frames, last End=%v", len(fs), fs[len(fs)-1].End)
	}
	for i, f := range fs {
		if f.Seq != uint64(i) || f.PTS != uint64(i)*program.FrameSamples {
			t.Fatalf("frame %d: seq %d pts %d", i, f.Seq, f.PTS)
		}
	}
	n := len(fs) - 1
	// The playable duration: pre-skip samples are not heard.
	if want := float64(n)*program.FrameDuration.Seconds() - float64(program.PreSkip)/program.SampleRate; math.Abs(ended.RecordedSeconds-want) > 1e-9 {
		t.Fatalf("RecordedSeconds %v, the program had %d frames (%v s)", ended.RecordedSeconds, n, want)
	}
	// The recording is finalized when End returns: EOS page with the
	// program's last granule, and ffmpeg decodes the tone cleanly.
	flags, granule, _ := lastPage(t, rec)
	if flags&0x04 == 0 || granule != uint64(n)*program.FrameSamples {
		t.Fatalf("last page flags %#x granule %d, want EOS and %d", flags, granule, uint64(n)*program.FrameSamples)
	}
	rms, samples := decodeClean(t, rec)
	if samples != n*program.FrameSamples-program.PreSkip {
		t.Fatalf("recording decodes to %d samples, want %d", samples, n*program.FrameSamples-program.PreSkip)
	}
	if rms < 0.05 {
		t.Fatalf("recording RMS %.3f: alice's tone is not in it", rms)
	}

	// Ended is final.
	if _, err := e.m.Speaker(sp.ID, "bob"); !errors.Is(err, ErrEnded) {
		t.Fatalf("Speaker after End: %v, want ErrEnded", err)
	}
	if _, err := e.m.Start(sp.ID); !errors.Is(err, ErrEnded) {
		t.Fatalf("Start after End: %v, want ErrEnded", err)
	}
	if again, err := e.m.End(sp.ID); err != nil || again.State != store.Ended {
		t.Fatalf("second End: %+v %v", again, err)
	}
	if e.m.Runtime(sp.ID) {
		t.Fatal("runtime left after End")
	}
	select {
	case <-speakerDone.done:
		if !errors.Is(speakerDone.err, mix.ErrClosed) {
			t.Fatalf("speaker ended with %v, want mix.ErrClosed", speakerDone.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the speaker's pushes were not refused after End")
	}
	if fi, err := os.Stat(rec); err != nil || fi.Mode().Perm()&0o200 == 0 {
		t.Fatalf("recording %v %v", fi, err)
	}
}

// A space whose recording cannot start does not go live unrecorded.
func TestStartRefusesWhenTheRecordingCannotBeCreated(t *testing.T) {
	e := newEnv(t)
	sp := e.create("taken")
	old := []byte("not ours")
	if err := os.WriteFile(e.m.RecordingPath(sp.ID), old, 0o644); err != nil {
		t.Fatal(err)
	}
	var got frames
	defer e.bus.Subscribe(sp.ID, got.add)()
	if _, err := e.m.Start(sp.ID); err == nil {
		t.Fatal("Start succeeded over an existing recording")
	}
	if st := e.state(sp.ID).State; st != store.Scheduled {
		t.Fatalf("state %s after a failed Start", st)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(got.get()); n != 0 {
		t.Fatalf("%d frames published by a space that failed to start", n)
	}
	if b, _ := os.ReadFile(e.m.RecordingPath(sp.ID)); !bytes.Equal(b, old) {
		t.Fatal("the existing file was changed")
	}
}

func TestUnknownSpace(t *testing.T) {
	e := newEnv(t)
	if _, err := e.m.Speaker("nope", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Speaker: %v", err)
	}
	if _, err := e.m.Start("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Start: %v", err)
	}
	if _, err := e.m.End("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("End: %v", err)
	}
	if e.m.Runtime("nope") || e.m.Speakers("nope") != nil {
		t.Fatal("runtime for an unknown space")
	}
}

// A process that died with a show live left it live in the store; when its
// recording cannot be continued (here: no whole headers), the next one ends
// it on start-up, and it stays ended (recover_test.go: the shows it resumes).
func TestRecoverEndsSpacesLeftLive(t *testing.T) {
	e := newEnv(t)
	left := e.create("left live")
	sched := e.create("scheduled")
	done := e.create("ended")
	started := time.Now().UTC().Add(-time.Hour)
	for id, st := range map[string]store.State{left.ID: store.Live, done.ID: store.Ended} {
		if _, err := e.st.UpdateSpace(id, func(s *store.Space) error {
			s.State, s.StartedAt = st, started
			if st == store.Ended {
				s.EndedAt, s.RecordedSeconds = started.Add(time.Minute), 60
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// What the crashed process recorded, up to its last sync.
	partial := []byte("OggS partial")
	if err := os.WriteFile(e.m.RecordingPath(left.ID), partial, 0o644); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	if err := e.m.Recover(); err != nil {
		t.Fatal(err)
	}
	got := e.state(left.ID)
	if got.State != store.Ended || got.EndedAt.Before(before) || !got.StartedAt.Equal(started) {
		t.Fatalf("left-live space after Recover: %+v", got)
	}
	if s := e.state(sched.ID); s.State != store.Scheduled {
		t.Fatalf("scheduled space became %s", s.State)
	}
	if s := e.state(done.ID); s.State != store.Ended || s.RecordedSeconds != 60 || !s.EndedAt.Equal(started.Add(time.Minute)) {
		t.Fatalf("ended space changed: %+v", s)
	}
	if b, _ := os.ReadFile(e.m.RecordingPath(left.ID)); !bytes.Equal(b, partial) {
		t.Fatal("Recover touched the recording")
	}
	if _, err := e.m.Speaker(left.ID, "a"); !errors.Is(err, ErrEnded) {
		t.Fatalf("Speaker on a recovered space: %v", err)
	}
	if _, err := e.m.Start(left.ID); !errors.Is(err, ErrEnded) {
		t.Fatalf("Start on a recovered space: %v", err)
	}
	if err := e.m.Recover(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestShutdownEndsLiveSpacesAndFinalizesRecordings(t *testing.T) {
	e := newEnv(t)
	live1, live2 := e.create("live 1"), e.create("live 2")
	green := e.create("green room")
	idle := e.create("idle")
	var got1 frames
	defer e.bus.Subscribe(live1.ID, got1.add)()
	e.speak(live1.ID, "a")
	e.speak(green.ID, "b")
	for _, id := range []string{live1.ID, live2.ID} {
		if _, err := e.m.Start(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "program frames", 5*time.Second, func() bool { return len(got1.get()) >= 50 })
	waitFor(t, "the green-room speaker mixed", 5*time.Second, func() bool { return mixed(e.m, green.ID, "b") })

	e.m.Shutdown()

	for _, sp := range []store.Space{live1, live2} {
		s := e.state(sp.ID)
		if s.State != store.Ended || s.RecordedSeconds <= 0 {
			t.Fatalf("live space after Shutdown: %+v", s)
		}
		flags, granule, _ := lastPage(t, e.m.RecordingPath(sp.ID))
		if flags&0x04 == 0 {
			t.Fatalf("recording of %s not finalized (no EOS page)", sp.Title)
		}
		if secs := float64(granule-program.PreSkip) / program.SampleRate; math.Abs(secs-s.RecordedSeconds) > 1e-9 {
			t.Fatalf("%s: file holds %v s, store says %v", sp.Title, secs, s.RecordedSeconds)
		}
		decodeClean(t, e.m.RecordingPath(sp.ID))
		if e.m.Runtime(sp.ID) {
			t.Fatalf("%s: runtime left after Shutdown", sp.Title)
		}
	}
	fs := got1.get()
	if !fs[len(fs)-1].End {
		t.Fatal("listeners of a live space got no End frame on Shutdown")
	}
	// Green room and idle spaces stay scheduled, unrecorded.
	for _, sp := range []store.Space{green, idle} {
		if s := e.state(sp.ID); s.State != store.Scheduled {
			t.Fatalf("%s became %s on Shutdown", sp.Title, s.State)
		}
		if exists(e.m.RecordingPath(sp.ID)) {
			t.Fatalf("%s has a recording", sp.Title)
		}
		if e.m.Runtime(sp.ID) {
			t.Fatalf("%s: runtime left after Shutdown", sp.Title)
		}
	}
}

// Speakers joining and leaving while spaces start and end concurrently
// (run with -race).
func TestConcurrentControl(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 4 {
		ids = append(ids, e.create("c").ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for _, name := range []string{"a", "b", "a"} {
				if spk, err := e.m.Speaker(id, name); err == nil {
					spk.Push(context.Background(), []byte{0xf8, 0xff, 0xfe}, program.FrameSamples)
				}
			}
		})
		wg.Go(func() {
			e.m.Start(id)
			e.m.Speakers(id)
		})
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	for _, id := range ids {
		wg.Go(func() {
			if _, err := e.m.End(id); err != nil {
				t.Errorf("End %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		s := e.state(id)
		if s.State != store.Ended {
			t.Fatalf("%s: %s", id, s.State)
		}
		if flags, _, _ := lastPage(t, e.m.RecordingPath(id)); flags&0x04 == 0 {
			t.Fatalf("%s: recording not finalized", id)
		}
	}
}

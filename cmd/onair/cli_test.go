package main

// End-to-end tests of the onair binary as a user runs it: the binary is built
// once, then driven with exec exactly as the README shows (onair serve,
// onair space ..., ffmpeg speakers and listeners, signals).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/server"
)

// ---------------------------------------------------------------------------
// Building and running the binary

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	if v := os.Getenv(hogEnv); v != "" {
		hog(v) // a child of TestVerdictCapacityFailure
		return
	}
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// onairBin builds the binary (once per test run) and returns its path.
func onairBin(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "onair-cli-test-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "onair")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", build.bin, ".")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.bin
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (make test installs it)", bin)
		}
	}
}

// cleanEnv is the test's environment without any ONAIR_* variable, so that a
// developer's own settings cannot leak into the binary under test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ONAIR_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// syncBuf is a bytes.Buffer a process writes to while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuf) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// proc is a background process (a server, an ffmpeg) that the test's cleanup
// kills if it is still running.
type proc struct {
	name        string
	cmd         *exec.Cmd
	stdout      *syncBuf
	stderr      *syncBuf
	done        chan struct{}
	err         error // Wait's error, once done is closed
	exitedAfter time.Duration
	started     time.Time
}

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	return startBounded(t, env, 0, name, args...)
}

// startBounded is startProc for a child that must stop by itself: it is
// killed after limit (0: no limit), when the test process dies
// (Pdeathsig), and by the test's cleanup.
func startBounded(t *testing.T, env []string, limit time.Duration, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(name), stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.started = time.Now()
	stop := func() bool { return true }
	if limit > 0 {
		stop = time.AfterFunc(limit, func() { _ = p.cmd.Process.Kill() }).Stop
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exitedAfter = time.Since(p.started)
		stop()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits for the process to exit and returns its exit code (-1 when it
// was killed by a signal); it fails the test after timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.name, timeout, p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// cli runs one short onair command to completion.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, onairBin(t), args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("onair %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("onair %s: did not finish in 30s", strings.Join(args, " "))
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// mustCLI runs an onair command that must succeed.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errs, code := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("onair %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// poll calls cond every 50 ms until it holds; it fails the test after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// A server under test

type node struct {
	*proc
	data      string
	pub, host string
}

var servingRE = regexp.MustCompile(`msg="onair serving" public=(\S+) host=(\S+)`)

// startServer runs `onair serve` on loopback ports chosen by the kernel and
// waits until it logs the URLs it is bound to.
func startServer(t *testing.T, data string, env ...string) *node {
	t.Helper()
	return startBoundedServer(t, data, 0, env...)
}

// startBoundedServer is startServer with the process bounded in time (see
// startBounded).
func startBoundedServer(t *testing.T, data string, limit time.Duration, env ...string) *node {
	t.Helper()
	p := startBounded(t, cleanEnv(env...), limit, onairBin(t), "serve", "--listen", "127.0.0.1:0",
		"--host-listen", "127.0.0.1:0", "--data", data)
	s := &node{proc: p, data: data}
	poll(t, 20*time.Second, "the server to log its URLs", func() bool {
		if !p.running() {
			t.Fatalf("onair serve exited early: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		}
		m := servingRE.FindStringSubmatch(p.stderr.String())
		if m != nil {
			s.pub, s.host = m[1], m[2]
		}
		return m != nil
	})
	for _, u := range []string{s.pub, s.host} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0") {
			t.Fatalf("server logged URL %q; want http://127.0.0.1:PORT", u)
		}
	}
	return s
}

// stop sends sig and checks the server exits 0 within 15 s.
func (s *node) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("onair serve exited %d after %v; want 0\nstderr:\n%s", code, sig, s.stderr)
	}
}

// env is the environment for `onair space` commands aimed at this server.
func (s *node) env() []string {
	return cleanEnv("ONAIR_SERVER="+s.host, "ONAIR_DATA="+s.data)
}

type createdSpace struct{ id, token string }

var (
	createdRE = regexp.MustCompile(`Created space (\S+) `)
	tokenRE   = regexp.MustCompile(`host token:\s+(\S+)`)
)

// createSpace runs `onair space create` with flags, as the README does.
func (s *node) createSpace(t *testing.T, title string) createdSpace {
	t.Helper()
	out := mustCLI(t, cleanEnv(), "space", "create", "--title", title, "--server", s.host, "--data", s.data)
	id, tok := createdRE.FindStringSubmatch(out), tokenRE.FindStringSubmatch(out)
	if id == nil || tok == nil {
		t.Fatalf("space create printed no id or host token:\n%s", out)
	}
	sp := createdSpace{id: id[1], token: tok[1]}
	// The printed next step must work as printed against this server.
	if want := "onair space start " + sp.id + " --token " + sp.token + " --server " + s.host; !strings.Contains(out, want) {
		t.Errorf("space create output lacks the command to go live %q:\n%s", want, out)
	}
	return sp
}

// state returns the state `onair space list` shows for id.
func (s *node) state(t *testing.T, id string) string {
	t.Helper()
	out := mustCLI(t, s.env(), "space", "list")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			return f[1]
		}
	}
	t.Fatalf("space list does not show %s:\n%s", id, out)
	return ""
}

// listJSON returns the space as `onair space list --json` shows it.
func (s *node) listJSON(t *testing.T, id string) map[string]any {
	t.Helper()
	out := mustCLI(t, s.env(), "space", "list", "--json")
	var l struct{ Spaces []map[string]any }
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("space list --json: %v\n%s", err, out)
	}
	for _, sp := range l.Spaces {
		if sp["id"] == id {
			return sp
		}
	}
	t.Fatalf("space list --json does not show %s:\n%s", id, out)
	return nil
}

// waitSpeaker polls the host API until the space has a speaker attached.
func (s *node) waitSpeaker(t *testing.T, sp createdSpace) {
	t.Helper()
	poll(t, 20*time.Second, "the speaker to connect", func() bool {
		req, _ := http.NewRequest("GET", s.host+"/api/v1/spaces/"+sp.id, nil)
		req.Header.Set("Authorization", "Bearer "+sp.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var v struct{ Speakers []json.RawMessage }
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&v) == nil && len(v.Speakers) > 0
	})
}

// goLive runs `onair space start ID --token T` (flags after the ID, as
// printed by create and the README) and returns a window bracketing the
// moment the space went live.
func (s *node) goLive(t *testing.T, sp createdSpace) (before, after time.Time) {
	t.Helper()
	before = time.Now()
	out := mustCLI(t, cleanEnv(), "space", "start", sp.id, "--token", sp.token, "--server", s.host)
	after = time.Now()
	if !strings.Contains(out, sp.id+" is live") {
		t.Fatalf("space start printed %q; want %q", out, sp.id+" is live")
	}
	return before, after
}

// join calls the join API and returns the live Ogg URL.
func (s *node) join(t *testing.T, id string) string {
	t.Helper()
	resp, err := http.Post(s.pub+"/api/v1/spaces/"+id+"/join", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct{ Ogg, State string }
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 {
		t.Fatalf("join: %s, %v", resp.Status, err)
	}
	if j.State != "live" || !strings.HasPrefix(j.Ogg, s.pub+"/live/"+id+".opus?t=") {
		t.Fatalf("join answered state %q, ogg %q", j.State, j.Ogg)
	}
	return j.Ogg
}

// pushTone starts an ffmpeg speaker exactly as the README shows.
func pushTone(t *testing.T, s *node, sp createdSpace, name string, freq int) *proc {
	t.Helper()
	return startProc(t, cleanEnv(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=f=%d:sample_rate=48000", freq),
		"-c:a", "libopus", "-f", "ogg", "-page_duration", "20000", "-method", "PUT",
		"-headers", "Authorization: Bearer "+sp.token+"\r\n",
		s.host+"/ingest/"+sp.id+"?speaker="+name)
}

// ---------------------------------------------------------------------------
// Ogg and audio checks

type oggPage struct {
	flags   byte
	granule uint64
	body    []byte
}

// parseOgg splits b into Ogg pages; rest is the length of an incomplete page
// at the end.
func parseOgg(b []byte) (pages []oggPage, rest int, err error) {
	for len(b) > 0 {
		if len(b) < 27 {
			return pages, len(b), nil
		}
		if string(b[:4]) != "OggS" {
			return pages, len(b), fmt.Errorf("no capture pattern at page %d", len(pages))
		}
		nseg := int(b[26])
		if len(b) < 27+nseg {
			return pages, len(b), nil
		}
		n := 0
		for _, l := range b[27 : 27+nseg] {
			n += int(l)
		}
		if len(b) < 27+nseg+n {
			return pages, len(b), nil
		}
		pages = append(pages, oggPage{flags: b[5], granule: binary.LittleEndian.Uint64(b[6:]),
			body: b[27+nseg : 27+nseg+n]})
		b = b[27+nseg+n:]
	}
	return pages, 0, nil
}

// listener reads a live stream over HTTP to its end, as a player would.
type listener struct {
	body *syncBuf
	done chan struct{}
	err  error
	hdr  http.Header
}

func listen(t *testing.T, url string) *listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") == "" {
		t.Fatalf("live stream: %s %v", resp.Status, resp.Header)
	}
	l := &listener{body: &syncBuf{}, done: make(chan struct{}), hdr: resp.Header}
	go func() {
		defer close(l.done)
		defer resp.Body.Close()
		_, l.err = io.Copy(l.body, resp.Body)
	}()
	t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// seconds is the audio received so far, from the granule positions.
func (l *listener) seconds() float64 {
	pages, _, _ := parseOgg(l.body.Bytes())
	var first, last uint64
	for _, p := range pages {
		if p.granule == 0 || p.granule == ^uint64(0) {
			continue
		}
		if first == 0 {
			first = p.granule
		}
		last = p.granule
	}
	return float64(last-first) / 48000
}

type probe struct {
	Streams []struct {
		CodecName  string `json:"codec_name"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
	}
	Format struct {
		Duration string
	}
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_name,sample_rate,channels:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	return p
}

// checkOpusFile asserts path probes as one mono 48 kHz Opus stream.
func checkOpusFile(t *testing.T, path string) {
	t.Helper()
	p := ffprobe(t, path)
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "opus" || p.Streams[0].SampleRate != "48000" || p.Streams[0].Channels != 1 {
		t.Fatalf("%s probes as %+v; want one opus stream, 48000 Hz, mono", path, p.Streams)
	}
}

// decode has ffmpeg decode the whole file (as a player would) and returns it
// as 48 kHz mono samples; any decoding error fails the test.
func decode(t *testing.T, path string) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", path,
		"-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg cannot decode %s: %v\n%s", path, err, errb.String())
	}
	if errb.Len() > 0 {
		t.Logf("ffmpeg decoding %s said: %s", filepath.Base(path), errb.String())
	}
	pcm := make([]float64, out.Len()/2)
	for i := range pcm {
		pcm[i] = float64(int16(binary.LittleEndian.Uint16(out.Bytes()[2*i:]))) / 32768
	}
	return pcm
}

// power is the Goertzel power of freq in x.
func power(x []float64, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/48000)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

// assertTone checks that the speaker's tone is what the recording holds
// (skipping the first second, while the speaker's jitter buffer fills).
func assertTone(t *testing.T, pcm []float64, freq float64) {
	t.Helper()
	if len(pcm) < 2*48000 {
		t.Fatalf("only %d samples", len(pcm))
	}
	x := pcm[48000 : len(pcm)-24000]
	p, off1, off2 := power(x, freq), power(x, freq*1.5), power(x, freq/1.7)
	if p < 1e-4 || p < 100*off1 || p < 100*off2 {
		t.Errorf("the %v Hz tone is not in the recording: power %.3g (off-tone %.3g, %.3g)", freq, p, off1, off2)
	}
}

// assertReplay checks GET /replay/ID.opus serves the file on disk, whole
// and by range.
func assertReplay(t *testing.T, s *node, id string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(s.data, "recordings", id+".opus"))
	if err != nil {
		t.Fatal(err)
	}
	url := s.pub + "/replay/" + id + ".opus"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "audio/ogg") {
		t.Errorf("replay Content-Type %q; want audio/ogg", ct)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("replay body (%d bytes) differs from the recording on disk (%d bytes)", len(body), len(want))
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", "bytes=100-299")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("range request: %s, %v; want 206", resp.Status, err)
	}
	if cr, wantCR := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 100-299/%d", len(want)); cr != wantCR {
		t.Errorf("Content-Range %q; want %q", cr, wantCR)
	}
	if !bytes.Equal(part, want[100:300]) {
		t.Errorf("range body differs from bytes 100-299 of the recording")
	}
}

// ---------------------------------------------------------------------------
// Help, usage and the environment

// flagNames lists the flags a command defines, from the same code the binary
// runs, so a new flag is checked without touching this test.
func flagNames(register func(fs *flag.FlagSet)) []string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	register(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func TestHelp(t *testing.T) {
	serve := flagNames(func(fs *flag.FlagSet) {
		var level string
		serverFlags(fs, new(server.Config), &level)
	})
	space := slices.Clip(flagNames(func(fs *flag.FlagSet) {
		var data string
		clientFlags(fs, new(client), &data)
	}))
	for _, tc := range []struct {
		args  []string
		flags []string
		words []string
	}{
		{args: []string{"--help"}, words: []string{"serve", "space", "demo", "version", "ONAIR_HOST_LISTEN"}},
		{args: []string{"help"}, words: []string{"serve", "space", "demo", "version"}},
		{args: []string{"serve", "--help"}, flags: serve, words: []string{"Usage: onair serve"}},
		{args: []string{"demo", "--help"}, flags: serve, words: []string{"Usage: onair demo"}},
		{args: []string{"space", "--help"}, words: []string{"create", "list", "start", "end"}},
		{args: []string{"space", "create", "--help"}, flags: append(space, "title", "starts-at", "auto-start", "admin-key")},
		{args: []string{"space", "invite", "--help"}, flags: append(space, "role", "name", "admin-key"), words: []string{"studio link", "co-host"}},
		{args: []string{"space", "list", "--help"}, flags: append(space, "admin-key")},
		{args: []string{"space", "start", "--help"}, flags: append(space, "admin-key"), words: []string{"ID"}},
		{args: []string{"space", "end", "-h"}, flags: append(space, "admin-key"), words: []string{"ID"}},
		{args: []string{"version", "--help"}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out, errs, code := cli(t, cleanEnv(), tc.args...)
			if code != 0 {
				t.Fatalf("exit %d; want 0\nstderr:\n%s", code, errs)
			}
			// Help that was asked for goes to stdout, so it pipes into less.
			if !strings.Contains(out, "Usage") {
				t.Fatalf("no usage on stdout:\n%s\nstderr:\n%s", out, errs)
			}
			for _, f := range tc.flags {
				if !strings.Contains(out, "--"+f) || (!noEnv[f] && !strings.Contains(out, "$"+envName(f))) {
					t.Errorf("help does not list --%s with $%s:\n%s", f, envName(f), out)
				}
				if noEnv[f] && strings.Contains(out, "$"+envName(f)) {
					t.Errorf("help offers $%s, which is not read:\n%s", envName(f), out)
				}
			}
			for _, w := range tc.words {
				if !strings.Contains(out, w) {
					t.Errorf("help does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out := mustCLI(t, cleanEnv(), "version")
	if !regexp.MustCompile(`^onair \S+`).MatchString(out) {
		t.Errorf("version printed %q; want \"onair VERSION\"", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		env   []string
		code  int
		words []string
	}{
		{args: nil, code: 2, words: []string{"Usage:", "Commands:"}},
		{args: []string{"bogus"}, code: 2, words: []string{`unknown command "bogus"`, "Usage:"}},
		{args: []string{"serve", "--bogus"}, code: 2, words: []string{"bogus", "onair serve --help"}},
		{args: []string{"serve", "8080"}, code: 2, words: []string{`unexpected argument "8080"`}},
		{args: []string{"space"}, code: 2, words: []string{"missing subcommand", "create"}},
		{args: []string{"space", "bogus"}, code: 2, words: []string{`unknown subcommand "bogus"`}},
		{args: []string{"space", "start"}, code: 2, words: []string{"missing the space ID"}},
		{args: []string{"space", "end", "a", "b"}, code: 2, words: []string{`unexpected argument "b"`}},
		{args: []string{"space", "create"}, code: 2, words: []string{"--title is required"}},
		{args: []string{"space", "create", "--title", "x", "--auto-start"}, code: 2, words: []string{"--auto-start needs --starts-at"}},
		{args: []string{"space", "invite", "abc"}, code: 2, words: []string{"--name is required"}},
		{args: []string{"space", "invite", "abc", "--name", "a", "--role", "host"}, code: 2, words: []string{`--role "host"`, "speaker or cohost"}},
		{args: []string{"space", "invite", "--name", "a"}, code: 2, words: []string{"missing the space ID"}},
		{args: []string{"space", "create", "--title", "x", "--starts-at", "tomorrow"}, code: 2, words: []string{"--starts-at", "RFC 3339"}},
		{args: []string{"serve"}, env: []string{"ONAIR_BITRATE=loud"}, code: 2, words: []string{"$ONAIR_BITRATE", `"loud"`, "--bitrate", "integer"}},
		{args: []string{"serve"}, env: []string{"ONAIR_TICKET_TTL=5"}, code: 2, words: []string{"$ONAIR_TICKET_TTL", `"5"`, "duration"}},
		{args: []string{"serve"}, env: []string{"ONAIR_WHEP_MAX=many"}, code: 2, words: []string{"$ONAIR_WHEP_MAX", "integer"}},
		{args: []string{"serve"}, env: []string{"ONAIR_LOG_LEVEL=loud"}, code: 2, words: []string{"$ONAIR_LOG_LEVEL", "--log-level", "loud", "debug, info"}},
		{args: []string{"serve"}, env: []string{"ONAIR_LISTEN=8080"}, code: 2, words: []string{"$ONAIR_LISTEN", `"8080"`, "--listen", "HOST:PORT"}},
		{args: []string{"serve"}, env: []string{"ONAIR_TEST_CLOCK_OFFSET=5"}, code: 2, words: []string{"ONAIR_TEST_CLOCK_OFFSET", `"5"`, "duration"}},
		{args: []string{"serve", "--host-listen", "nonsense"}, code: 2, words: []string{"nonsense", "host-listen", "HOST:PORT"}},
		{args: []string{"space", "list", "--server", "127.0.0.1:1", "--token", "x"}, code: 1, words: []string{"cannot reach the server at http://127.0.0.1:1", "--server"}},
		{args: []string{"space", "list", "--data", "/nonexistent"}, code: 1, words: []string{"no token", "--token", "--admin-key", "/nonexistent/admin.key"}},
	} {
		t.Run(strings.Join(append(tc.env, tc.args...), "_"), func(t *testing.T) {
			// Loopback only, should a case start a server by mistake; the
			// case's own variables come last and win.
			env := cleanEnv(append([]string{"ONAIR_DATA=" + t.TempDir(), "ONAIR_LISTEN=127.0.0.1:0",
				"ONAIR_HOST_LISTEN=127.0.0.1:0"}, tc.env...)...)
			out, errs, code := cli(t, env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.words {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, errs)
				}
			}
			if strings.Count(errs, "Flags:") > 0 {
				t.Errorf("a usage error should not dump every flag:\n%s", errs)
			}
		})
	}
}

// TestServeEnvAndPorts runs serve configured only from the environment,
// checks the admin key is printed once and kept private, and that a busy
// port is a clear error.
func TestServeEnvAndPorts(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := cleanEnv("ONAIR_LISTEN=127.0.0.1:0", "ONAIR_HOST_LISTEN=127.0.0.1:0", "ONAIR_DATA="+data)
	p := startProc(t, env, onairBin(t), "serve")
	var m []string
	poll(t, 20*time.Second, "the server to log its URLs", func() bool {
		if !p.running() {
			t.Fatalf("serve exited: %v\n%s", p.err, p.stderr)
		}
		m = servingRE.FindStringSubmatch(p.stderr.String())
		// stdout and stderr are read by separate goroutines: wait for both.
		return m != nil && strings.Contains(p.stdout.String(), "adm_")
	})
	if !strings.HasPrefix(m[1], "http://127.0.0.1:") || !strings.HasPrefix(m[2], "http://127.0.0.1:") {
		t.Errorf("$ONAIR_LISTEN/$ONAIR_HOST_LISTEN not honoured: public=%s host=%s", m[1], m[2])
	}
	key := adminKeyPrinted(t, p.stdout.String())
	checkAdminKeyFile(t, data, key)

	// A port in use is a clear error naming the address.
	hostAddr := strings.TrimPrefix(m[2], "http://")
	out, errs, code := cli(t, cleanEnv("ONAIR_DATA="+t.TempDir()), "serve", "--listen", "127.0.0.1:0", "--host-listen", hostAddr)
	if code != 1 || !strings.Contains(errs, hostAddr) || !strings.Contains(errs, "address already in use") {
		t.Errorf("serve on a busy port: exit %d; want 1 and an error naming %s\nstdout:\n%s\nstderr:\n%s", code, hostAddr, out, errs)
	}

	// The command line wins over the environment.
	// A second server on the same data dir is refused with a clear error.
	out, errs, code = cli(t, env, "serve")
	if code != 1 || !strings.Contains(errs, "another onair") {
		t.Errorf("second serve on %s: exit %d; want 1 and an error saying another onair uses it\nstdout:\n%s\nstderr:\n%s", data, code, out, errs)
	}

	// --server may omit the scheme.
	_, errs, code = cli(t, cleanEnv("ONAIR_ADMIN_KEY="+key, "ONAIR_SERVER=http://127.0.0.1:1"), "space", "list", "--server", hostAddr)
	if code != 0 {
		t.Errorf("space list --server %s (with $ONAIR_SERVER set elsewhere): exit %d\n%s", hostAddr, code, errs)
	}

	(&node{proc: p}).stop(t, os.Interrupt)
	if !strings.Contains(p.stderr.String(), `msg=stopped`) {
		t.Errorf("serve does not say it stopped:\n%s", p.stderr)
	}

	// Restarting prints no key: it was shown once.
	p = startProc(t, env, onairBin(t), "serve")
	poll(t, 20*time.Second, "the restarted server to log its URLs", func() bool {
		if !p.running() {
			t.Fatalf("serve exited: %v\n%s", p.err, p.stderr)
		}
		return servingRE.MatchString(p.stderr.String())
	})
	if strings.Contains(p.stdout.String(), key) {
		t.Errorf("the admin key is printed again on restart:\n%s", p.stdout)
	}
	(&node{proc: p}).stop(t, syscall.SIGTERM)
}

var adminKeyRE = regexp.MustCompile(`(?m)^Admin key.*\n\s+(\S+)\s*$`)

func adminKeyPrinted(t *testing.T, stdout string) string {
	t.Helper()
	m := adminKeyRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("serve printed no admin key on first start:\n%s", stdout)
	}
	return m[1]
}

func checkAdminKeyFile(t *testing.T, data, key string) {
	t.Helper()
	path := filepath.Join(data, "admin.key")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != key {
		t.Errorf("%s holds %q; printed %q", path, b, key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; want 0600", path, fi.Mode().Perm())
	}
}

// ---------------------------------------------------------------------------
// Shows

// TestShow runs a whole show through the CLI: serve, create, an ffmpeg
// speaker, start, listeners, SIGTERM; then checks the recording and, after a
// restart, the replay.
func TestShow(t *testing.T) {
	needFFmpeg(t)
	data := t.TempDir()
	s := startServer(t, data)
	poll(t, 10*time.Second, "the admin key on stdout", func() bool { return strings.Contains(s.stdout.String(), "adm_") })
	checkAdminKeyFile(t, data, adminKeyPrinted(t, s.stdout.String()))

	sp := s.createSpace(t, "Tuesday talk")
	if st := s.state(t, sp.id); st != "scheduled" {
		t.Fatalf("new space is %q; want scheduled", st)
	}
	spk := pushTone(t, s, sp, "a", 440)
	s.waitSpeaker(t, sp)
	liveFrom, liveTo := s.goLive(t, sp)
	if st := s.state(t, sp.id); st != "live" {
		t.Fatalf("started space is %q; want live", st)
	}

	ogg := s.join(t, sp.id)
	l := listen(t, ogg)
	ff := startProc(t, cleanEnv(), "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", ogg, "-f", "null", "-")
	listenFrom := time.Now()

	// A second space, ended with `onair space end` (admin key from the data
	// dir): its replay is ready at once, without a restart.
	other := s.createSpace(t, "Short one")
	mustCLI(t, s.env(), "space", "start", other.id)
	poll(t, 15*time.Second, "the listener to receive 3 s of audio", func() bool {
		if !spk.running() {
			t.Fatalf("the ffmpeg speaker exited: %v\n%s", spk.err, spk.stderr)
		}
		return l.seconds() >= 3
	})
	out := mustCLI(t, s.env(), "space", "end", other.id)
	if !regexp.MustCompile(other.id + ` is ended: \d+\.\d s recorded, replay at ` + regexp.QuoteMeta(s.pub+"/replay/"+other.id+".opus")).MatchString(out) {
		t.Errorf("space end printed %q", out)
	}
	assertReplay(t, s, other.id)
	if _, errs, code := cli(t, s.env(), "space", "start", other.id); code != 1 || !strings.Contains(errs, "ended") {
		t.Errorf("starting an ended space: exit %d, %q; want 1 and a message saying it ended", code, errs)
	}

	// SIGTERM ends the show cleanly.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sigAt := time.Now()
	if code := s.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("serve exited %d on SIGTERM; want 0\n%s", code, s.stderr)
	}
	t.Logf("server exited %v after SIGTERM", time.Since(sigAt).Round(time.Millisecond))

	// The listeners got the end of the stream, not a cut connection.
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the HTTP listener's stream did not end")
	}
	if l.err != nil {
		t.Errorf("the live stream did not end cleanly: %v", l.err)
	}
	pages, rest, err := parseOgg(l.body.Bytes())
	switch {
	case err != nil || rest != 0 || len(pages) < 3:
		t.Errorf("live stream: %d pages, %d trailing bytes, %v", len(pages), rest, err)
	case pages[0].flags&2 == 0 || !bytes.HasPrefix(pages[0].body, []byte("OpusHead")):
		t.Errorf("live stream does not start with a BOS OpusHead page")
	case pages[len(pages)-1].flags&4 == 0:
		t.Errorf("live stream's last page has no EOS flag")
	}
	if got, want := l.seconds(), sigAt.Sub(listenFrom).Seconds(); got < want-1.5 {
		t.Errorf("the listener received %.2f s of audio in %.2f s", got, want)
	}
	if code := ff.wait(t, 10*time.Second); code != 0 {
		t.Errorf("ffmpeg listener exited %d: %s", code, ff.stderr)
	}
	spk.wait(t, 10*time.Second) // the server went away: the speaker stops

	// The recording is complete, Opus 48 kHz mono, as long as the show.
	rec := filepath.Join(data, "recordings", sp.id+".opus")
	checkOpusFile(t, rec)
	dur, _ := strconv.ParseFloat(ffprobe(t, rec).Format.Duration, 64)
	lo, hi := sigAt.Sub(liveTo).Seconds(), sigAt.Sub(liveFrom).Seconds()
	t.Logf("recording: %.2f s (ffprobe); live for %.2f..%.2f s", dur, lo, hi)
	if dur < lo-1 || dur > hi+1 {
		t.Errorf("recording lasts %.2f s; the show was live %.2f..%.2f s", dur, lo, hi)
	}
	pcm := decode(t, rec)
	if d := float64(len(pcm)) / 48000; math.Abs(d-dur) > 0.2 {
		t.Errorf("recording decodes to %.2f s; ffprobe says %.2f s", d, dur)
	}
	assertTone(t, pcm, 440)
	if pages, rest, err := parseOgg(mustRead(t, rec)); err != nil || rest != 0 || len(pages) == 0 || pages[len(pages)-1].flags&4 == 0 {
		t.Errorf("recording after a clean shutdown: %d pages, %d trailing bytes, %v; want a final EOS page", len(pages), rest, err)
	}

	// After a restart the show is over and the replay is served.
	s = startServer(t, data)
	if strings.Contains(s.stdout.String(), "Admin key") {
		t.Errorf("restart printed the admin key again:\n%s", s.stdout)
	}
	if st := s.state(t, sp.id); st != "ended" {
		t.Errorf("after the restart the space is %q; want ended", st)
	}
	if rs, _ := s.listJSON(t, sp.id)["recorded_seconds"].(float64); math.Abs(rs-dur) > 0.25 {
		t.Errorf("space list --json: recorded_seconds %v; the file lasts %.2f s", rs, dur)
	}
	assertReplay(t, s, sp.id)
	resp, err := http.Post(s.pub+"/api/v1/spaces/"+sp.id+"/join", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("join after the show: %s; want 410", resp.Status)
	}
	s.stop(t, syscall.SIGTERM)
}

// TestDemo runs `onair demo` as the README's `make demo` does, listens to the
// URL it prints, and ends it with Ctrl-C.
func TestDemo(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo")
	p := startProc(t, cleanEnv("ONAIR_DATA="+data), onairBin(t), "demo", "--listen", "127.0.0.1:0", "--host-listen", "127.0.0.1:0")
	re := regexp.MustCompile(`ffplay -nodisp '([^']+)'`)
	var m []string
	poll(t, 20*time.Second, "the demo to print where to listen", func() bool {
		if !p.running() {
			t.Fatalf("demo exited: %v\n%s\n%s", p.err, p.stdout, p.stderr)
		}
		m = re.FindStringSubmatch(p.stdout.String())
		return m != nil
	})
	if !strings.Contains(p.stdout.String(), "is on air") || !strings.Contains(p.stdout.String(), data) {
		t.Errorf("demo output:\n%s", p.stdout)
	}
	// The printed URLs keep working for the demo's life: their ticket
	// (version, key id, then its expiry in Unix seconds) outlives it.
	u, _ := url.Parse(m[1])
	raw, err := base64.RawURLEncoding.DecodeString(u.Query().Get("t"))
	if err != nil || len(raw) < 13 {
		t.Fatalf("printed ticket %q: %v", u.Query().Get("t"), err)
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(raw[5:13])), 0); time.Until(exp) < 5*365*24*time.Hour {
		t.Fatalf("the printed URLs stop working at %v", exp)
	}
	l := listen(t, m[1])
	poll(t, 10*time.Second, "1 s of the demo's audio", func() bool { return l.seconds() >= 1 })
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("demo exited %d on Ctrl-C\n%s", code, p.stderr)
	}
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the demo's stream did not end")
	}
	if l.err != nil {
		t.Errorf("the demo's stream did not end cleanly: %v", l.err)
	}
	recs, _ := filepath.Glob(filepath.Join(data, "recordings", "*.opus"))
	if len(recs) != 1 {
		t.Fatalf("demo recordings: %v; want one", recs)
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		checkOpusFile(t, recs[0])
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

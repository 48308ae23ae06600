package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/natsnode"
)

// TestServeOnNATS runs a show with its program on NATS rather than the
// in-process bus: through an existing NATS server (--nats URL) and through
// one embedded in the process (--nats embedded). The mixer publishes, the
// listener's stream and the recording are both fed from the subscription.
func TestServeOnNATS(t *testing.T) {
	needFFmpeg(t)
	ext, err := natsnode.Start(natsnode.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Shutdown()
	for name, env := range map[string][]string{
		"url":      {"ONAIR_NATS=" + ext.ClientURL()},
		"embedded": {"ONAIR_NATS=embedded", "ONAIR_NATS_LISTEN=127.0.0.1:0"},
	} {
		t.Run(name, func(t *testing.T) { showOverNATS(t, env) })
	}
}

func showOverNATS(t *testing.T, env []string) {
	data := t.TempDir()
	s := startServer(t, data, env...)
	if !strings.Contains(s.stderr.String(), "program bus on NATS") {
		t.Fatalf("the server does not say its bus is on NATS:\n%s", s.stderr)
	}
	sp := s.createSpace(t, "Over the bus")
	spk := pushTone(t, s, sp, "a", 440)
	s.waitSpeaker(t, sp)
	s.goLive(t, sp)
	l := listen(t, s.join(t, sp.id))
	poll(t, 15*time.Second, "the listener to receive 3 s of audio", func() bool {
		if !spk.running() {
			t.Fatalf("the ffmpeg speaker exited: %v\n%s", spk.err, spk.stderr)
		}
		return l.seconds() >= 3
	})
	s.stop(t, syscall.SIGTERM)
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener's stream did not end")
	}
	pages, rest, err := parseOgg(l.body.Bytes())
	if err != nil || rest != 0 || len(pages) < 3 || pages[len(pages)-1].flags&4 == 0 {
		t.Fatalf("live stream: %d pages, %d trailing bytes, %v; want whole pages ending with EOS", len(pages), rest, err)
	}
	heard := filepath.Join(t.TempDir(), "heard.opus")
	if err := os.WriteFile(heard, l.body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	assertTone(t, decode(t, heard), 440)
	rec := filepath.Join(data, "recordings", sp.id+".opus")
	checkOpusFile(t, rec)
	assertTone(t, decode(t, rec), 440)
}

func TestNATSFlags(t *testing.T) {
	out := mustCLI(t, cleanEnv(), "serve", "--help")
	for _, f := range flagNames(func(fs *flag.FlagSet) { busFlags(fs, new(busOpts)) }) {
		if !strings.Contains(out, "--"+f) || !strings.Contains(out, "$"+envName(f)) {
			t.Errorf("serve --help does not list --%s with $%s", f, envName(f))
		}
	}
	for _, tc := range []struct {
		args  []string
		code  int
		words []string
	}{
		{[]string{"--nats-cluster", "nats://127.0.0.1:6222"}, 2, []string{"--nats-cluster", "--nats embedded"}},
		{[]string{"--nats", "nats://127.0.0.1:1", "--nats-listen", "127.0.0.1:0"}, 2, []string{"--nats-listen", "--nats embedded"}},
		{[]string{"--nats", "http://127.0.0.1:4222"}, 2, []string{"--nats", "nats://HOST:PORT", "embedded"}},
		{[]string{"--nats", "embedded", "--nats-cluster", "127.0.0.1:6222"}, 2, []string{"nats-cluster", "nats://HOST:PORT"}},
		{[]string{"--nats", "nats://127.0.0.1:1"}, 1, []string{"connect to NATS nats://127.0.0.1:1"}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			env := cleanEnv("ONAIR_DATA="+t.TempDir(), "ONAIR_LISTEN=127.0.0.1:0", "ONAIR_HOST_LISTEN=127.0.0.1:0")
			_, errs, code := cli(t, env, append([]string{"serve"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d; want %d\nstderr:\n%s", code, tc.code, errs)
			}
			for _, w := range tc.words {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, errs)
				}
			}
		})
	}
}

var embeddedRE = regexp.MustCompile(`msg="embedded NATS server" clients=(\S+) routes=(\S+)`)

// Two onair processes with embedded NATS servers form one cluster from
// --nats-cluster alone: a message published on one's server reaches a
// subscriber on the other's.
func TestEmbeddedNATSCluster(t *testing.T) {
	natsURLs := func(s *node) (clients, routes string) {
		m := embeddedRE.FindStringSubmatch(s.stderr.String())
		if m == nil {
			t.Fatalf("no embedded NATS server logged:\n%s", s.stderr)
		}
		return m[1], m[2]
	}
	common := []string{"ONAIR_NATS=embedded", "ONAIR_NATS_LISTEN=127.0.0.1:0", "ONAIR_NATS_CLUSTER_LISTEN=127.0.0.1:0"}
	a := startServer(t, t.TempDir(), append(common, "ONAIR_NODE_NAME=a")...)
	aClients, aRoutes := natsURLs(a)
	b := startServer(t, t.TempDir(), append(common, "ONAIR_NODE_NAME=b", "ONAIR_NATS_CLUSTER="+aRoutes)...)
	bClients, _ := natsURLs(b)

	sub, err := nats.Connect(bClients)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan struct{}, 1)
	if _, err := sub.Subscribe("probe", func(*nats.Msg) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pub, err := nats.Connect(aClients)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	poll(t, 10*time.Second, "a message across the two processes' servers", func() bool {
		if err := pub.Publish("probe", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})
	b.stop(t, syscall.SIGTERM)
	a.stop(t, syscall.SIGTERM)
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/receipts"
)

// receiptsNode is a receipts log served over real HTTP, as a node's public
// port serves it.
type receiptsNode struct {
	dir string
	log *receipts.Log
	srv *httptest.Server
}

func newReceiptsNode(t *testing.T) *receiptsNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "receipts")
	l, err := receipts.Open(dir, "onair.test/node-cli", nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(receipts.Prefix, l.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); l.Close() })
	return &receiptsNode{dir, l, srv}
}

func (n *receiptsNode) seconds(t *testing.T, from, count int64) {
	t.Helper()
	for s := from; s < from+count; s++ {
		e := fmt.Sprintf(`{"v":1,"kind":"second","t":%d,"listeners":{"total":%d},"joins":{"admitted":7,"queued":2,"rejected":{"rate_ip":1,"capacity":2}},"node":{"cpu":0.123},"gate":{"mode":"normal"}}`, s, s%100)
		if _, err := n.log.Append([]byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.log.Checkpoint(); err != nil {
		t.Fatal(err)
	}
}

// TestReceiptsCLI drives every receipts subcommand against a live log: a
// separate process archives checkpoints while the log grows, verify proves
// the final log extends them, show prints the seconds, fetch makes a copy
// that verifies offline, a flipped byte is named, and a witness process
// cosigns.
func TestReceiptsCLI(t *testing.T) {
	n := newReceiptsNode(t)
	env := cleanEnv()
	key := n.log.VerifierKey()
	archive := filepath.Join(t.TempDir(), "archive.txt")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1_780_000_000
	for i := int64(0); i < 4; i++ {
		n.seconds(t, t0+i*150, 150)
		f.WriteString(mustCLI(t, env, "receipts", "checkpoint", n.srv.URL, "--key", key))
	}
	f.Close()
	n.log.Append([]byte(`{"v":1,"kind":"event","t":1780000600,"space":"sp1","event":"start"}`))
	claimKey, _, err := receipts.LoadOrCreateKey(filepath.Join(t.TempDir(), "claim.key"), "onair-load/test")
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := receipts.SignClaim(claimKey, map[string]any{"listeners": map[string]any{"peak_connected": 50, "target": 50}, "stalls": map[string]any{"events": 0}})
	if idx, err := receipts.PostClaim(context.Background(), n.srv.URL, claimKey, signed); err != nil || idx != 601 {
		t.Fatalf("PostClaim = %d, %v", idx, err)
	}
	n.seconds(t, t0+605, 10) // 600..604 missing
	out := mustCLI(t, env, "receipts", "verify", n.srv.URL, "--key", key, "--checkpoint", archive)
	for _, want := range []string{"all 612 match the signed tree", "checkpoint  " + archive + "#4: size 600, consistent", "seconds:    610 from", "5 missing",
		"missing   2026-05-28T20:36:40Z to 2026-05-28T20:36:44Z (5 s, after entry 601)", "\nOK"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	var rep receipts.VerifyReport
	if err := json.Unmarshal([]byte(mustCLI(t, env, "receipts", "verify", n.dir, "--json")), &rep); err != nil || rep.Size != 612 || rep.Kinds["claim"] != 1 {
		t.Fatalf("verify --json: %v %+v", err, rep)
	}

	table := mustCLI(t, env, "receipts", "show", n.dir, "--from", "2026-05-28T20:36:38Z", "--to", "1780000605")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "INDEX") { // the claim is logged at the real time
		t.Fatalf("show --from --to printed %d lines:\n%s", len(lines), table)
	}
	for _, re := range []string{`598\s+2026-05-28 20:36:38\s+second\s+98\s+7\s+2\s+3\s+12\.3%\s+normal`,
		`600\s+2026-05-28 20:36:40\s+event\s+-.*sp1 start`} {
		if !regexp.MustCompile(re).MatchString(table) {
			t.Errorf("show lacks %s:\n%s", re, table)
		}
	}
	table = mustCLI(t, env, "receipts", "show", n.srv.URL)
	for _, re := range []string{`601\s+\S+ \S+\s+claim\s+.*by onair-load/test: 50 listeners held, 50 asked, 0 stalls`} {
		if !regexp.MustCompile(re).MatchString(table) {
			t.Errorf("show lacks %s:\n%s", re, table)
		}
	}
	jl := mustCLI(t, env, "receipts", "show", n.srv.URL, "--json", "--from", "1780000610", "--to", "2026-05-28T20:36:54Z")
	if c := strings.Count(jl, "\n"); c != 5 || !strings.HasPrefix(jl, `{"v":1,"kind":"second","t":1780000610`) {
		t.Errorf("show --json printed:\n%s", jl)
	}

	// A copy fetched over HTTP verifies offline, with only the key.
	cp := filepath.Join(t.TempDir(), "copy")
	mustCLI(t, env, "receipts", "fetch", n.srv.URL, "--out", cp)
	os.Remove(filepath.Join(cp, "key"))
	mustCLI(t, env, "receipts", "verify", cp, "--key", key, "--checkpoint", archive)

	// A flipped byte in the copy is named, exit 1.
	bundle := filepath.Join(cp, "tile/entries/001")
	b, _ := os.ReadFile(bundle)
	b[len(b)-10] ^= 1
	os.WriteFile(bundle, b, 0o644)
	out, errs, code := cli(t, env, "receipts", "verify", cp, "--key", key)
	if code != 1 || !strings.Contains(out, "FAILED: entry (entry 511): its hash is not the one the signed tree has for it") {
		t.Fatalf("verify of a tampered copy: exit %d\n%s\n%s", code, out, errs)
	}
	if _, _, code := cli(t, env, "receipts", "verify"); code != 2 {
		t.Errorf("verify without a log: exit %d, want 2", code)
	}
	if _, errs, code := cli(t, env, "receipts", "show", n.dir, "--from", "yesterday"); code != 2 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("show --from yesterday: exit %d %s", code, errs)
	}
}

// TestReceiptsWitnessCLI: the witness process cosigns the node's log and
// serves the cosignature; the node picks it up.
func TestReceiptsWitnessCLI(t *testing.T) {
	n := newReceiptsNode(t)
	n.seconds(t, 1000, 300)
	p := startBounded(t, cleanEnv(), time.Minute, onairBin(t), "receipts", "witness", "--log", n.srv.URL,
		"--key", n.log.VerifierKey(), "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--interval", "200ms", "--name", "witness.test/cli")
	var wkey, addr string
	poll(t, 20*time.Second, "the witness to start", func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "witness key: "); ok {
				wkey = k
			}
			if m := regexp.MustCompile(`http://(\S+)/witness/checkpoint`).FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
			}
		}
		return wkey != "" && addr != ""
	})
	if err := n.log.AddWitness("http://"+addr, wkey); err != nil {
		t.Fatal(err)
	}
	poll(t, 20*time.Second, "a cosignature", func() bool { return n.log.PollWitnesses(context.Background()) == nil })
	out := mustCLI(t, cleanEnv(), "receipts", "verify", n.dir, "--key", n.log.VerifierKey(), "--witness-key", wkey)
	if !strings.Contains(out, "checkpoint  cosigned: size 300, consistent with the log, cosigned by witness.test/cli+") {
		t.Fatalf("verify --witness-key:\n%s", out)
	}
}

func TestReceiptsHelp(t *testing.T) {
	for sub, flags := range map[string][]string{
		"verify": {"key", "checkpoint", "witness-key", "json"}, "show": {"from", "to", "key", "json"},
		"checkpoint": {"key", "follow", "every"}, "fetch": {"out", "key"},
		"witness": {"log", "key", "listen", "data", "name", "interval"}} {
		out := mustCLI(t, cleanEnv(), "receipts", sub, "--help")
		for _, f := range flags {
			if !strings.Contains(out, "--"+f+"\n") && !strings.Contains(out, "--"+f+" ") {
				t.Errorf("receipts %s --help lacks --%s:\n%s", sub, f, out)
			}
		}
	}
	if out := mustCLI(t, cleanEnv(), "receipts", "--help"); !strings.Contains(out, "witness --log URL") {
		t.Errorf("receipts --help:\n%s", out)
	}
}

// TestLoadClaim: onair load's claim step signs the run's summary with a key
// it creates, the node logs it (over real HTTP) and the entry verifies; a
// target without receipts is a warning.
func TestLoadClaim(t *testing.T) {
	n := newReceiptsNode(t)
	rep := &load.Report{Config: load.Config{Target: n.srv.URL, Space: "sp", Protocol: "ogg", Shape: "flash"},
		Start: time.Unix(1_780_000_000, 0), ElapsedS: 30,
		Listeners: load.ListenerCounts{Target: 2000, Joined: 2000, GotAudio: 2000, PeakConnected: 1999},
		Errors:    map[string]int64{"connect": 1}}
	keyFile := filepath.Join(t.TempDir(), "cfg", "onair", "load-claim.key")
	var out strings.Builder
	postClaims(rep, keyFile, &out)
	if !strings.Contains(out.String(), "created the claim key "+keyFile) || !strings.Contains(out.String(), "claim logged by the target as receipts entry 0, signed by onair-load/") {
		t.Fatalf("postClaim said:\n%s", out.String())
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("claim key: %v", err)
	}
	n.log.Checkpoint()
	_, c, err := receipts.ReadCheckpoint(context.Background(), receipts.DirSource(n.dir), "")
	if err != nil {
		t.Fatal(err)
	}
	var entry receipts.ClaimEntry
	receipts.Entries(context.Background(), receipts.DirSource(n.dir), c, 0, func(_ int64, e []byte) error {
		return json.Unmarshal(e, &entry)
	})
	summary, err := receipts.VerifyClaim(entry.Key, []byte(entry.Note))
	if err != nil || entry.Kind != "claim" || entry.V != 1 || entry.T == 0 {
		t.Fatalf("logged claim %+v: %v", entry, err)
	}
	var claim load.Claim
	json.Unmarshal(summary, &claim)
	if claim.Listeners.PeakConnected != 1999 || claim.Errors != 1 || claim.StartT != 1_780_000_000 || claim.EndT != 1_780_000_030 || claim.Tool != "onair load" {
		t.Fatalf("claim %+v", claim)
	}
	out.Reset()
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	rep.Config.Target = none.URL
	postClaims(rep, keyFile, &out)
	if !strings.Contains(out.String(), "warning: claim not logged by the target: POST "+none.URL+"/receipts/claims: 404") || strings.Contains(out.String(), "created") {
		t.Fatalf("postClaim to a target without receipts said:\n%s", out.String())
	}
}

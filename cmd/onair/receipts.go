package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/onair-live/onair/internal/receipts"
)

const receiptsUsage = `Usage: onair receipts <verify|show|verdict|report|checkpoint|fetch|witness> [flags]

Read, archive and check a node's receipts: the signed, append-only log of what
it saw every second (DATA/receipts on the node, /receipts/ on its public port).
  verify DIR|URL       check every entry, tile and signature; archived checkpoints; missing seconds
  show DIR|URL         the entries as a table (or JSON lines), from one time to another
  verdict DIR|URL ...  flash crowd, ddos, mixed, capacity failure or normal, per incident, with the evidence
  report DIR|URL ... --out FILE   the same as one self-contained HTML page with charts
  checkpoint URL       print the log's signed checkpoint, to archive (>> FILE); --follow keeps going
  fetch URL --out DIR  copy a whole log, verified, into a directory that verifies offline
  witness --log URL    cosign a node's checkpoints as an independent witness, and serve the cosignatures

Run "onair receipts <sub> --help" for flags.
`

// receiptsSubs describes each subcommand for its --help.
var receiptsSubs = map[string]struct {
	synopsis, about string
	run             func(fs *flag.FlagSet, args []string) error
}{
	"verify": {"onair receipts verify DIR|URL [--key VKEY] [--checkpoint FILE ...] [--json]",
		"Verify a receipts log, in a directory (a node's DATA/receipts, or a copy) or at a URL (a\n" +
			"node's public URL): the checkpoint's signature, every entry's hash against the Merkle\n" +
			"tree it signs, every hash tile, and, with --checkpoint, that each checkpoint archived\n" +
			"earlier is signed by the key and that the log now extends it (a consistency proof):\n" +
			"a log rewritten after a checkpoint was archived fails here, named. Without --key the\n" +
			"log's own key is used, which only shows the log agrees with itself: pass the key you\n" +
			"noted (the node prints it at start; /receipts/key serves it). It also lists the seconds\n" +
			"missing from the per-second records (gaps are reported, not hidden; they do not fail).\n" +
			"Exit 0 only when everything holds; otherwise the first bad entry, tile or checkpoint\n" +
			"is named, with why, and the exit is 1.",
		runReceiptsVerify},
	"show": {"onair receipts show DIR|URL [--from T] [--to T] [--json]",
		"Print the entries of a receipts log as a table: time (UTC), kind and, for per-second\n" +
			"records, listeners, joins admitted/queued/rejected, CPU and the gate's mode; events\n" +
			"show their space and name, claims their key and what they claim. --json prints each\n" +
			"entry as a JSON line instead. T is RFC 3339 (2026-12-01T20:00:00Z) or unix seconds.\n" +
			"The checkpoint's signature is checked; the entries are not (use verify).",
		runReceiptsShow},
	"verdict": {"onair receipts verdict DIR|URL ... [--key VKEY ...] [--space ID] [--from T --to T] [--json]",
		verdictAbout, runReceiptsVerdict},
	"report": {"onair receipts report DIR|URL ... --out report.html [--key VKEY ...] [--space ID] [--from T --to T]",
		reportAbout, runReceiptsReport},
	"checkpoint": {"onair receipts checkpoint URL [--key VKEY] [--follow] >> FILE",
		"Fetch a node's latest signed checkpoint, check its signature and print it, to keep:\n" +
			"anyone can archive checkpoints during a show (appending them to one file is fine)\n" +
			"and later prove the final log extends them with verify --checkpoint FILE. --follow\n" +
			"prints each new checkpoint as it appears, until interrupted.",
		runReceiptsCheckpoint},
	"fetch": {"onair receipts fetch URL --out DIR [--key VKEY]",
		"Copy a node's whole receipts log (checkpoint, key, tiles, entry bundles, cosigned\n" +
			"checkpoint) into DIR, verifying it on the way; DIR then verifies offline with\n" +
			"onair receipts verify DIR --key VKEY.",
		runReceiptsFetch},
	"witness": {"onair receipts witness --log URL --key VKEY [--listen ADDR] [--data DIR]",
		"Run an independent witness of a node's receipts log: every --interval it fetches the\n" +
			"node's checkpoint, proves it consistent with the last one it cosigned (a consistency\n" +
			"proof from the node's tiles) and cosigns it (C2SP tlog-cosignature, Ed25519 with a\n" +
			"timestamp). It keeps every cosigned checkpoint in --data and serves them on --listen:\n" +
			"/witness/checkpoint (latest), /witness/checkpoint/SIZE, /witness/key, /witness/status.\n" +
			"A checkpoint inconsistent with one it cosigned (a rewritten log) is refused, loudly,\n" +
			"and so is everything after it, also across restarts, until the refused file in --data\n" +
			"is removed. Its key is created on first start and printed: give it to the node's\n" +
			"operator, so the node fetches and serves its cosignatures, and to whoever verifies\n" +
			"(onair receipts verify --witness-key KEY).",
		runReceiptsWitness},
}

func runReceipts(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, receiptsUsage)
		return usagef("missing subcommand: verify, show, verdict, report, checkpoint, fetch or witness")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Print(receiptsUsage)
		return nil
	}
	sub, ok := receiptsSubs[args[0]]
	if !ok {
		return usagef("unknown subcommand %q: want verify, show, verdict, report, checkpoint, fetch or witness", args[0])
	}
	return sub.run(newFlagSet("receipts "+args[0], sub.synopsis, sub.about), args[1:])
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// oneSource parses the flags and opens the one DIR|URL argument.
func oneSource(fs *flag.FlagSet, args []string, what string) (receipts.Source, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, usagef("want one %s", what)
	}
	src, err := receipts.NewSource(fs.Arg(0))
	if err != nil {
		return nil, usageError{err}
	}
	return src, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runReceiptsVerify(fs *flag.FlagSet, args []string) error {
	var opts receipts.VerifyOptions
	var files, witnessKeys listFlag
	var asJSON bool
	fs.StringVar(&opts.Key, "key", "", "the log's verifier key (name+hash+key), as the node printed it (default: the key the log serves, which proves nothing about whose log it is)")
	fs.Var(&files, "checkpoint", "a file of checkpoints archived earlier (one or more, as onair receipts checkpoint prints them); repeat for more files")
	fs.Var(&witnessKeys, "witness-key", "a witness's cosigner key: the log's cosigned checkpoint must carry its cosignature; repeat for more witnesses")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	src, err := oneSource(fs, args, "log directory or URL")
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		notes, err := receipts.SplitNotes(b)
		if err != nil || len(notes) == 0 {
			return fmt.Errorf("--checkpoint %s: not a file of signed checkpoints: %v", f, err)
		}
		for i, n := range notes {
			name := f
			if len(notes) > 1 {
				name = fmt.Sprintf("%s#%d", f, i+1)
			}
			opts.Checkpoints = append(opts.Checkpoints, receipts.ArchivedCheckpoint{Name: name, Note: n})
		}
	}
	opts.WitnessKeys = witnessKeys
	ctx, stop := signalContext()
	defer stop()
	rep := receipts.Verify(ctx, src, opts)
	if asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Println(string(b))
	} else {
		printVerify(rep)
	}
	if rep.Failure != nil {
		return rep.Failure
	}
	return nil
}

func printVerify(r *receipts.VerifyReport) {
	utc := func(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }
	fmt.Printf("log:        %s at %s\n", r.Origin, r.Source)
	fmt.Printf("key:        %s (%s)\n", r.Key, r.KeySource)
	if r.Origin != "" {
		fmt.Printf("checkpoint: %d entries, root %s\n", r.Size, r.RootHash)
	}
	if r.Failure != nil {
		fmt.Printf("\nFAILED: %v\n", r.Failure)
		return
	}
	var kinds []string
	for k, n := range r.Kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	fmt.Printf("entries:    all %d match the signed tree (%s)\n", r.Size, strings.Join(kinds, ", "))
	s := r.Seconds
	if s.Count > 0 {
		fmt.Printf("seconds:    %d from %s to %s, %d missing\n", s.Count, utc(s.First), utc(s.Last), s.Missing)
		for _, g := range s.Gaps {
			fmt.Printf("  missing   %s to %s (%d s, after entry %d)\n", utc(g.From), utc(g.To), g.Seconds, g.AfterIndex)
		}
		if int64(len(s.Gaps)) < s.Missing && len(s.Gaps) == 1000 {
			fmt.Println("  (first 1000 gaps listed)")
		}
	}
	for _, c := range r.Checkpoints {
		extra := ""
		if len(c.Cosigners) > 0 {
			extra = ", cosigned by " + strings.Join(c.Cosigners, ", ")
		}
		fmt.Printf("checkpoint  %s: size %d, consistent with the log%s\n", c.Name, c.Size, extra)
	}
	for _, w := range r.Warnings {
		fmt.Println("warning:   ", w)
	}
	fmt.Println("\nOK")
}

func runReceiptsShow(fs *flag.FlagSet, args []string) error {
	var from, to, key string
	var asJSON bool
	fs.StringVar(&from, "from", "", "first second to show, RFC 3339 or unix seconds (default: the start)")
	fs.StringVar(&to, "to", "", "last second to show, RFC 3339 or unix seconds (default: the end)")
	fs.StringVar(&key, "key", "", "the log's verifier key, to check the checkpoint (default: the key the log serves)")
	fs.BoolVar(&asJSON, "json", false, "print each entry as a JSON line")
	src, err := oneSource(fs, args, "log directory or URL")
	if err != nil {
		return err
	}
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if from != "" {
		if lo, err = receipts.ParseTime(from); err != nil {
			return usagef("--from: %v", err)
		}
	}
	if to != "" {
		if hi, err = receipts.ParseTime(to); err != nil {
			return usagef("--to: %v", err)
		}
	}
	ctx, stop := signalContext()
	defer stop()
	_, c, err := receipts.ReadCheckpoint(ctx, src, key)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, strings.Join(receipts.ShowColumns, "\t"))
	}
	err = receipts.Entries(ctx, src, c, 0, func(i int64, e []byte) error {
		r, err := receipts.ParseRecord(e)
		if err != nil || r.T < lo || r.T > hi {
			return nil
		}
		if asJSON {
			_, err = fmt.Fprintf(os.Stdout, "%s\n", e)
			return err
		}
		_, err = fmt.Fprintln(tw, strings.Join(receipts.Row(i, r), "\t"))
		return err
	})
	tw.Flush()
	return err
}

func runReceiptsCheckpoint(fs *flag.FlagSet, args []string) error {
	var key string
	var follow bool
	var every time.Duration
	fs.StringVar(&key, "key", "", "the log's verifier key (default: the key the log serves)")
	fs.BoolVar(&follow, "follow", false, "keep polling and print each new checkpoint")
	fs.DurationVar(&every, "every", receipts.CheckpointEvery, "with --follow, how often to poll")
	src, err := oneSource(fs, args, "log URL")
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	var last receipts.Checkpoint
	for {
		msg, c, err := receipts.ReadCheckpoint(ctx, src, key)
		switch {
		case err != nil && !follow:
			return err
		case err != nil:
			fmt.Fprintln(os.Stderr, "onair receipts checkpoint:", err)
		case c != last:
			os.Stdout.Write(msg)
			last = c
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func runReceiptsFetch(fs *flag.FlagSet, args []string) error {
	var out, key string
	fs.StringVar(&out, "out", "", "directory to copy the log into (required)")
	fs.StringVar(&key, "key", "", "the log's verifier key (default: the key the log serves)")
	src, err := oneSource(fs, args, "log URL")
	if err != nil {
		return err
	}
	if out == "" {
		return usagef("--out DIR is required")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	save := receipts.SaveSource{Source: src, Dir: out}
	for _, f := range []string{"key", "cosigned"} {
		if _, err := save.Read(ctx, f, 64<<10); err != nil && !receipts.IsNotExist(err) {
			return err
		}
	}
	rep := receipts.Verify(ctx, save, receipts.VerifyOptions{Key: key})
	if rep.Failure != nil {
		return fmt.Errorf("copied into %s, but it does not verify: %v", out, rep.Failure)
	}
	fmt.Printf("copied %d entries of %s into %s; verified\n", rep.Size, rep.Origin, out)
	return nil
}

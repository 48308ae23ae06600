// Command onair is a server for live audio rooms: speakers in, one mixed
// program out to any number of listeners, always recorded.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
)

const usage = `onair: live audio rooms — a few speak, many listen, always recorded.

Usage:
  onair <command> [flags]

Commands:
  serve     run a node: host port (speakers, control) and public port (listeners)
  space     create, list, start and end spaces on a running server
  demo      run a server with a synthetic speaker on air, and print where to listen
  load      play a crowd of real listeners against a server and measure it
  receipts  verify, show, archive and witness a node's signed log of what it saw
  plan      from measured per-node figures to a deployment for N listeners, and its surge
  nats      run a NATS server for a cluster of origins and edges (serve --role)
  version   print the version

Every flag can also be set with an environment variable: --host-listen is
ONAIR_HOST_LISTEN. Run "onair <command> --help" for a command's flags.
`

type command func(args []string) error

func main() {
	cmds := map[string]command{
		"serve":    runServe,
		"space":    runSpace,
		"demo":     runDemo,
		"load":     runLoad,
		"receipts": runReceipts,
		"plan":     runPlan,
		"nats":     runNATS,
		"version":  runVersion,
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if a := os.Args[1]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Print(usage) // asked for: on stdout, so it pipes into less or grep
		return
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "onair: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "onair %s: %v\n", os.Args[1], err)
		if errors.As(err, new(usageError)) {
			fmt.Fprintf(os.Stderr, "Run \"onair %s --help\" for usage.\n", os.Args[1])
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// the module's build info says what was built.
var version = ""

func runVersion(args []string) error {
	fs := newFlagSet("version", "onair version", "Print the version of this binary.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			// Go stamps a pseudo-version holding the revision when it can;
			// otherwise say which commit was built.
			if s.Key == "vcs.revision" && bi.Main.Version == "(devel)" {
				v += " " + s.Value
			}
		}
	}
	fmt.Println("onair", v)
	return nil
}

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// newFlagSet makes a flag set whose --help prints a synopsis, a description
// and every flag with its environment variable.
func newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && !isBool(f) {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			env := " [$" + envName(f.Name) + "]"
			if noEnv[f.Name] {
				env = ""
			}
			fmt.Fprintf(out, "  --%s%s\n      %s%s\n", f.Name, def, f.Usage, env)
		})
	}
	return fs
}

func envName(flagName string) string {
	return "ONAIR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usageError is a mistake in how the command was called (a bad flag, a bad
// environment value, a missing argument): main exits 2 for it, like for an
// unknown command.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// parse parses args, then fills every flag not given on the command line from
// its ONAIR_* environment variable: the command line wins. Flags may come
// after positional arguments ("space start ID --token T"), as the docs show.
// --help prints the usage on stdout; a bad flag is reported once (main adds
// a hint to --help) rather than followed by the whole usage.
func parse(fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(interspersed(fs, args))
	fs.SetOutput(os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Stdout.Write(out.Bytes())
		return err
	}
	if err != nil {
		return usageError{err}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if noEnv[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && !set[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("$%s=%q: invalid value for --%s: %s", envName(f.Name), v, f.Name, expected(f, e))
			}
		}
	})
	return err
}

// expected explains what a flag accepts, since the flag package only says
// "parse error" for a bad number or duration.
func expected(f *flag.Flag, err error) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return err.Error()
	}
	switch g.Get().(type) {
	case bool:
		return "want true or false"
	case int, int64, uint, uint64:
		return "want an integer"
	case float64:
		return "want a number"
	case time.Duration:
		return "want a duration such as 90s, 10m or 1h30m"
	}
	return err.Error()
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// interspersed moves the flags in args before the positional arguments, so
// that the flag package, which stops at the first non-flag, sees them all.
// Everything after "--" stays positional.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}

// noArgs rejects positional arguments for commands that take none, so that
// "onair serve 8080" is not silently taken for "onair serve".
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	return nil
}

// noEnv are flags that choose one command's output rather than configure
// the node: an ONAIR_JSON meant for "space --json" (a switch) must not make
// "load --json FILE" write a file named "true".
var noEnv = map[string]bool{"json": true}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/plan"
)

const planAbout = `Turn measured per-node figures into a deployment for N listeners, with the
arithmetic, and say which limit (CPU, memory, open files, NIC) binds first at
each tier: origins (active and standby), edges per protocol, the origin
shields and CDN for HLS, NATS servers (a supercluster when --regions > 1).

  onair plan --listeners 8000000 [--mix hls=0.85,ll-hls=0.1,ogg=0.04,whep=0.01]
             [--surge 2000000/60s] [--botnet 100000/2/pow] [--json] [--html plan.html]
  onair plan --edges 3 --cores 2 [--colocated]      what E edges hold, how fast they admit
  onair plan --verify-claim 8000000 --receipts DIR|URL[,...]
             which signed onair load runs in the receipts logs back each figure

The figures are built in (this repository's latest measured results, each
printed with its source) unless --figures reads the files bench/ and
onair load --json wrote. Figures nobody measured are called extrapolated,
under "what this plan cannot know". --surge runs the surge simulator (the
gate's admission and the waiting line across the plan's edges): time to
admit p50/p95/p99, the longest line, how many waited over a minute; with
--botnet, what rejecting the bots costs the edges and whether proof of work
keeps the crowd's time to admit bounded.`

type planFlags struct {
	listeners, edges, regions, spaces, fdCap int
	mix, surge, botnet, figures, claim       string
	receipts, html                           string
	headroom, cores, mem, nic, admitMax      float64
	colocated, jsonOut                       bool
	warm                                     time.Duration
}

func runPlan(args []string) error {
	var pf planFlags
	fs := newFlagSet("plan", "onair plan --listeners N | --edges E | --verify-claim N [flags]", planAbout)
	fs.IntVar(&pf.listeners, "listeners", 0, "listeners to plan for, all at once")
	fs.StringVar(&pf.mix, "mix", "hls=0.85,ll-hls=0.1,ogg=0.04,whep=0.01", "share of listeners by protocol (hls, ll-hls, ogg, whep), summing to 1")
	fs.Float64Var(&pf.headroom, "headroom", 0.7, "share of each resource (CPU, memory, open files, NIC) a node may use")
	fs.Float64Var(&pf.cores, "cores", 16, "CPU cores per node")
	fs.Float64Var(&pf.mem, "mem", 32, "memory per node, GiB")
	fs.Float64Var(&pf.nic, "nic", 10, "network interface per node, Gbit/s")
	fs.IntVar(&pf.regions, "regions", 1, "regions the edges span (more than 1: a NATS supercluster)")
	fs.IntVar(&pf.spaces, "spaces", 1, "live shows at once")
	fs.IntVar(&pf.fdCap, "fd-cap", 0, "open files a process may hold (default: the built-in 20,000, this machine's cap)")
	fs.Float64Var(&pf.admitMax, "admit-rate-max", 5000, "the edges' --admit-rate-max: joins a second one edge admits at most")
	fs.IntVar(&pf.edges, "edges", 0, "what-if: instead of --listeners, how many listeners this many edges hold")
	fs.BoolVar(&pf.colocated, "colocated", false, "what-if: --cores is one machine running the origin, NATS, the edges and the load generator (this machine's bench/cluster)")
	fs.StringVar(&pf.surge, "surge", "", "simulate a join surge, ARRIVALS/DURATION, e.g. 2000000/60s")
	fs.DurationVar(&pf.warm, "surge-warm", time.Minute, "how long the edges ran before the surge (their admission rate climbs 100/s each healthy second)")
	fs.StringVar(&pf.botnet, "botnet", "", "with --surge: a botnet beside the crowd, BOTS/RATE[/pow] (joins a second per bot; pow: they solve proofs of work)")
	fs.StringVar(&pf.figures, "figures", "", "read figures from this file or directory (bench/results, onair load --json reports) over the built-in ones")
	fs.StringVar(&pf.claim, "verify-claim", "", "a capacity claim (listeners, e.g. 8000000): which signed load runs in --receipts back each figure")
	fs.StringVar(&pf.receipts, "receipts", "", "with --verify-claim: receipts logs, directories or node URLs, comma-separated")
	fs.BoolVar(&pf.jsonOut, "json", false, "print the plan as JSON instead of text")
	fs.StringVar(&pf.html, "html", "", "also write the plan as one self-contained HTML page to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	rep, err := pf.build()
	if err != nil {
		return err
	}
	if pf.html != "" {
		if err := writeHTMLFile(pf.html, rep); err != nil {
			return err
		}
	}
	if pf.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(os.Stdout)
	if pf.html != "" {
		fmt.Printf("\nwrote %s\n", pf.html)
	}
	return nil
}

func writeHTMLFile(path string, rep *plan.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := plan.WriteHTML(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (pf *planFlags) build() (*plan.Report, error) {
	in, err := pf.input()
	if err != nil {
		return nil, err
	}
	figs, read, err := pf.readFigures()
	if err != nil {
		return nil, err
	}
	var s *plan.Surge
	var b *plan.Botnet
	if pf.surge != "" {
		v, err := plan.ParseSurge(pf.surge)
		if err != nil {
			return nil, usagef("--surge: %v", err)
		}
		s = &v
	}
	if pf.botnet != "" {
		if s == nil {
			return nil, usagef("--botnet goes with --surge: the botnet attacks beside a crowd")
		}
		v, err := plan.ParseBotnet(pf.botnet)
		if err != nil {
			return nil, usagef("--botnet: %v", err)
		}
		b = &v
	}
	rep, err := plan.Build(in, figs, pf.edges, pf.colocated, s, b, pf.warm)
	if err != nil {
		return nil, usageError{err}
	}
	rep.Read = read
	if pf.claim != "" {
		logs := strings.Split(pf.receipts, ",")
		rep.Claims, err = plan.CheckClaim(context.Background(), pf.claim, figs, plan.UsedFigures(figs, in.Mix), logs)
		if err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (pf *planFlags) input() (plan.Input, error) {
	mix, err := plan.ParseMix(pf.mix)
	if err != nil {
		return plan.Input{}, usagef("--mix: %v", err)
	}
	in := plan.Input{Listeners: pf.listeners, Mix: mix, Regions: pf.regions, Spaces: pf.spaces, AdmitMax: pf.admitMax,
		Node: plan.Node{Cores: pf.cores, MemGiB: pf.mem, NICGbit: pf.nic, Headroom: pf.headroom}}
	if pf.claim != "" {
		n, err := strconv.Atoi(strings.NewReplacer(",", "", "_", "").Replace(pf.claim))
		if err != nil || n < 1 {
			return in, usagef("--verify-claim %q: want the listeners claimed, e.g. 8000000", pf.claim)
		}
		if pf.receipts == "" {
			return in, usagef("--verify-claim needs --receipts: the receipts logs (directories or node URLs) holding the load runs' claims")
		}
		if in.Listeners == 0 && pf.edges == 0 {
			in.Listeners = n
		}
	}
	switch {
	case pf.listeners > 0 && pf.edges > 0:
		return in, usagef("give --listeners (a plan) or --edges (a what-if), not both")
	case pf.listeners < 0 || pf.edges < 0:
		return in, usagef("--listeners and --edges want positive numbers")
	case in.Listeners == 0 && pf.edges == 0:
		return in, usagef("give --listeners N (a plan), --edges E (a what-if) or --verify-claim N")
	case pf.colocated && pf.edges == 0:
		return in, usagef("--colocated is for a what-if (--edges E): one machine running everything")
	case pf.admitMax <= 0:
		return in, usagef("--admit-rate-max %g: want joins a second above 0", pf.admitMax)
	}
	if err := in.Check(); err != nil {
		return in, usageError{err}
	}
	return in, nil
}

func (pf *planFlags) readFigures() (plan.Figures, []string, error) {
	figs := plan.Defaults()
	var read []string
	if pf.figures != "" {
		m, notes, err := plan.ReadFigures(pf.figures)
		if err != nil {
			return nil, nil, err
		}
		figs, read = figs.Merge(m), notes
	}
	if pf.fdCap < 0 {
		return nil, nil, usagef("--fd-cap %d: want the open files a process may hold", pf.fdCap)
	}
	if pf.fdCap > 0 {
		figs["fd_cap"] = plan.Figure{Value: float64(pf.fdCap), Unit: "files", Source: "--fd-cap (a setting)"}
	}
	return figs, read, figs.Check()
}

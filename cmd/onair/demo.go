package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/server"
	"github.com/onair-live/onair/internal/synth"
)

func runDemo(args []string) error {
	fs := newFlagSet("demo", "onair demo [flags]",
		"Start a server in a temporary data dir, create a space with a synthetic speaker\n"+
			"(a gentle melody, no ffmpeg needed), take it live and print where to listen.\n"+
			"Ctrl-C ends the show; the recording is kept in the data dir.")
	var cfg server.Config
	var level string
	var edges int
	serverFlags(fs, &cfg, &level)
	fs.IntVar(&edges, "edges", 0, "0: one process does everything (the default); N: a cluster on this machine instead: "+
		"three embedded NATS servers, an origin on --host-listen and N edges, the first on --listen and each next one 10 ports above")
	fs.Lookup("data").DefValue = "(a new temporary directory)"
	cfg.DataDir = "" // not fs.Set: that would count as given and hide $ONAIR_DATA
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	log, err := newLogger(level)
	if err != nil {
		return err
	}
	cfg.Log = log
	if cfg.DataDir == "" {
		if cfg.DataDir, err = os.MkdirTemp("", "onair-demo-"); err != nil {
			return err
		}
	}
	if edges > 0 {
		return runClusterDemo(cfg, edges, log)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	srv.Serve()
	id, hostToken, err := startDemoSpace(srv)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	printDemo(srv, id, hostToken, cfg.DataDir)
	return waitAndShutdown(srv, log)
}

func runClusterDemo(cfg server.Config, edges int, log *slog.Logger) error {
	if edges > 9 {
		return usagef("--edges: at most 9 on one machine")
	}
	d, err := startDemoCluster(cfg, edges, log)
	if err != nil {
		return err
	}
	defer d.stop()
	id, hostToken, err := startDemoSpace(d.origin)
	if err != nil {
		return err
	}
	d.print(id, hostToken, cfg.DataDir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down the cluster demo: ending the show, finalizing the recording")
	return nil
}

// startDemoSpace creates the demo space, attaches the synthetic speaker and
// takes the space live.
func startDemoSpace(srv *server.Server) (id, hostToken string, err error) {
	sp, hostToken, err := srv.Store().CreateSpace("onair demo", time.Now().UTC(), time.Now().UTC())
	if err != nil {
		return "", "", err
	}
	spk, err := srv.Manager().Speaker(sp.ID, "synth")
	if err != nil {
		return "", "", err
	}
	go func() {
		if err := synth.Run(context.Background(), spk, synth.NewMelody()); err != nil && !errors.Is(err, mix.ErrClosed) {
			srv.Log().Error("synthetic speaker stopped", "err", err)
		}
	}()
	if _, err := srv.Manager().Start(sp.ID); err != nil {
		return "", "", err
	}
	return sp.ID, hostToken, nil
}

// demoTicketTTL is the life of the ticket in the printed player URLs: a
// user copies them to a player at any time while the demo runs, however
// long that is, so it outlives any demo (the space is the demo's own, in a
// data dir of its own).
const demoTicketTTL = 10 * 365 * 24 * time.Hour

func printDemo(srv *server.Server, id, hostToken, dataDir string) {
	tok, _, err := srv.Keys().Issue(id, demoTicketTTL, time.Now())
	if err != nil {
		return
	}
	pub := srv.PublicURL()
	ogg := pub + "/live/" + id + ".opus?t=" + tok
	fmt.Printf(`
onair demo is on air: a synthetic speaker is live in space %[1]s.

  Listen in a browser:  %[2]s/s/%[1]s
  Speak in a browser:   %[4]s/studio/%[1]s#token=%[6]s
  Listen with ffplay:   ffplay -nodisp '%[3]s'
  LL-HLS with ffplay:   ffplay -nodisp '%[2]s/hls/%[1]s/index.m3u8?t=%[7]s'
  Or with curl:         curl -s '%[3]s' | ffprobe -hide_banner -
  Join like a client:   curl -s -X POST %[2]s/api/v1/spaces/%[1]s/join
  Metrics:              %[4]s/metrics
  Dashboard:            %[4]s/dashboard#key=ADMIN_KEY (the key is in admin.key)
  Receipts:             onair receipts verdict %[5]s/receipts (or report ... --out report.html)

Data dir: %[5]s (admin key in admin.key). Press Ctrl-C to end the show;
the replay is then in %[5]s/recordings/%[1]s.opus.

`, id, pub, ogg, srv.HostURL(), dataDir, hostToken, tok)
}

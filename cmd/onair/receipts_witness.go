package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/onair-live/onair/internal/receipts"
	"github.com/onair-live/onair/internal/receipts/witness"
)

func runReceiptsWitness(fs *flag.FlagSet, args []string) error {
	host, _ := os.Hostname()
	cfg := witness.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	var listen string
	fs.StringVar(&cfg.Log, "log", "", "the node's public URL (or its .../receipts URL) (required)")
	fs.StringVar(&cfg.LogKey, "key", "", "the node's receipts verifier key, as it printed it at start (required)")
	fs.StringVar(&listen, "listen", "127.0.0.1:8090", "address to serve the cosignatures on")
	fs.StringVar(&cfg.Data, "data", "./onair-witness", "directory for the witness's key, its cosigned checkpoints and its state")
	fs.StringVar(&cfg.Name, "name", "onair-witness/"+host, "the witness's name in its cosignatures, for a new key")
	fs.DurationVar(&cfg.Interval, "interval", receipts.CheckpointEvery, "how often to fetch the node's checkpoint")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if cfg.Log == "" || cfg.LogKey == "" {
		return usagef("--log URL and --key VKEY are required")
	}
	w, err := witness.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("witness key: %s\n", w.VerifierKey())
	fmt.Printf("cosigning %s; cosignatures at http://%s/witness/checkpoint\n", cfg.Log, ln.Addr())
	ctx, stop := signalContext()
	defer stop()
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go w.Run(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/receipts"
)

// postClaim signs the run's summary with the load generator's own key
// (created in keyFile on first use) and posts it to the target, which logs
// it in its receipts. A claim that cannot be logged is a warning: the run
// itself measured what it measured.
func postClaim(rep *load.Report, target, keyFile string, out io.Writer) {
	key, created, err := receipts.LoadOrCreateKey(keyFile, receipts.DefaultClaimKeyName())
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged: key %s: %v\n", keyFile, err)
		return
	}
	if created {
		fmt.Fprintf(out, "\ncreated the claim key %s: %s\n", keyFile, key.VKey)
	}
	signed, err := receipts.SignClaim(key, rep.Claim())
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged: %v\n", err)
		return
	}
	// A fresh context: an interrupted run still posts what it measured.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	index, err := receipts.PostClaim(ctx, target, key, signed)
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged by the target: %v\n", err)
		return
	}
	fmt.Fprintf(out, "\nclaim logged by the target as receipts entry %d, signed by %s\n", index, key.VKey)
}

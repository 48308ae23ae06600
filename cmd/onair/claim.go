package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/receipts"
)

// postClaims signs the run's summary with the load generator's own key
// (created in keyFile on first use) and posts it to the target, or to each
// edge that served listeners, which logs it in its receipts. A claim that
// cannot be logged is a warning: the run itself measured what it measured.
func postClaims(rep *load.Report, keyFile string, out io.Writer) {
	key, created, err := receipts.LoadOrCreateKey(keyFile, receipts.DefaultClaimKeyName())
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged: key %s: %v\n", keyFile, err)
		return
	}
	if created {
		fmt.Fprintf(out, "\ncreated the claim key %s: %s\n", keyFile, key.VKey)
	}
	claims := rep.Claims()
	for _, c := range claims {
		who := "the target"
		if len(claims) > 1 {
			who = c.Target
		}
		postClaim(key, c, who, out)
	}
}

// postClaim signs one claim and posts it to its target (named who).
func postClaim(key receipts.KeyPair, c load.Claim, who string, out io.Writer) {
	signed, err := receipts.SignClaim(key, c)
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged: %v\n", err)
		return
	}
	// A fresh context: an interrupted run still posts what it measured.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	index, err := receipts.PostClaim(ctx, c.Target, key, signed)
	if err != nil {
		fmt.Fprintf(out, "\nwarning: claim not logged by %s: %v\n", who, err)
		return
	}
	fmt.Fprintf(out, "\nclaim logged by %s as receipts entry %d, signed by %s\n", who, index, key.VKey)
}

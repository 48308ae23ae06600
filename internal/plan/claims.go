package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onair-live/onair/internal/load"
	"github.com/onair-live/onair/internal/receipts"
)

// ClaimCheck is which measured runs back each figure a capacity claim
// rests on, by their signed onair load claims in receipts logs.
type ClaimCheck struct {
	Claim   string          `json:"claim"`
	Logs    []LogCheck      `json:"logs"`
	Figures []FigureBacking `json:"figures"`
}

// LogCheck is one receipts log read, and whether it verified.
type LogCheck struct {
	Source   string `json:"source"`
	Verified bool   `json:"verified"`
	Failure  string `json:"failure,omitempty"`
	Claims   int    `json:"claims"`
}

// FigureBacking is one figure and the claim entries behind it.
type FigureBacking struct {
	Figure  string        `json:"figure"`
	Value   float64       `json:"value"`
	Unit    string        `json:"unit"`
	Source  string        `json:"source"`
	Backed  bool          `json:"backed"` // by at least one verified claim
	Entries []ClaimBackup `json:"entries"`
	Note    string        `json:"note,omitempty"`
}

// ClaimBackup is one claim entry that matches the figure's run.
type ClaimBackup struct {
	Log      string `json:"log"`
	Index    int64  `json:"index"`
	Key      string `json:"key"`
	Summary  string `json:"summary"`
	Verified bool   `json:"verified"`
	Why      string `json:"why,omitempty"`
}

// loggedClaim is a claim entry as read from a log.
type loggedClaim struct {
	log     string
	index   int64
	key     string
	summary string
	claim   load.Claim
	err     error // the note did not verify, or its summary is unreadable
	logOK   bool
}

// CheckClaim reads the logs (directories or node URLs) and matches each
// figure used to the claims logged for the run it came from: same start
// second (within 2 s) and protocol.
func CheckClaim(ctx context.Context, claim string, f Figures, used []string, logs []string) (*ClaimCheck, error) {
	c := &ClaimCheck{Claim: claim}
	var all []loggedClaim
	for _, loc := range logs {
		lc, claims, err := readClaims(ctx, loc)
		if err != nil {
			return nil, err
		}
		c.Logs = append(c.Logs, lc)
		all = append(all, claims...)
	}
	for _, name := range used {
		fig := f[name]
		b := FigureBacking{Figure: name, Value: fig.Value, Unit: fig.Unit, Source: fig.Source, Entries: []ClaimBackup{}}
		switch {
		case fig.Extrapolated:
			b.Note = "extrapolated: no measured run can back it"
		case fig.Run == nil:
			b.Note = "no backing claim: its run is not an onair load run on record (a setting, a micro-benchmark or a README figure)"
		default:
			for _, lc := range all {
				if matches(lc, fig.Run) {
					b.Entries = append(b.Entries, lc.backup())
					b.Backed = b.Backed || (lc.err == nil && lc.logOK)
				}
			}
			if len(b.Entries) == 0 {
				b.Note = fmt.Sprintf("no backing claim: no claim in the logs for the %s run of %s (%d listeners, started %d)",
					fig.Run.Protocol, fig.Run.File, fig.Run.Listeners, fig.Run.StartT)
			}
		}
		c.Figures = append(c.Figures, b)
	}
	return c, nil
}

func matches(lc loggedClaim, r *Run) bool {
	if lc.err != nil && lc.claim.StartT == 0 {
		return false
	}
	d := lc.claim.StartT - r.StartT
	return d >= -2 && d <= 2 && protocolOf(lc.claim.Protocol, lc.claim.HLSPlayer) == r.Protocol
}

func (lc loggedClaim) backup() ClaimBackup {
	b := ClaimBackup{Log: lc.log, Index: lc.index, Key: lc.key, Summary: lc.summary, Verified: lc.err == nil && lc.logOK}
	switch {
	case lc.err != nil:
		b.Why = lc.err.Error()
	case !lc.logOK:
		b.Why = "the claim's signature holds but the log does not verify"
	}
	return b
}

// readClaims verifies the log at loc and reads its claim entries.
func readClaims(ctx context.Context, loc string) (LogCheck, []loggedClaim, error) {
	lc := LogCheck{Source: loc}
	src, err := receipts.NewSource(loc)
	if err != nil {
		return lc, nil, fmt.Errorf("receipts %s: %w", loc, err)
	}
	v := receipts.Verify(ctx, src, receipts.VerifyOptions{})
	lc.Verified = v.Failure == nil
	if v.Failure != nil {
		lc.Failure = v.Failure.Error()
	}
	_, ck, err := receipts.ReadCheckpoint(ctx, src, "")
	if err != nil {
		return lc, nil, fmt.Errorf("receipts %s: %w", loc, err)
	}
	var out []loggedClaim
	err = receipts.Entries(ctx, src, ck, 0, func(i int64, e []byte) error {
		if cl, ok := parseClaimEntry(loc, i, e); ok {
			cl.logOK = lc.Verified && (v.Failure == nil || v.Failure.Index < 0 || i < v.Failure.Index)
			out = append(out, cl)
		}
		return nil
	})
	if err != nil {
		return lc, nil, fmt.Errorf("receipts %s: %w", loc, err)
	}
	lc.Claims = len(out)
	return lc, out, nil
}

// parseClaimEntry reads a claim entry: its key, its summary (as
// `onair receipts show` sums it up) and the claim its note signs.
func parseClaimEntry(loc string, i int64, e []byte) (loggedClaim, bool) {
	var ce receipts.ClaimEntry
	if json.Unmarshal(e, &ce) != nil || ce.Kind != "claim" {
		return loggedClaim{}, false
	}
	lc := loggedClaim{log: loc, index: i, key: ce.Key}
	if r, err := receipts.ParseRecord(e); err == nil {
		lc.summary = receipts.Row(i, r)[len(receipts.ShowColumns)-1]
	}
	text, err := receipts.VerifyClaim(ce.Key, []byte(ce.Note))
	if err != nil {
		lc.err = err
		body, _, _ := strings.Cut(ce.Note, "\n\n") // still say which run it names
		text = []byte(body)
	}
	if err := json.Unmarshal(text, &lc.claim); err != nil && lc.err == nil {
		lc.err = fmt.Errorf("claim summary: %v", err)
	}
	return lc, true
}

// UsedFigures lists the figures a plan for mix rests on.
func UsedFigures(f Figures, mix map[string]float64) []string {
	var out []string
	for _, n := range f.Sorted() {
		_, proto, ok := strings.Cut(n, ".")
		if ok && mix[proto] == 0 {
			continue
		}
		out = append(out, n)
	}
	return out
}

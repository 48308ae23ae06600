package receipts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ShowColumns are the columns of Row.
var ShowColumns = []string{"INDEX", "TIME (UTC)", "KIND", "LISTENERS", "ADMITTED", "QUEUED", "REJECTED", "CPU", "MODE", "DETAIL"}

// Row is an entry as a row of the show table; fields a record lacks are
// shown as "-".
func Row(index int64, r Record) []string {
	row := []string{strconv.FormatInt(index, 10), time.Unix(r.T, 0).UTC().Format("2006-01-02 15:04:05"), r.Kind,
		"-", "-", "-", "-", "-", "-", ""}
	num := func(path string) string {
		if f, ok := r.Number(path); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return "-"
	}
	switch r.Kind {
	case "second":
		row[3], row[4], row[5] = num("listeners.total"), num("joins.admitted"), num("joins.queued")
		if sum, ok := r.Sum("joins.rejected"); ok {
			row[6] = strconv.FormatFloat(sum, 'f', -1, 64)
		}
		if cpu, ok := r.Number("node.cpu"); ok {
			row[7] = fmt.Sprintf("%.1f%%", cpu*100)
		}
		if m, ok := r.Field("gate.mode").(string); ok {
			row[8] = m
		}
	case "event":
		row[9] = strings.TrimSpace(fmt.Sprintf("%s %s", str(r.Field("space")), str(r.Field("event"))))
	case "claim":
		row[9] = claimDetail(r)
	}
	return row
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// claimDetail names the claim's key and sums up what it claims.
func claimDetail(r Record) string {
	key, _ := r.Field("key").(string)
	name, _, _ := strings.Cut(key, "+")
	text := r.Field("note")
	s, _ := text.(string)
	body, _, _ := strings.Cut(s, "\n\n")
	var c Record
	if err := json.Unmarshal([]byte(body), &c.Fields); err != nil {
		return "by " + name + ": (unreadable summary)"
	}
	parts := []string{}
	for _, f := range []struct{ path, unit string }{
		{"listeners.peak_connected", "listeners held"}, {"listeners.target", "asked"},
		{"stalls.events", "stalls"}, {"errors", "errors"}, {"elapsed_s", "s"}} {
		if n := c.Field(f.path); n != nil {
			parts = append(parts, fmt.Sprint(n)+" "+f.unit)
		}
	}
	return "by " + name + ": " + strings.Join(parts, ", ")
}

package receipts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Record is what the log's tooling reads of an entry: every entry is a JSON
// object with an integer "t" (unix second) and a string "kind" ("second" for
// the per-second records, "event", "claim", ...). Fields holds the whole
// object, numbers as json.Number.
type Record struct {
	T      int64
	Kind   string
	Fields map[string]any
}

// ParseRecord parses one entry.
func ParseRecord(entry []byte) (Record, error) {
	var r Record
	d := json.NewDecoder(bytes.NewReader(entry))
	d.UseNumber()
	if err := d.Decode(&r.Fields); err != nil {
		return r, fmt.Errorf("not a JSON object: %v", err)
	}
	if d.More() {
		return r, errors.New("more than one JSON value")
	}
	if r.Fields == nil {
		return r, errors.New("not a JSON object")
	}
	t, ok := r.Fields["t"].(json.Number)
	if !ok {
		return r, errors.New(`no number "t"`)
	}
	var err error
	if r.T, err = t.Int64(); err != nil {
		return r, fmt.Errorf(`"t" is not an integer: %s`, t)
	}
	if r.Kind, ok = r.Fields["kind"].(string); !ok {
		return r, errors.New(`no string "kind"`)
	}
	return r, nil
}

// Field is the value at a dotted path ("joins.admitted"), or nil.
func (r Record) Field(path string) any {
	var v any = r.Fields
	for _, k := range splitPath(path) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Number is the numeric field at path.
func (r Record) Number(path string) (float64, bool) {
	n, ok := r.Field(path).(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// Sum adds the numbers of the object at path (e.g. rejects by reason).
func (r Record) Sum(path string) (float64, bool) {
	m, ok := r.Field(path).(map[string]any)
	if !ok {
		return 0, false
	}
	var sum float64
	for _, v := range m {
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				sum += f
			}
		}
	}
	return sum, true
}

func splitPath(p string) []string { return strings.Split(p, ".") }

// SecondsReport follows the run of per-second records: the seconds they
// cover and those missing (gaps are reported, never hidden).
type SecondsReport struct {
	Count     int64 `json:"count"`
	First     int64 `json:"first,omitempty"`
	Last      int64 `json:"last,omitempty"`
	Missing   int64 `json:"missing"`
	Gaps      []Gap `json:"gaps"`
	Backwards int64 `json:"backwards,omitempty"` // records not later than the one before
	last      int64
}

// Gap is a run of missing seconds, From to To inclusive; AfterIndex is the
// last entry before it.
type Gap struct {
	From       int64 `json:"from"`
	To         int64 `json:"to"`
	Seconds    int64 `json:"seconds"`
	AfterIndex int64 `json:"after_index"`
}

// maxGaps bounds the gaps listed; Missing counts them all.
const maxGaps = 1000

func (s *SecondsReport) add(index, t int64, rep *VerifyReport) {
	if s.Count > 0 {
		switch {
		case t <= s.last:
			s.Backwards++
			rep.warn("entry %d: second %d comes after second %d", index, t, s.last)
			return
		case t > s.last+1:
			s.Missing += t - s.last - 1
			if s.Gaps == nil {
				s.Gaps = []Gap{}
			}
			if len(s.Gaps) < maxGaps {
				s.Gaps = append(s.Gaps, Gap{s.last + 1, t - 1, t - s.last - 1, index - 1})
			}
		}
	} else {
		s.First = t
	}
	s.Count++
	s.last, s.Last = t, t
}

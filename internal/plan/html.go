package plan

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/onair-live/onair/internal/report"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("plan").Funcs(template.FuncMap{
	"count": func(v any) string {
		switch x := v.(type) {
		case int:
			return count(float64(x))
		case float64:
			return count(x)
		}
		return fmt.Sprint(v)
	},
	"secs": dur,
	// bar is a limit's capacity against the binding one, as a bar whose
	// length grows with the spare it leaves (log scale: limits differ by
	// orders of magnitude).
	"bar": func(per, min float64, binds bool) template.HTML {
		w := 100.0
		if !math.IsInf(per, 1) && min > 0 {
			w = math.Min(100, 20+20*math.Log10(per/min))
		}
		class := "bar"
		if binds {
			class += " binds"
		}
		return template.HTML(fmt.Sprintf(`<span class="%s" style="width:%.0f%%"></span>`, class, w))
	},
}).Parse(pageHTML))

type figureRow struct {
	Name, Unit, Source string
	Value              float64
}

// WriteHTML renders the report as one self-contained page: its data and
// the charts' script (the receipts report's) inline, nothing fetched.
func WriteHTML(w io.Writer, r *Report) error {
	series := map[string][]float64{"t": {}, "arrivals": {}, "admitted": {}, "line": {}, "rate": {}}
	if r.Surge != nil {
		for _, p := range r.Surge.Timeline {
			series["t"] = append(series["t"], p.T)
			series["arrivals"] = append(series["arrivals"], float64(p.Arrivals))
			series["admitted"] = append(series["admitted"], float64(p.Admitted))
			series["line"] = append(series["line"], float64(p.Line))
			series["rate"] = append(series["rate"], p.AdmitRate)
		}
	}
	js, err := json.Marshal(series) // escapes <, > and &: safe inside a script element
	if err != nil {
		return err
	}
	var figs []figureRow
	for _, n := range r.Figures.Sorted() {
		f := r.Figures[n]
		figs = append(figs, figureRow{n, f.Unit, f.Source, f.Value})
	}
	title := "onair plan"
	switch {
	case r.Plan != nil:
		title = fmt.Sprintf("onair plan: %s listeners", count(float64(r.Plan.Input.Listeners)))
	case r.Capacity != nil:
		title = fmt.Sprintf("onair plan: what %d edge(s) hold", r.Capacity.Edges)
	}
	return page.Execute(w, struct {
		Title, Generated string
		R                *Report
		Figures          []figureRow
		DataJSON         template.JS
		Charts           template.JS
	}{title, time.Now().UTC().Format(time.RFC3339), r, figs, template.JS(js), template.JS(report.ChartsJS)})
}

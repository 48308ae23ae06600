package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// readClusterCPU reads bench/cluster's CPU.cpu (key=value lines of /proc
// CPU ticks over the full-load seconds) with the load report beside it.
func (rs *readSet) readClusterCPU(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	kv := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "onair_bus_latency") {
			continue
		}
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s: field %s: %q is not a number", path, k, v)
			}
			kv[k] = x
		}
	}
	for _, k := range []string{"edges", "listeners", "span_s", "hz", "origin_cpu_ticks"} {
		if v, ok := kv[k]; !ok || v <= 0 && k != "origin_cpu_ticks" {
			return fmt.Errorf("%s: field %s: missing or not positive (a bench/cluster .cpu file)", path, k)
		}
	}
	edges := int(kv["edges"])
	var ticks float64
	for i := 1; i <= edges; i++ {
		t, ok := kv[fmt.Sprintf("edge%d_cpu_ticks", i)]
		if !ok {
			return fmt.Errorf("%s: field edge%d_cpu_ticks: missing (edges=%d)", path, i, edges)
		}
		ticks += t
	}
	jpath := strings.TrimSuffix(path, ".cpu") + ".json"
	jb, err := os.ReadFile(jpath)
	if err != nil {
		return fmt.Errorf("%s: its load report: %w", path, err)
	}
	rep, proto, err := parseLoadReport(jpath, jb)
	if err != nil {
		return err
	}
	if why := steady(rep); why != "" {
		rs.notes = append(rs.notes, fmt.Sprintf("%s: skipped (%s)", path, why))
		return nil
	}
	held := float64(rep.Listeners.PeakConnected)
	span, hz := kv["span_s"], kv["hz"]
	idle := Defaults()["edge_idle_cores"].Value
	gross := ticks / hz / span / held * 1e6
	net := gross - idle*float64(edges)/held*1e6
	run := runOf(jpath, rep, proto)
	src := fmt.Sprintf("%s (bench/cluster, %d edges, %s listeners held, %s)", path, edges, count(held), rep.Start.UTC().Format("2006-01-02T15:04Z"))
	rs.put("cpu."+proto, candidate{Figure{Value: round1(net), Unit: "µs/listener-s", Run: run, Source: fmt.Sprintf(
		"%s: the edges' %.1f µs per listener-second, less their idle %g cores each", src, gross, idle)}, 2, int(held)})
	rs.put("origin_cores", candidate{Figure{Value: round3(kv["origin_cpu_ticks"] / hz / span), Unit: "cores", Run: run,
		Source: src + ": origin_cpu_ticks / hz / span_s"}, 2, int(held)})
	rs.notes = append(rs.notes, fmt.Sprintf("%s: edge CPU per listener-second, origin CPU", path))
	return nil
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// readTable reads bench/run's table.md: a Markdown table with a row per
// target and crowd; onair's rows give CPU, RSS and idle CPU.
func (rs *readSet) readTable(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cols []string
	rows := 0
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if cols == nil {
			cols = cells
			continue
		}
		if len(cells) != len(cols) {
			return fmt.Errorf("%s: line %d: %d cells, the header has %d", path, i+1, len(cells), len(cols))
		}
		row := map[string]string{}
		for j, c := range cols {
			row[c] = cells[j]
		}
		if row["target"] != "onair" {
			continue
		}
		if err := rs.tableRow(path, i+1, row); err != nil {
			return err
		}
		rows++
	}
	if rows == 0 {
		return fmt.Errorf("%s: no onair row in the table (want bench/run's table.md)", path)
	}
	rs.notes = append(rs.notes, fmt.Sprintf("%s: %d onair row(s): CPU net of idle, RSS", path, rows))
	return nil
}

func (rs *readSet) tableRow(path string, line int, row map[string]string) error {
	num := func(col string) (float64, error) {
		s, ok := row[col]
		if !ok {
			return 0, fmt.Errorf("%s: line %d: field %q: no such column", path, line, col)
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%s: line %d: field %q: %q is not a number", path, line, col, s)
		}
		return v, nil
	}
	n, err := num("listeners")
	if err != nil {
		return err
	}
	var vals [2]float64
	for i, col := range []string{"CPU µs/listener-s", "RSS KiB/listener"} {
		if vals[i], err = num(col); err != nil {
			return err
		}
	}
	held := row["held stall-free"]
	if !strings.Contains(held, "(100.0%)") {
		rs.notes = append(rs.notes, fmt.Sprintf("%s: line %d skipped (held %s)", path, line, held))
		return nil
	}
	src := fmt.Sprintf("%s line %d (bench/run, %s listeners)", path, line, count(n))
	rs.put("cpu.ogg", candidate{Figure{Value: vals[0], Unit: "µs/listener-s", Source: src + ": CPU net of idle"}, 1, int(n)})
	rs.put("rss.ogg", candidate{Figure{Value: vals[1], Unit: "KiB/listener", Source: src + ": RSS per listener"}, 1, int(n)})
	return nil
}

var (
	hlsName   = regexp.MustCompile(`^hls-cache-(classic|ll)-(\d+)\.txt$`)
	hlsNginx  = regexp.MustCompile(`nginx \([^)]*\) CPU: +[0-9.]+ s = ([0-9.]+) µs per listener-second`)
	hlsOrigin = regexp.MustCompile(`onair \(origin\) CPU: +[0-9.]+ s = ([0-9.]+) µs per listener-second`)
	hlsReach  = regexp.MustCompile(`requests reaching onair: \d+ for \d+ parts produced \(([0-9.]+) per part\)`)
)

// readHLSCache reads bench/hls-cache's summary, hls-cache-PLAYER-N.txt.
func (rs *readSet) readHLSCache(path string) error {
	m := hlsName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return fmt.Errorf("%s: want the name bench/hls-cache gives, hls-cache-classic|ll-N.txt", path)
	}
	proto := map[string]string{"classic": "hls", "ll": "ll-hls"}[m[1]]
	n, _ := strconv.Atoi(m[2])
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := fmt.Sprintf("%s (bench/hls-cache, %s %s players)", path, count(float64(n)), m[1])
	for _, f := range []struct {
		re          *regexp.Regexp
		name, field string
		unit        string
	}{{hlsNginx, "cpu." + proto, "nginx (all workers) CPU", "µs/player-s"},
		{hlsReach, "shield_reach." + proto, "requests reaching onair", "requests/part"}} {
		sm := f.re.FindSubmatch(b)
		if sm == nil {
			return fmt.Errorf("%s: field %q: missing (the line bench/hls-cache prints at the end)", path, f.field)
		}
		v, _ := strconv.ParseFloat(string(sm[1]), 64)
		rs.put(f.name, candidate{Figure{Value: v, Unit: f.unit, Source: src + ": " + f.field}, 2, n})
	}
	if sm := hlsOrigin.FindSubmatch(b); sm != nil {
		rs.notes = append(rs.notes, fmt.Sprintf("%s: nginx CPU, requests reaching onair per part (onair %s µs per player-second)", path, sm[1]))
	} else {
		rs.notes = append(rs.notes, fmt.Sprintf("%s: nginx CPU, requests reaching onair per part", path))
	}
	return nil
}

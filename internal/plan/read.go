package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/load"
)

// candidate is a figure read from a file, with how much it counts against
// others for the same name: the role it was measured in (rank: an edge of
// a cluster over a lone process), then the crowd's size.
type candidate struct {
	fig    Figure
	rank   int
	weight int
}

type readSet struct {
	cands map[string]candidate
	notes []string
}

func (rs *readSet) put(name string, c candidate) {
	if old, ok := rs.cands[name]; ok && (old.rank > c.rank || (old.rank == c.rank && old.weight > c.weight)) {
		return
	}
	rs.cands[name] = c
}

// ReadFigures reads the figures in path: a file that bench/ or onair load
// --json wrote, or a directory of them (bench/results). It returns the
// figures read and a line per file saying what was taken or skipped. A
// file that looks like one of those formats and is not whole is an error
// naming the file and the field.
func ReadFigures(path string) (Figures, []string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("figures: %w", err)
	}
	rs := &readSet{cands: map[string]candidate{}}
	if !st.IsDir() {
		ok, err := rs.readFile(path)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("%s: not a figures file (want an onair load --json report, a bench/cluster .cpu "+
				"beside its .json, bench/run's table.md or a bench/hls-cache .txt)", path)
		}
	} else {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, nil, fmt.Errorf("figures: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if _, err := rs.readFile(filepath.Join(path, e.Name())); err != nil {
				return nil, nil, err
			}
		}
	}
	out := Figures{}
	for n, c := range rs.cands {
		if v := c.fig.Value; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, nil, fmt.Errorf("%s: figure %s = %g from it: want a finite number, 0 or more", c.fig.Source, n, v)
		}
		out[n] = c.fig
	}
	sort.Strings(rs.notes)
	return out, rs.notes, nil
}

// readFile reads one file; false: not a format it knows (left alone).
func (rs *readSet) readFile(path string) (bool, error) {
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, ".cpu"):
		return true, rs.readClusterCPU(path)
	case base == "table.md":
		return true, rs.readTable(path)
	case strings.HasPrefix(base, "hls-cache-") && strings.HasSuffix(base, ".txt"):
		return true, rs.readHLSCache(path)
	case strings.HasSuffix(base, ".json"):
		b, err := os.ReadFile(path)
		if err != nil {
			return true, err
		}
		if !bytes.Contains(b, []byte(`"config"`)) || !bytes.Contains(b, []byte(`"listeners"`)) {
			return false, nil
		}
		return true, rs.readLoadReport(path, b)
	}
	return false, nil
}

// protocolOf names a load run's protocol as the plan does.
func protocolOf(protocol, player string) string {
	if protocol == "hls" {
		if player == "classic" {
			return "hls"
		}
		return "ll-hls"
	}
	return protocol
}

// parseLoadReport reads an onair load --json report and checks the fields
// the plan takes from it.
func parseLoadReport(path string, b []byte) (*load.Report, string, error) {
	var rep load.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, "", fmt.Errorf("%s: not an onair load report: %v", path, err)
	}
	proto := protocolOf(rep.Config.Protocol, rep.Config.HLSPlayer)
	switch {
	case !known(proto):
		return nil, "", fmt.Errorf("%s: field config.protocol: %q is not a protocol the plan knows (%s)", path, rep.Config.Protocol, strings.Join(Protocols, ", "))
	case rep.Listeners.Target <= 0:
		return nil, "", fmt.Errorf("%s: field listeners.target: missing or not positive", path)
	case rep.ListenerSeconds <= 0:
		return nil, "", fmt.Errorf("%s: field listener_seconds: missing or not positive", path)
	case rep.Start.IsZero():
		return nil, "", fmt.Errorf("%s: field start: missing", path)
	case rep.Bytes < 0:
		return nil, "", fmt.Errorf("%s: field bytes: negative", path)
	}
	return &rep, proto, nil
}

// steady says whether a run held its crowd: every listener connected at
// once (99%) and at most a tenth of them stalled. Runs that did not are
// no measure of what a node holds.
func steady(rep *load.Report) string {
	t := float64(rep.Listeners.Target)
	if float64(rep.Listeners.PeakConnected) < 0.99*t {
		return fmt.Sprintf("held %d of %d at once", rep.Listeners.PeakConnected, rep.Listeners.Target)
	}
	if float64(rep.Stalls.Listeners) > 0.1*t {
		return fmt.Sprintf("%d of %d listeners stalled", rep.Stalls.Listeners, rep.Listeners.Target)
	}
	return ""
}

func runOf(path string, rep *load.Report, proto string) *Run {
	return &Run{File: path, Protocol: proto, StartT: rep.Start.Unix(), Target: rep.Config.Target, Listeners: rep.Listeners.Target}
}

func measured(v float64, unit, path string, rep *load.Report, what string) Figure {
	return Figure{Value: v, Unit: unit, Source: fmt.Sprintf("%s (onair load, %d %s listeners, %s): %s", path,
		rep.Listeners.Target, protocolOf(rep.Config.Protocol, rep.Config.HLSPlayer), rep.Start.UTC().Format(time.RFC3339), what)}
}

func (rs *readSet) readLoadReport(path string, b []byte) error {
	rep, proto, err := parseLoadReport(path, b)
	if err != nil {
		return err
	}
	if why := steady(rep); why != "" {
		rs.notes = append(rs.notes, fmt.Sprintf("%s: skipped (%s)", path, why))
		return nil
	}
	run, w := runOf(path, rep, proto), rep.Listeners.Target
	put := func(name string, f Figure) { f.Run = run; rs.put(name, candidate{f, 1, w}) }
	put("bytes."+proto, measured(float64(rep.Bytes)/rep.ListenerSeconds, "B/listener-s", path, rep, "bytes / listener_seconds"))
	if c := rep.Client.FullLoadCPUPerListenerSecondUs; c > 0 {
		put("load_us", measured(c, "µs/listener-s", path, rep, "client.full_load_cpu_per_listener_second_us"))
	}
	taken := "bytes"
	if s := rep.Server; s != nil && s.Error == "" && s.FullLoadSeconds > 0 && s.FullLoadNetCPUPerListenerSecUs > 0 {
		put("cpu."+proto, measured(s.FullLoadNetCPUPerListenerSecUs, "µs/listener-s", path, rep, "server.full_load_net_cpu_per_listener_second_us"))
		put("rss."+proto, measured(s.RSSPerListenerKiB, "KiB/listener", path, rep, "server.rss_per_listener_kib"))
		put("edge_base_mib", measured(float64(s.RSSBeforeKiB)/1024, "MiB", path, rep, "server.rss_before_kib / 1024"))
		outside := s.CPUSeconds - s.FullLoadCPUPerListenerSecondUs*float64(w)*s.FullLoadSeconds/1e6 -
			s.IdleCPUPerSecondMs/1000*(rep.ElapsedS-s.FullLoadSeconds)
		if j := outside * 1e6 / float64(max(rep.Listeners.Joined, 1)); j > 0 {
			put("join_us", measured(j, "µs/join", path, rep, "server CPU outside the full-load seconds, less idle, per join"))
		}
		taken = "server CPU net of idle, RSS, join cost, bytes"
	}
	rs.notes = append(rs.notes, fmt.Sprintf("%s: %s", path, taken))
	return nil
}

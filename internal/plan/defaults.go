package plan

// The built-in figures: this repository's latest measured results (README.md
// "Performance" and bench/results/), each with its source. Figures nobody
// measured here are marked extrapolated and say why they are what they are.

const (
	cluster18k = "bench/results/cluster-e3-18000 (bench/cluster --edges 3 --duration 40s 18000), measured 2026-12-01"
	cluster6k  = "bench/results/cluster-e1-6000 (bench/cluster --edges 1 --duration 40s 6000), measured 2026-12-01"
	run1000    = "bench/results/onair-1000.json (bench/run 1000), measured 2026-12-01"
	readmeRun  = "README.md Performance (bench/run --repeat 3 19000), measured by 2026-12-01"
	readmeHLS  = "README.md Performance (bench/hls-cache 30000; bench/hls-cache --player ll 3000), measured by 2026-12-01"
)

// The measured runs the built-in figures come from (their start second, to
// find their signed claims in a receipts log).
var (
	runOnair1000  = &Run{File: "bench/results/onair-1000.json", Protocol: "ogg", StartT: 1796162527, Target: "http://127.0.0.1:23355", Listeners: 1000}
	runCluster18k = &Run{File: "bench/results/cluster-e3-18000.json", Protocol: "ogg", StartT: 1796166092, Target: "http://127.0.0.1:22375,http://127.0.0.1:24613,http://127.0.0.1:20020", Listeners: 18000}
	runCluster6k  = &Run{File: "bench/results/cluster-e1-6000.json", Protocol: "ogg", StartT: 1796166027, Target: "http://127.0.0.1:28821", Listeners: 6000}
)

func of(f Figure, r *Run) Figure { f.Run = r; return f }

func builtin(v float64, unit, from string) Figure {
	return Figure{Value: v, Unit: unit, Source: "built-in default from " + from}
}

func guess(v float64, unit, why string) Figure {
	return Figure{Value: v, Unit: unit, Source: "extrapolated: " + why, Extrapolated: true}
}

// Defaults are the built-in figures.
func Defaults() Figures {
	return Figures{
		"fd_cap": builtin(20000, "files", "this machine's open-file cap per process (a setting: ulimit -n); "+readmeRun+" held 19,000 under it"),
		"edge_idle_cores": builtin(0.01, "cores", "bench/results/cluster-e1-1000 (bench/cluster --edges 1 1000), measured 2026-12-01: "+
			"the edge took 3.9% of a core with 1,000 listeners, what 1,000 × 37.7 µs accounts for: an edge (no mixer) idles "+
			"within the noise, and 1% of a core bounds it"),
		"edge_base_mib": of(builtin(43.7, "MiB", run1000+": server.rss_before_kib 44,760"), runOnair1000),
		"cpu.ogg": of(builtin(36.0, "µs/listener-s", cluster18k+": the edges' 37.7 µs per listener-second at 6,000 per edge "+
			"(bus included, sharing 2 cores with the origin, NATS and the load generator), less their idle 0.01 cores each"), runCluster18k),
		"rss.ogg": builtin(15.3, "KiB/listener", readmeRun+": 19,000 arriving in 5 s peak at 283 MiB (the flash crowd's peak, "+
			"not the 2.9 KiB settled figure: memory must hold the peak)"),
		"files.ogg": builtin(1, "files/listener", readmeRun+": one socket per progressive listener, 19,000 held under a 20,000 cap"),
		"bytes.ogg": of(builtin(6525, "B/listener-s", cluster18k+": 4.61 GB in 706,957 listener-seconds (48 kb/s Opus in Ogg)"), runCluster18k),
		"join_us": of(builtin(345, "µs/join", run1000+": server CPU outside the full-load seconds, less idle, over 1,000 joins "+
			"((1.77 s - 68.9 µs × 1,000 × 19.0 s - 50 ms/s × 2.2 s) / 1,000)"), runOnair1000),
		"load_us": of(builtin(23.3, "µs/listener-s", cluster18k+": the load generator's CPU at full load"), runCluster18k),
		"origin_cores": of(builtin(0.07, "cores", cluster6k+": origin 7.0% of a core (6.1% with 3 edges, "+cluster18k+"), "+
			"flat in listeners"), runCluster6k),
		"draw_us":   builtin(5, "µs/join", "README.md Performance (go test -bench . ./internal/line/): about 5 µs of the keeper's CPU per draw"),
		"draws_max": builtin(18000, "joins/s", "README.md Performance (go test -bench . ./internal/line/): 18,000-42,000 draws/s with 64 at once, the low end"),
		"bus_edge_cores": guess(0.001, "cores/edge", "the origin's CPU did not grow from 1 edge to 3 (7.0% then 6.1%, "+cluster6k+
			" and cluster-e3-18000): NATS fans the program out, the origin publishes once; 0.1% of a core per edge bounds "+
			"what those runs could not see, and nothing measured past 3 edges"),
		"nats_msg_us": guess(2, "µs/message", "not measured here: core NATS delivering a 114-byte message (34-byte header "+
			"and a 20 ms Opus packet) to one subscriber; one subscriber takes 150,000 frames/s (README, -bench NATSThroughput)"),
		"reject_us": guess(34, "µs/request", "a refused request costs at most a served small one: Go's HTTP stack and the "+
			"kernel, about 34 µs a request (README: LL-HLS straight to onair, 336 µs per player-second at ~10 requests)"),
		"onair_request_us": builtin(34, "µs/request", "README.md Performance (onair load --protocol hls --listeners 3500 "+
			"against onair demo): 336 µs per LL-HLS player-second at about 10 requests a second"),
		"cdn_hit": guess(0.99, "ratio", "no CDN measured here; nginx alone answered all but 0.21 requests per part "+
			"of 30,000 classic players' (README, bench/hls-cache 30000); a CDN's points of presence each miss once per object"),

		"cpu.hls":             builtin(28.7, "µs/player-s", readmeHLS+": nginx (4 workers) per classic player-second, 30,000 players"),
		"cpu.ll-hls":          builtin(215, "µs/player-s", readmeHLS+": nginx per LL-HLS player-second, 3,000 players"),
		"requests.hls":        builtin(1, "requests/player-s", "README.md Performance: a classic player makes about 1 request a second"),
		"requests.ll-hls":     builtin(10, "requests/player-s", "README.md Performance: an LL-HLS player makes about 10 requests a second"),
		"shield_reach.hls":    builtin(0.21, "requests/part", readmeHLS+": requests reaching onair per part, classic players"),
		"shield_reach.ll-hls": builtin(2.8, "requests/part", readmeHLS+": requests reaching onair per part, LL-HLS players"),
		"rss.hls":             guess(16, "KiB/player", "nginx's per-connection state and socket buffers, not measured (the HLS benches did not sample nginx's RSS)"),
		"rss.ll-hls":          guess(16, "KiB/player", "as rss.hls: a keep-alive connection per player, not measured"),
		"files.hls":           guess(1, "files/player", "one keep-alive connection per player at the shield; a CDN's own connections are its business"),
		"files.ll-hls":        guess(1, "files/player", "one keep-alive connection per player (HTTP/1.1 with blocking reloads may use two)"),
		"bytes.hls":           guess(6800, "B/player-s", "48 kb/s Opus in fMP4 segments plus a playlist every 2 s; no byte count from bench/hls-cache is kept"),
		"bytes.ll-hls":        guess(11000, "B/player-s", "48 kb/s Opus in 200 ms parts plus ~5 blocking playlist reloads a second of ~1 KB each, with HTTP headers"),
		"cpu.whep":            guess(150, "µs/listener-s", "WHEP listeners were never loaded at scale here: 50 SRTP packets a second, each encrypted and sent on its own (about 3 µs each)"),
		"rss.whep":            guess(200, "KiB/listener", "a pion PeerConnection (ICE agent, DTLS and SRTP state, buffers), not measured"),
		"files.whep":          guess(1, "files/listener", "one UDP socket per PeerConnection (pion without a shared UDP mux), not measured"),
		"bytes.whep":          guess(8000, "B/listener-s", "48 kb/s Opus at 50 packets a second plus 40 bytes of RTP/SRTP/UDP/IP headers each"),
	}
}

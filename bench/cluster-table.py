#!/usr/bin/env python3
"""bench/cluster-table.py LOAD.json CPU.txt: one crowd's figures from
bench/cluster, as a Markdown table row (with its header)."""
import json
import re
import sys


def quantile(buckets, q):
    """The q-quantile from cumulative Prometheus buckets [(le, count)]."""
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return float("nan")
    prev_le, prev_c = 0.0, 0
    for le, c in buckets:
        if c >= q * total:
            if le == float("inf"):
                return prev_le
            frac = (q * total - prev_c) / max(c - prev_c, 1)
            return prev_le + (le - prev_le) * frac
        prev_le, prev_c = le, c
    return prev_le


def main():
    rep = json.load(open(sys.argv[1]))
    kv, lat, line_counts = {}, {}, {}
    for line in open(sys.argv[2]):
        if line.startswith("edge") and "onair_bus_latency_seconds_bucket" in line:
            m = re.search(r'le="([^"]+)"\}\s+(\S+)', line)
            if m:
                le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
                lat[le] = lat.get(le, 0) + float(m.group(2))
            continue
        if line.startswith("edge") and " onair_" in line:
            # Which line decided the joins, summed over the edges.
            _, metric, value = line.split()
            name = metric.replace("onair_", "").replace("_total", "")
            name = re.sub(r'\{(.*)\}', lambda m: "{" + ",".join(
                v for v in re.findall(r'="([^"]*)"', m.group(1)) if v != "join") + "}", name)
            line_counts[name] = line_counts.get(name, 0) + float(value)
            continue
        for f in line.split():
            k, _, v = f.partition("=")
            kv[k] = float(v)
    hz, span, edges = kv["hz"], kv["span_s"], int(kv["edges"])
    held = rep["listeners"]["peak_connected"]
    stalls = rep["stalls"]
    g2g = rep["metrics"].get("glass_to_glass_ms", {})
    origin_cpu = kv["origin_cpu_ticks"] / hz / span * 100
    edge_ticks = sum(kv[f"edge{i + 1}_cpu_ticks"] for i in range(edges))
    per_ls = edge_ticks / hz / span / max(held, 1) * 1e6
    b = sorted(lat.items())
    p50, p99 = quantile(b, 0.5) * 1000, quantile(b, 0.99) * 1000
    print("| edges | listeners asked | held | listeners stalled | g2g p50/p99 ms | origin CPU % | origin frames/s | edges CPU µs/listener-s | bus p50/p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {edges} | {kv['listeners']:.0f} | {held} | {stalls['listeners']} | {g2g.get('p50', 0):.0f}/{g2g.get('p99', 0):.0f} | "
          f"{origin_cpu:.1f} | {kv['frames_published'] / span:.0f} | {per_ls:.1f} | {p50:.2f}/{p99:.2f} |")
    if line_counts:
        print()
        print("joins at the edges: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(line_counts.items())))


main()

// onair charts: line charts as inline SVG, drawn from the series a receipts
// report or the dashboard carries. No dependencies, no network.
"use strict";
(function (global) {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function fmt(v) {
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + "k";
    if (Math.abs(v) < 1 && v !== 0) return v.toFixed(2);
    return String(Math.round(v));
  }

  function clock(t) {
    const d = new Date(t * 1000);
    return d.toISOString().substring(11, 19);
  }

  // chart draws lines (each {name, values}) over the times t (Unix seconds)
  // into container; marks (each {t, label}) are vertical lines (events, the
  // onset of an incident); bands (each {from, to, label, color}) shade spans.
  function chart(container, title, t, lines, opts) {
    opts = opts || {};
    const W = 760, H = 200, L = 52, R = 16, T = 40, B = 24;
    container.textContent = "";
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title }, container);
    el("text", { x: L, y: 16, class: "chart-title" }, svg).textContent = title;
    if (!t.length) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, svg).textContent = "no data yet";
      return svg;
    }
    const t0 = t[0], t1 = Math.max(t[t.length - 1], t0 + 1);
    let ymax = opts.ymax || 0;
    for (const l of lines) for (const v of l.values) if (v > ymax) ymax = v;
    if (ymax <= 0) ymax = 1;
    const x = (v) => L + ((v - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => H - B - (v / ymax) * (H - T - B);
    for (const b of opts.bands || []) {
      el("rect", { x: x(b.from), y: T, width: Math.max(2, x(b.to + 1) - x(b.from)), height: H - T - B, fill: b.color || "#fee2e2", class: "band" }, svg)
        .appendChild(document.createElementNS(NS, "title")).textContent = b.label;
    }
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, svg);
      el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, svg).textContent = fmt(v);
    }
    for (let i = 0; i <= 4; i++) {
      const v = t0 + ((t1 - t0) * i) / 4;
      const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
      el("text", { x: x(v), y: H - 6, "text-anchor": anchor, class: "tick" }, svg).textContent = clock(v);
    }
    // Marks: a dashed line each, labels staggered so that neighbours do not overlap.
    (opts.marks || []).forEach((m, i) => {
      el("line", { x1: x(m.t), x2: x(m.t), y1: T, y2: H - B, class: "mark" }, svg);
      el("text", { x: x(m.t) + 3, y: T + 10 + (i % 3) * 11, class: "mark-label" }, svg).textContent = m.label;
    });
    lines.forEach((l, i) => {
      const c = l.color || COLORS[i % COLORS.length];
      let d = "";
      l.values.forEach((v, k) => {
        if (v === null || v === undefined) return;
        d += (d === "" || l.values[k - 1] === null ? "M" : "L") + x(t[k]).toFixed(1) + "," + y(v).toFixed(1);
      });
      el("path", { d: d, fill: "none", stroke: c, "stroke-width": 1.6, class: "line", "data-name": l.name }, svg);
      const lx = L + i * 118; // the legend: a line of its own between the title and the plot
      el("rect", { x: lx, y: 26, width: 10, height: 3, fill: c }, svg);
      el("text", { x: lx + 14, y: 31, class: "legend" }, svg).textContent = l.name;
    });
    return svg;
  }

  // pick returns the named series, or zeros when the data has none.
  function pick(data, name) {
    return data.series[name] || data.t.map(() => 0);
  }

  global.onairCharts = { chart: chart, pick: pick, clock: clock, fmt: fmt };
})(window);

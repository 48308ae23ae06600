// Draws the report's charts (and the dashboard's) from a Data object.
"use strict";
function onairDraw(data, into) {
  const C = window.onairCharts, t = data.t, p = (n) => C.pick(data, n);
  const o = { marks: data.marks || [], bands: data.bands || [] };
  const charts = [
    ["c-joins", "Joins per second, by outcome", [["admitted", "joins.admitted"], ["queued", "joins.queued"], ["challenged", "joins.challenged"], ["rejected", "joins.rejected"]]],
    ["c-listeners", "Listeners, by protocol", [["total", "listeners.total"], ["Ogg", "listeners.ogg"], ["LL-HLS", "listeners.llhls"], ["HLS", "listeners.hls"], ["WHEP", "listeners.whep"]]],
    ["c-sources", "Joining networks per second: seen in earlier shows vs new", [["seen before", "sources.seen"], ["new", "sources.new"]]],
    ["c-bad", "Refused per second: invalid tickets, connections at accept", [["invalid tickets", "tickets.invalid"], ["connections", "conns.refused"]]],
    ["c-flows", "Flows: tickets issued, listeners who started", [["tickets", "flows.issued"], ["started", "flows.started"]]],
    ["c-cpu", "CPU of the busiest node, % of its cores", [["CPU %", "cpu"]], { ymax: 100 }],
    ["c-lag", "Fan-out lag and the program's lateness (ms), stalls", [["lag p50", "lag.p50"], ["lag p99", "lag.p99"], ["program late p99", "mixer.late_p99"], ["stalls", "stalls"]]],
  ];
  for (const [id, title, lines, extra] of charts) {
    const el = (into || document).querySelector("#" + id);
    if (!el) continue;
    C.chart(el, title, t, lines.map(([name, key]) => ({ name: name, values: p(key) })), Object.assign({}, o, extra || {}));
  }
}
if (document.getElementById("data")) {
  onairDraw(JSON.parse(document.getElementById("data").textContent));
}

// The operator's dashboard: this node's per-second figures, live, from the
// same records its receipts log keeps; and the gate's mode switch.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let key = "";
  let timer = 0;

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: Object.assign({ Authorization: "Bearer " + key }, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    }).then((r) => r.json().then((j) => { if (!r.ok) throw new Error(j.error || r.status); return j; }));
  }

  function show(d) {
    const last = d.last || {};
    $("f-listeners").textContent = onairCharts.fmt(last.listeners || 0);
    $("f-waiting").textContent = onairCharts.fmt(d.gate.waiting || 0);
    $("f-admit").textContent = onairCharts.fmt(d.gate.admit_rate || 0);
    $("f-cpu").textContent = Math.round((d.gate.cpu || 0) * 100) + "%";
    $("f-verdict").textContent = d.verdict;
    $("f-mode").textContent = d.gate.mode + (d.gate.under_attack ? " (proof of work on)" : "");
    $("f-reason").textContent = d.reason || "";
    $("node").textContent = d.node;
    document.querySelectorAll("[data-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === d.gate.mode)));
    onairDraw(d.data, $("live"));
    const tb = $("top").tBodies[0];
    tb.textContent = "";
    for (const t of d.data.top || []) {
      const tr = tb.insertRow();
      tr.insertCell().textContent = t.prefix;
      tr.insertCell().textContent = t.requests;
    }
  }

  function poll() {
    api("GET", "/api/v1/receipts/live").then((d) => { $("error").hidden = true; show(d); })
      .catch((e) => { $("error").hidden = false; $("error").textContent = "Cannot read the figures: " + e.message; })
      .finally(() => { timer = setTimeout(poll, 1000); });
  }

  function open(k) {
    key = k;
    $("signin").hidden = true;
    $("live").hidden = false;
    $("dashboard").dataset.state = "live";
    clearTimeout(timer);
    poll();
  }

  document.querySelectorAll("[data-mode]").forEach((b) => b.addEventListener("click", () => {
    api("POST", "/api/v1/gate/mode", { mode: b.dataset.mode }).then(poll).catch((e) => { $("error").hidden = false; $("error").textContent = e.message; });
  }));
  $("report").addEventListener("click", (ev) => {
    ev.preventDefault();
    fetch("/api/v1/receipts/report", { headers: { Authorization: "Bearer " + key } }).then((r) => r.blob()).then((b) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(b);
      a.download = "receipts-report.html";
      a.click();
    });
  });
  $("signin").addEventListener("submit", (ev) => { ev.preventDefault(); open($("key").value); });
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, "", location.pathname); // the key leaves the address bar
    open(decodeURIComponent(m[1]));
  }
})();

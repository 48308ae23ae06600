// Helpers shared by the onair pages (loaded before index.js and space.js).
'use strict';
window.onair = (() => {
  const time = (d) => d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  const day = (d) => d.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });

  // A start time in the viewer's own time zone: "today at 18:30",
  // "tomorrow at 9:00", "Thu 27 Nov, 18:30".
  function when(d, now = new Date()) {
    const tomorrow = new Date(now);
    tomorrow.setDate(now.getDate() + 1);
    if (d.toDateString() === now.toDateString()) return 'today at ' + time(d);
    if (d.toDateString() === tomorrow.toDateString()) return 'tomorrow at ' + time(d);
    return day(d) + ', ' + time(d);
  }

  // Seconds as 4:05 or 1:02:03.
  function clock(s) {
    s = Math.max(0, Math.floor(s || 0));
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = String(s % 60).padStart(2, '0');
    return h ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
  }

  async function getJSON(url, opts) {
    const r = await fetch(url, Object.assign({ headers: { Accept: 'application/json' }, cache: 'no-store' }, opts));
    const body = await r.json().catch(() => ({}));
    return { status: r.status, ok: r.ok, body };
  }

  // Rewrites every server-rendered <time datetime> (shown in UTC) in local time.
  function localTimes(root = document) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.dateTime);
      if (!isNaN(d)) { t.textContent = when(d); t.title = d.toLocaleString(); }
    }
  }

  return { when, clock, getJSON, localTimes };
})();

// Failover for the listener page (loaded before space.js): when the edge a
// listener plays from goes away, renew the ticket on another edge that
// carries the space (no queue, no proof of work: the listener is in
// already) and play from there. Used only when the join listed alternates.
'use strict';
window.onair.failover = (() => {
  const RENEW_MS = 2000; // per edge: a dead one refuses at once, a stuck one costs this much

  // renew asks each edge in order to renew ticket for the space (enc: its
  // URL-encoded id) and resolves to the first answer that settles it:
  // {base, status: 200, body} with the new ticket, or status 410 when the
  // show has ended; null when no edge would.
  async function renew(edges, enc, ticket) {
    for (const base of edges) {
      const ctl = new AbortController();
      const t = setTimeout(() => ctl.abort(), RENEW_MS);
      try {
        const r = await fetch(base + '/api/v1/spaces/' + enc + '/join', {
          method: 'POST', mode: 'cors', credentials: 'omit', cache: 'no-store', signal: ctl.signal,
          headers: { Accept: 'application/json', 'Onair-Ticket': ticket },
        });
        const body = await r.json().catch(() => ({}));
        if (r.status === 200 || r.status === 410) return { base, status: r.status, body };
      } catch { /* down, or not letting this page in: the next one */ } finally {
        clearTimeout(t);
      }
    }
    return null;
  }

  // watch calls onStall once when a live progressive stream, having
  // played, stops arriving (no 'progress' for ms: browsers fire it every
  // few hundred ms while bytes come) or stops playing (currentTime still
  // for ms while nobody paused it). The first is early: the player may
  // hold seconds of audio, but it is the edge's last, and the sooner the
  // page re-joins, the shorter the silence. A stream cut by its edge
  // dying may otherwise neither end nor fail for a long time.
  function watch(audio, ms, onStall) {
    let last = audio.currentTime, moved = performance.now(), fed = moved;
    const progress = () => { fed = performance.now(); };
    audio.addEventListener('progress', progress);
    const stop = () => { clearInterval(timer); audio.removeEventListener('progress', progress); };
    const timer = setInterval(() => {
      const now = performance.now(), t = audio.currentTime;
      if (t !== last || t === 0 || (audio.paused && !audio.ended)) {
        last = t;
        moved = now;
      }
      if (t === 0) fed = now; // still starting: nothing to lose yet
      if (now - moved >= ms || now - fed >= ms) {
        stop();
        onStall();
      }
    }, 250);
    return stop;
  }

  // origin is the scheme://host:port of url.
  const origin = (url) => new URL(url, location.href).origin;

  return { renew, watch, origin };
})();

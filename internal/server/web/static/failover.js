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

  // watch calls onStall once when audio, having played, stops advancing
  // for ms while nobody paused it: a progressive stream whose edge went
  // away may neither end nor fail for a long time.
  function watch(audio, ms, onStall) {
    let last = audio.currentTime, since = performance.now();
    const timer = setInterval(() => {
      const now = performance.now(), t = audio.currentTime;
      if (t !== last || t === 0 || (audio.paused && !audio.ended)) {
        last = t;
        since = now;
      } else if (now - since >= ms) {
        clearInterval(timer);
        onStall();
      }
    }, 250);
    return () => clearInterval(timer);
  }

  // origin is the scheme://host:port of url.
  const origin = (url) => new URL(url, location.href).origin;

  return { renew, watch, origin };
})();

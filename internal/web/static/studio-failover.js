// The studio's way to another origin (loaded before studio.js): on a
// cluster with a standby origin, when the origin the speaker talks to goes
// away, find the one that is active now (a standby takes over within the
// lease's TTL) and join there again with the same microphone track.
'use strict';
window.onair.origins = (() => {
  const PROBE_MS = 1000; // per origin: a dead one refuses at once, a stuck one costs this much

  // list asks base for every origin's host URL; null when it does not answer.
  async function list(base) {
    try {
      const r = await fetch(base + '/api/v1/origins', { mode: 'cors', credentials: 'omit', cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!r.ok) return null;
      const body = await r.json();
      return (body.origins || []).map((o) => String(o.host_url || '').replace(/\/+$/, '')).filter((u) => /^https?:\/\//.test(u));
    } catch { return null; }
  }

  // health is what base's /healthz says ({status: 'ok' | 'standby' | ...}),
  // null when it cannot be reached.
  async function health(base) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), PROBE_MS);
    try {
      const r = await fetch(base + '/healthz', { mode: 'cors', credentials: 'omit', cache: 'no-store', signal: ctl.signal });
      return await r.json();
    } catch { return null; } finally { clearTimeout(t); }
  }

  // active asks every origin at once and resolves to {to, heard}: to the
  // base URL of the one that is active (the first of bases that is), or
  // null while none is (the old one dead, the standby not yet taken over);
  // heard whether any answered at all.
  async function active(bases) {
    const said = await Promise.all(bases.map(health));
    const i = said.findIndex((h) => h && h.status === 'ok');
    return { to: i < 0 ? null : bases[i], heard: said.some((h) => h) };
  }

  // backoff is the wait before try n+1 (from 0): while a standby answers,
  // its takeover is a lease's TTL away, so a quarter second; while nobody
  // does, 250 ms doubling to 4 s.
  const backoff = (n, heard) => heard ? 250 : Math.min(4000, 250 * 2 ** n);

  // label names an origin for people: its host:port.
  const label = (base) => { try { return new URL(base).host; } catch { return base; } };

  return { list, active, backoff, label };
})();

// The stage in the studio: the caller's role, the schedule and the start
// delay, and for hosts and co-hosts the invites, the raised hands and the
// speakers' mute and remove controls. studio.js polls the space and hands
// each answer over in the onair:studio event.
'use strict';
(() => {
  const { when } = window.onair;
  const $ = (id) => document.getElementById(id);
  const root = $('studio'), panel = $('stage-panel');
  if (!root || !panel) return;
  const enc = encodeURIComponent(root.dataset.id);
  const ROLE = { host: 'the host', cohost: 'a co-host', speaker: 'a speaker' };
  let token = '', base = '', busy = false; // base: the origin studio.js talks to ('' this one)
  let current = new Map(); // the speakers as last seen, for the mute buttons

  async function call(method, path, body) {
    const r = await fetch(base + '/api/v1/spaces/' + enc + path, {
      method, cache: 'no-store',
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { ok: r.ok, status: r.status, body: await r.json().catch(() => ({})) };
  }

  function say(msg) { $('stage-msg').textContent = msg; }

  // el builds an element with text only: names never become markup.
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function button(label, cls, onClick) {
    const b = el('button', 'btn small ' + cls, label);
    b.type = 'button';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try { await onClick(); } finally { b.disabled = false; }
    });
    return b;
  }

  // keep updates a list in place, one <li> per key: rows that stay are the
  // same elements (a click never lands on a row replaced under it).
  function keep(ul, items, key, make, update) {
    const rows = new Map([...ul.children].map((li) => [li.dataset.key, li]));
    const want = items.map((it) => {
      const k = key(it);
      let li = rows.get(k);
      if (!li) { li = make(it); li.dataset.key = k; }
      update(li, it);
      rows.delete(k);
      return li;
    });
    rows.forEach((li) => li.remove());
    want.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
  }

  async function act(what, method, path, body) {
    const r = await call(method, path, body);
    say(r.ok ? '' : 'Could not ' + what + ': ' + (r.body.error || 'HTTP ' + r.status));
    return r;
  }

  function delayText(ms) {
    const a = Math.abs(ms);
    const n = a < 1000 ? a + ' ms' : a < 120000 ? (a / 1000).toFixed(1) + ' s' : Math.round(a / 60000) + ' min';
    return ms >= 0 ? n + ' after its scheduled time' : n + ' before its scheduled time';
  }

  function renderSchedule(b) {
    const s = $('stage-schedule');
    s.dataset.delayMs = b.start_delay_ms ?? '';
    if (b.state === 'scheduled') {
      s.textContent = 'Scheduled for ' + when(new Date(b.starts_at)) +
        (b.auto_start ? ': it goes live by itself then, with whoever is in the green room.' : ': someone has to press Go live.');
    } else if (b.start_delay_ms != null) {
      s.textContent = 'Went live ' + delayText(b.start_delay_ms) + ' (' + (b.started_by === 'schedule' ? 'by the schedule' : 'by a host') + ').';
    } else {
      s.textContent = '';
    }
  }

  function renderInvites(list) {
    keep($('invites'), list.filter((i) => !i.revoked_at), (inv) => inv.id, (inv) => {
      const li = el('li', 'inv');
      li.dataset.id = inv.id;
      li.dataset.name = inv.name;
      li.dataset.role = inv.role;
      li.append(el('span', 'inv-name', inv.name), el('span', 'inv-role', inv.role === 'cohost' ? 'co-host' : 'speaker'),
        el('span', 'inv-on', ''),
        button('Revoke', 'btn-danger revoke', () => act('revoke ' + inv.name, 'DELETE', '/invites/' + encodeURIComponent(inv.id))));
      return li;
    }, (li, inv) => { li.querySelector('.inv-on').textContent = inv.on_stage ? 'on stage' : ''; });
  }

  function renderControls(speakers) {
    const byName = new Map(speakers.map((s) => [s.name, s]));
    keep($('stage-speakers'), speakers, (s) => s.name, (s) => {
      const li = el('li', 'ctl');
      li.dataset.name = s.name;
      const path = '/speakers/' + encodeURIComponent(s.name);
      const now = () => current.get(s.name) || s;
      li.append(el('span', 'ctl-name', s.name), el('span', 'ctl-role', ''),
        button('Mute', 'mute-btn', () => act('mute ' + s.name, 'POST', path + '/mute', { muted: !now().muted })),
        button('Remove', 'btn-danger remove', () => act('remove ' + s.name, 'DELETE', path)));
      return li;
    }, (li, s) => {
      li.dataset.muted = String(!!s.muted);
      li.querySelector('.ctl-role').textContent = s.role === 'cohost' ? 'co-host' : s.role;
      li.querySelector('.mute-btn').textContent = s.muted ? 'Unmute' : 'Mute';
    });
    current = byName;
  }

  async function renderHands() {
    const r = await call('GET', '/hands');
    if (!r.ok) return;
    $('hand-count').textContent = r.body.hands.length;
    $('no-hands').hidden = r.body.hands.length > 0;
    keep($('hands'), r.body.hands, (h) => h.id, (h) => {
      const li = el('li', 'hand-row');
      li.dataset.id = h.id;
      li.dataset.name = h.name;
      const path = '/hands/' + encodeURIComponent(h.id);
      li.append(el('span', 'hand-name', h.name),
        button('Accept', 'accept', () => act('accept ' + h.name, 'POST', path + '/accept')),
        button('Dismiss', 'dismiss', () => act('dismiss ' + h.name, 'POST', path + '/dismiss')));
      return li;
    }, () => {});
  }

  document.addEventListener('onair:studio', async (ev) => {
    const { body } = ev.detail;
    token = ev.detail.token;
    base = ev.detail.base || '';
    panel.hidden = false;
    const role = body.role || 'host';
    panel.dataset.role = role;
    $('stage-role').textContent = 'You are ' + (ROLE[role] || role) + (body.speak_as ? ', on stage as ' + body.speak_as : '') + '.';
    renderSchedule(body);
    const runs = role !== 'speaker';
    $('hosting').hidden = !runs || body.state === 'ended';
    if (!runs || body.state === 'ended' || busy) return;
    renderInvites(body.invites || []);
    renderControls(body.speakers || []);
    busy = true;
    try { await renderHands(); } catch { /* the next poll */ } finally { busy = false; }
  });

  $('invite-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('invite-name').value.trim();
    const r = await act('invite ' + name, 'POST', '/invites', { name, role: $('invite-role').value });
    if (!r.ok) return;
    $('invite-link').value = r.body.studio;
    $('invite-made').hidden = false;
    $('invite-name').value = '';
  });
})();

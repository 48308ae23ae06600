// The stage on the listener page: who is on stage and who is talking, from
// the stage document space.js polls (the onair:stage event).
'use strict';
(() => {
  const ROLES = { host: 'Host', cohost: 'Co-host', speaker: 'Speaker' };
  const box = document.getElementById('onstage');
  const list = document.getElementById('stage-list');
  if (!box || !list) return;

  // Names arrive from the server validated; they still only ever become
  // text, never markup.
  function member(m) {
    const li = document.createElement('li');
    li.dataset.name = m.name;
    li.dataset.role = m.role;
    li.dataset.talking = String(!!m.talking);
    const dot = document.createElement('span');
    dot.className = 'talk-dot';
    dot.setAttribute('aria-hidden', 'true');
    const name = document.createElement('span');
    name.className = 'stage-name';
    name.textContent = m.name;
    const role = document.createElement('span');
    role.className = 'stage-role';
    role.textContent = (ROLES[m.role] || 'Speaker') + (m.muted ? ' · muted' : m.talking ? ' · talking' : '');
    li.append(dot, name, role);
    return li;
  }

  // Reactions: a tap sends one (a ticket needed, as for listening); the
  // stage document brings everyone's, counted per second.
  const bar = document.getElementById('reactions');
  const enc = encodeURIComponent(document.getElementById('space').dataset.id);
  async function react(emoji) {
    const send = () => fetch('/api/v1/spaces/' + enc + '/react', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ emoji }),
    });
    let r = await send();
    if (r.status === 401 && (await fetch('/api/v1/spaces/' + enc + '/join', { method: 'POST' })).ok) r = await send();
    bar.dataset.sent = r.ok ? emoji : '';
  }
  bar?.querySelectorAll('button[data-emoji]').forEach((b) => {
    b.addEventListener('click', () => react(b.dataset.emoji).catch(() => {}));
  });

  document.addEventListener('onair:stage', (ev) => {
    const doc = ev.detail;
    if (bar) {
      bar.hidden = doc.state !== 'live';
      bar.querySelectorAll('button[data-emoji]').forEach((b) => {
        const n = (doc.reactions || {})[b.dataset.emoji] || 0;
        b.querySelector('.n').textContent = n ? String(n) : '';
        b.dataset.count = String(n);
      });
    }
    const people = (doc.state === 'ended' ? [] : doc.on_stage) || [];
    box.hidden = people.length === 0;
    list.replaceChildren(...people.map(member));
    box.dataset.talking = people.filter((m) => m.talking).map((m) => m.name).join(',');
  });
})();

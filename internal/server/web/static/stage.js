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

  document.addEventListener('onair:stage', (ev) => {
    const doc = ev.detail;
    const people = (doc.state === 'ended' ? [] : doc.on_stage) || [];
    box.hidden = people.length === 0;
    list.replaceChildren(...people.map(member));
    box.dataset.talking = people.filter((m) => m.talking).map((m) => m.name).join(',');
  });
})();

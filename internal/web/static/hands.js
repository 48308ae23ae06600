// Raised hands on the listener page: ask to speak under a name, wait for
// the hosts' answer, and on acceptance get the link to the stage.
'use strict';
(() => {
  const { getJSON } = window.onair;
  const $ = (id) => document.getElementById(id);
  const root = $('space'), box = $('hand');
  if (!root || !box) return;
  const enc = encodeURIComponent(root.dataset.id);
  const KEY = 'onair_hand_' + root.dataset.id;
  const form = $('hand-form'), status = $('hand-status'), link = $('hand-link'), lower = $('lower');
  let key = '', timer = 0;
  try { key = sessionStorage.getItem(KEY) || ''; } catch { /* storage may be off */ }

  function show(state, text) {
    box.dataset.hand = state;
    status.textContent = text;
    form.hidden = state === 'waiting' || state === 'accepted';
    lower.hidden = state !== 'waiting';
  }

  function remember(k) {
    key = k;
    try { k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY); } catch { /* ignore */ }
  }

  async function post(name) {
    return getJSON('/api/v1/spaces/' + enc + '/hands', {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name }),
    });
  }

  // A hand needs a ticket, as listening does: join first when the page has not.
  async function raise(name) {
    let r = await post(name);
    if (r.status === 401 && r.body.code === 'no_ticket') {
      const j = await getJSON('/api/v1/spaces/' + enc + '/join', { method: 'POST' });
      if (!j.ok) return show('idle', 'Press play first, then raise your hand.');
      r = await post(name);
    }
    if (!r.ok) return show('idle', r.body.error || 'Could not raise your hand. Try again.');
    remember(r.body.key);
    show('waiting', 'Your hand is up. The hosts will answer here.');
    check();
  }

  async function check() {
    clearTimeout(timer);
    if (!key) return;
    try {
      const r = await getJSON('/api/v1/spaces/' + enc + '/hands/' + encodeURIComponent(key));
      if (r.status === 404) { remember(''); return show('idle', ''); }
      if (r.ok && r.body.status === 'accepted' && r.body.studio) {
        link.href = r.body.studio;
        link.hidden = false;
        return show('accepted', 'The hosts invited you on stage as ' + r.body.name + '.');
      }
      if (r.ok && r.body.status === 'dismissed') {
        remember('');
        return show('dismissed', 'The hosts did not take your hand this time.');
      }
    } catch { /* a blip: ask again */ }
    timer = setTimeout(check, 2000);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('hand-name').value.trim();
    if (!name) return show('idle', 'Write the name you want to speak under.');
    raise(name).catch(() => show('idle', 'Could not raise your hand. Try again.'));
  });
  lower.addEventListener('click', async () => {
    clearTimeout(timer);
    await fetch('/api/v1/spaces/' + enc + '/hands/' + encodeURIComponent(key), { method: 'DELETE' }).catch(() => {});
    remember('');
    show('idle', 'Hand lowered.');
  });
  // Hands are for live shows.
  document.addEventListener('onair:stage', (ev) => { box.hidden = ev.detail.state !== 'live'; });
  show('idle', '');
  check();
})();

// The list of spaces on /: server-rendered, then refreshed from the JSON API.
'use strict';
(() => {
  const { getJSON, localTimes } = window.onair;
  const $ = (id) => document.getElementById(id);
  const tpl = $('card-tpl');
  const REFRESH_MS = 10000;

  function card(sp) {
    const li = tpl.content.firstElementChild.cloneNode(true);
    li.dataset.id = sp.id;
    li.dataset.state = sp.state;
    li.querySelector('a').href = '/s/' + encodeURIComponent(sp.id);
    li.querySelector('.card-title').textContent = sp.title;
    li.querySelector('[data-badge]').textContent = sp.state === 'live' ? 'Live' : 'Scheduled';
    li.querySelector('[data-listeners]').textContent = sp.listeners;
    li.querySelector('[data-starts]').dateTime = sp.starts_at;
    return li;
  }

  // Replaces a list's cards, keeping focus on the card that had it.
  function fill(list, spaces) {
    const focused = document.activeElement && document.activeElement.closest('.card');
    const keep = focused && list.contains(focused) ? focused.dataset.id : null;
    list.replaceChildren(...spaces.map(card));
    if (keep) {
      const again = list.querySelector(`.card[data-id="${CSS.escape(keep)}"] a`);
      if (again) again.focus();
    }
    list.closest('section').hidden = spaces.length === 0;
    localTimes(list);
  }

  async function refresh() {
    try {
      const { ok, body } = await getJSON('/api/v1/spaces');
      if (!ok || !Array.isArray(body.spaces)) throw new Error('bad answer');
      const byStart = (a, b) => new Date(a.starts_at) - new Date(b.starts_at);
      const spaces = body.spaces.slice().sort(byStart);
      const live = spaces.filter((s) => s.state === 'live');
      const sched = spaces.filter((s) => s.state === 'scheduled');
      fill($('live-list'), live);
      fill($('sched-list'), sched);
      $('empty').hidden = live.length + sched.length > 0;
      $('updated').textContent = '';
    } catch (e) {
      $('updated').textContent = 'Could not refresh the list; trying again shortly.';
    }
  }

  localTimes();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
})();

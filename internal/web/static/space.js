// The listener page, /s/{id}: join (through the gate: a place in line when
// the show is full, a proof of work when it is under attack), wait for the
// start, play the live show (native HLS, hls.js or the progressive Ogg
// stream), then the replay.
'use strict';
(() => {
  const { clock, getJSON, when } = window.onair;
  const $ = (id) => document.getElementById(id);
  const root = $('space'), audio = $('audio'), playBtn = $('play');
  const id = root.dataset.id, enc = encodeURIComponent(id);
  const POLL_MS = 5000;
  const STAGE_MS = 1500; // while live: who is on stage and talking
  const LIVE_END_GRACE_MS = 12000; // the live player plays out its buffer, then the replay

  const space = {
    state: root.dataset.state, // scheduled | live | ended
    startsAt: new Date(root.dataset.startsAt),
    startedAt: root.dataset.startedAt ? new Date(root.dataset.startedAt) : null,
  };
  let phase = 'idle';  // idle | joining | queued | checking | waiting | connecting | playing | paused | done | error
  let wanted = false;  // the listener pressed play (a gesture), so audio may start by itself later
  let source = null;   // what the player holds: {kind: 'live'|'replay', hls, ogg, mode}
  let hls = null;      // the hls.js instance when that is the path
  let ticket = null;   // the last join: {ticket, ogg, expires}
  let endTimer = 0, joinTimer = 0, pollTimer = 0;
  let seeking = false; // the listener drags the replay's position
  // The edge the page talks to: '' is the page's own origin; after a
  // failover, the base URL of another edge carrying the space.
  let edge = '';
  let alternates = [];  // the last join's other edges, in its order
  let unwatch = null;   // stops the stall watchdog of a live Ogg stream
  let switching = false; // a failover is under way
  const at = (path) => edge + path;
  const STALL_MS = 1500; // a live stream that stops this long has lost its edge

  // ---- playback paths ----

  // Which path plays HLS here: "native", "hls.js" or "ogg". Safari (and every
  // browser on iOS) plays LL-HLS itself. Chromium also answers "maybe" for HLS
  // now, but without low latency, so where Media Source Extensions exist and
  // the browser is not Apple's, hls.js does the job. ?player= forces a path.
  function pickMode() {
    const forced = new URLSearchParams(location.search).get('player');
    if (['native', 'hls.js', 'ogg'].includes(forced)) return forced;
    const native = audio.canPlayType('application/vnd.apple.mpegurl') !== '';
    const mse = 'MediaSource' in window || 'ManagedMediaSource' in window;
    if (native && (!mse || /Apple/.test(navigator.vendor))) return 'native';
    return mse ? 'hls.js' : native ? 'native' : 'ogg';
  }

  let hlsLoading = null;
  function loadHlsJs() { // resolves to whether hls.js can play here
    hlsLoading ||= new Promise((resolve) => {
      const s = document.createElement('script');
      s.src = root.dataset.hlsjs;
      s.onload = () => resolve(!!window.Hls && window.Hls.isSupported());
      s.onerror = () => resolve(false);
      document.head.append(s);
    });
    return hlsLoading;
  }

  // hls.js adds the current ticket to each playlist request, so a re-join
  // keeps a long show going (media parts need no ticket).
  function xhrSetup(xhr, url) {
    if (ticket && /\/hls\/[^/]+\/(index|main)\.m3u8/.test(url)) {
      const u = new URL(url, location.href);
      u.searchParams.set('t', ticket.ticket);
      xhr.open('GET', u.href, true);
    }
  }

  async function play(src) {
    detach();
    source = src;
    setPhase('connecting');
    let mode = pickMode();
    if (mode === 'hls.js' && !(await loadHlsJs())) mode = 'ogg';
    if (source !== src) return; // replaced meanwhile
    src.mode = root.dataset.mode = mode;
    root.dataset.source = src.kind;
    const hlsName = src.kind === 'live' ? 'LL-HLS' : 'HLS';
    const how = { native: hlsName + ' (native)', 'hls.js': hlsName + ' (hls.js)', ogg: 'Ogg/Opus stream' }[mode];
    src.how = (src.kind === 'live' ? 'Live via ' : 'Replay via ') + how;
    $('tech').textContent = src.how;
    if (mode === 'hls.js') {
      const Hls = window.Hls;
      hls = new Hls({ lowLatencyMode: src.kind === 'live', enableWorker: false, xhrSetup });
      hls.on(Hls.Events.MANIFEST_PARSED, () => start(src));
      hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) fallback(src, d.details); });
      // hls.js moves to another edge's variant by itself when one fails:
      // the page's own requests (stage, renewals) follow it there.
      hls.on(Hls.Events.LEVEL_LOADED, (_, d) => follow(d.details && d.details.url));
      hls.loadSource(src.hls);
      hls.attachMedia(audio);
    } else {
      audio.src = mode === 'native' ? src.hls : src.ogg;
      start(src);
    }
  }

  function start(src) {
    if (source !== src) return;
    if (src.kind === 'live' && src.mode === 'ogg' && alternates.length && !unwatch) {
      unwatch = window.onair.failover.watch(audio, STALL_MS, () => { unwatch = null; failover('the stream stalled'); });
    }
    audio.play().catch((e) => {
      if (source !== src || e.name === 'AbortError') return;
      if (e.name === 'NotAllowedError') { // the browser wants a fresh tap
        wanted = false;
        setPhase(src.kind === 'replay' ? 'paused' : 'idle', 'Tap play to start the audio.');
      }
    });
  }

  // The live HLS failed for good: the show may have ended, otherwise the
  // progressive Ogg stream takes over.
  async function fallback(src, why) {
    if (source !== src) return;
    console.warn('onair: HLS failed (' + why + '), falling back');
    if (src.kind === 'live') {
      await poll();
      if (source !== src) return;
      if (space.state === 'ended') return toReplay();
    }
    if (src.mode === 'ogg') return failed(src);
    detach();
    source = Object.assign({}, src, { mode: 'ogg' });
    root.dataset.mode = 'ogg';
    root.dataset.source = src.kind;
    $('tech').textContent = (src.kind === 'live' ? 'Live' : 'Replay') + ' via Ogg/Opus stream (HLS failed)';
    audio.src = src.kind === 'live' ? ticket.ogg : src.ogg;
    setPhase('connecting');
    start(source);
  }

  function failed(src) {
    if (src.kind === 'live' && wanted && alternates.length) return failover('the stream failed');
    if (src.kind === 'live' && wanted) { // a network blip: join again shortly
      detach();
      setPhase('connecting', 'Connection lost. Reconnecting…');
      setTimeout(() => { if (wanted && !source) listen(); }, 3000);
      return;
    }
    detach();
    setPhase('error', 'Could not play the ' + (src.kind === 'live' ? 'show' : 'replay') + '. Tap to try again.');
  }

  function detach() {
    clearTimeout(endTimer);
    if (unwatch) { unwatch(); unwatch = null; }
    if (hls) { hls.destroy(); hls = null; }
    source = null;
    root.dataset.mode = root.dataset.source = '';
    $('tech').textContent = '';
    if (audio.hasAttribute('src')) { audio.removeAttribute('src'); audio.load(); }
  }

  // ---- joining: the gate ----
  //
  // POST .../join answers 200 with a ticket; 202 with a place in line
  // (retry after Retry-After with the queue token; its cookie keeps the place
  // across a reload); 401 {challenge, difficulty} under attack (solve it in
  // pow-worker.js, then join again with Onair-PoW: CHALLENGE:NONCE); 429
  // when too many joins come from this network (retry after Retry-After).

  const QUEUE_KEY = 'onair.queue.' + id; // sessionStorage: this tab holds a place in line
  const QUEUE_TTL_MS = 3600 * 1000;       // the queue cookie's lifetime
  let joining = null;  // AbortController of the join the listener waits for
  let renewing = null; // AbortController of a ticket renewal in the background
  let queue = null;    // our place in line: {token, pos, eta, at, first, said}
  let gateTimer = 0;
  let backedOff = false; // #status says we were rate limited

  // joinOnce asks once.
  async function joinOnce(signal, proof) {
    const headers = { Accept: 'application/json' };
    if (queue && queue.token) headers['Onair-Queue'] = queue.token;
    if (proof) headers['Onair-PoW'] = proof;
    if (edge && ticket) headers['Onair-Ticket'] = ticket.ticket; // no cookie crosses origins
    const r = await fetch(at('/api/v1/spaces/' + enc + '/join'), { method: 'POST', headers, cache: 'no-store', signal });
    const body = await r.json().catch(() => ({}));
    const log = (root.dataset.joins ? root.dataset.joins.split(' ') : []).concat(String(r.status)).slice(-20);
    root.dataset.joins = log.join(' '); // for the curious and the tests
    return { status: r.status, body, retry: retryAfter(r.headers.get('Retry-After'), body.retry_after) };
  }

  // retryAfter is the seconds to wait: the header (seconds or a date), or the body's.
  function retryAfter(h, fallback) {
    let s = Number(h);
    if (h && !Number.isFinite(s)) s = (Date.parse(h) - Date.now()) / 1000;
    if (!h || !Number.isFinite(s)) s = Number(fallback);
    return Number.isFinite(s) ? Math.min(Math.max(s, 1), 120) : 5;
  }

  // enter goes through the gate until it hands out a ticket: it waits in
  // line, proves work and backs off as told. show: the listener sees it (a
  // renewal in the background does not). Resolves to 'ok' or 'ended'.
  async function enter(signal, show) {
    let proof = '';
    for (;;) {
      const { status, body, retry } = await joinOnce(signal, proof);
      if (signal.aborted) throw signal.reason;
      proof = '';
      if (status === 200) {
        admitted(body);
        return 'ok';
      }
      if (status === 410) {
        leaveLine();
        return 'ended';
      }
      if (status === 202) {
        inLine(body, show);
        await pause(signal, retry * 1000);
      } else if (status === 401 && body.code === 'pow' && body.challenge) {
        // In line already, the check runs behind the place in line shown.
        const visible = show && phase !== 'queued';
        proof = body.challenge + ':' + await solve(signal, body, visible);
        if (signal.aborted) throw signal.reason;
        if (visible) setPhase('joining');
      } else if (status === 429 || status === 503) {
        if (show) {
          setPhase('joining', 'Lots of people are joining right now. Trying again in ' + Math.ceil(retry) + ' s…');
          backedOff = true;
        }
        await pause(signal, retry * 1000);
      } else {
        throw new Error(body.error || 'HTTP ' + status);
      }
    }
  }

  function pause(signal, ms) {
    return new Promise((resolve, reject) => {
      const stop = () => { clearTimeout(t); reject(signal.reason); };
      const t = setTimeout(() => { signal.removeEventListener('abort', stop); resolve(); }, ms);
      signal.addEventListener('abort', stop, { once: true });
    });
  }

  function admitted(body) {
    ticket = { ticket: body.ticket, ogg: local(body.ogg), hls: local(body.hls), expires: new Date(body.expires) };
    alternates = Array.isArray(body.alternates) ? body.alternates : [];
    const ms = ticket.expires - Date.now() - 60000; // join again a minute before expiry
    clearTimeout(joinTimer);
    joinTimer = setTimeout(rejoin, Math.max(ms, 10000));
    if (queue && phase === 'queued') say("It's your turn.");
    if (backedOff) announce('');
    backedOff = false;
    leaveLine();
    if (body.state && body.state !== space.state) setState(body.state);
  }

  // A ticket that still lets the listener start (live Ogg checks its expiry).
  const fresh = () => ticket && ticket.expires - Date.now() > 30000;

  // ---- the waiting room ----

  function inLine(body, show) {
    const pos = Math.max(Number(body.position) || 1, 1);
    queue = Object.assign(queue || { first: 0, said: 0 }, {
      token: body.queue_token || (queue && queue.token), pos, eta: Math.max(Number(body.eta_s) || 0, 0), at: Date.now(),
    });
    queue.first = Math.max(queue.first, pos);
    if (!show) return;
    try { sessionStorage.setItem(QUEUE_KEY, String(Date.now())); } catch { /* storage may be off */ }
    if (phase !== 'queued') setPhase('queued');
    const now = Date.now();
    if (!queue.said) {
      say(queueText(pos, queue.eta) + '. It plays by itself when your turn comes.');
      queue.said = now;
    } else if (now - queue.said > 20000) { // now and then, not every second
      say(queueText(estimate().pos, estimate().left));
      queue.said = now;
    }
    showGate();
  }

  function leaveLine() {
    queue = null;
    try { sessionStorage.removeItem(QUEUE_KEY); } catch { /* ignore */ }
  }

  // estimate moves the place in line between answers: the line advances at
  // the rate the server's ETA implies.
  function estimate() {
    const q = queue, left = Math.max(0, q.eta - (Date.now() - q.at) / 1000);
    const exact = q.eta > 0 ? q.pos * left / q.eta : q.pos;
    return { pos: Math.max(1, Math.ceil(exact)), exact, left };
  }

  const queueText = (pos, left) => left >= 1
    ? "You're in line: position " + pos + ', about ' + duration(left)
    : "You're next: any moment now";

  function duration(s) {
    s = Math.ceil(s);
    if (s < 100) return s + ' s';
    const m = Math.round(s / 60);
    return m < 90 ? m + ' min' : Math.round(m / 6) / 10 + ' h';
  }

  // ---- the browser check (proof of work) ----

  // solve finds the nonce with a few workers, each trying every n-th nonce
  // (WebCrypto's digests are asynchronous: more threads, more hashes);
  // resolves to it.
  function solve(signal, ch, show) {
    return new Promise((resolve, reject) => {
      const expected = 2 ** ch.difficulty; // hashes tried on average
      const started = performance.now();
      const n = Math.min(Math.max(navigator.hardwareConcurrency || 2, 1), 4);
      const tried = new Array(n).fill(0);
      // ?pow=js uses the worker's own SHA-256 (what pages without WebCrypto get).
      const impl = new URLSearchParams(location.search).get('pow');
      const workers = [];
      const stop = () => { for (const w of workers) w.terminate(); signal.removeEventListener('abort', abort); };
      const abort = () => { stop(); reject(signal.reason); };
      const fail = (why) => { stop(); reject(new Error(why)); };
      signal.addEventListener('abort', abort, { once: true });
      const progress = () => { if (show) showCheck(1 - Math.exp(-tried.reduce((a, b) => a + b, 0) / expected)); };
      if (show) {
        setPhase('checking');
        say('Checking your browser… (this takes a second)');
        showCheck(0);
      }
      for (let k = 0; k < n; k++) {
        const w = new Worker(root.dataset.powWorker);
        workers.push(w);
        w.onmessage = (e) => {
          const m = e.data;
          if (m.type === 'progress') {
            tried[k] = m.tried;
            return progress();
          }
          if (m.type !== 'done') return fail('the browser check failed: ' + m.message);
          stop();
          tried[k] = m.tried;
          if (show) showCheck(1);
          const ms = performance.now() - started, all = tried.reduce((a, b) => a + b, 0);
          root.dataset.pow = JSON.stringify({ difficulty: ch.difficulty, tried: all, ms: Math.round(ms),
            rate: Math.round(all / (ms / 1000)), workers: n, impl: m.impl });
          resolve(m.nonce);
        };
        w.onerror = (e) => { e.preventDefault(); fail('the browser check could not run'); };
        w.postMessage({ challenge: ch.challenge, difficulty: ch.difficulty, impl, start: k, step: n });
      }
    });
  }

  // ---- the gate's panel ----

  function showGate() {
    const kind = phase === 'queued' && queue ? 'queue' : phase === 'checking' ? 'check' : '';
    root.dataset.gate = kind;
    $('gate').hidden = !kind;
    $('gate-queue').hidden = kind !== 'queue';
    $('gate-check').hidden = kind !== 'check';
    clearInterval(gateTimer);
    if (kind === 'queue') {
      tickQueue();
      gateTimer = setInterval(tickQueue, 250);
    }
  }

  function tickQueue() {
    if (!queue) return;
    const { pos, exact, left } = estimate();
    const line = $('queue-line');
    const text = queueText(pos, left);
    if (line.dataset.text !== text) {
      line.dataset.text = text;
      line.textContent = '';
      if (left >= 1) line.append("You're in line: position ", bold(pos), ', about ', bold(duration(left)));
      else line.append("You're next: ", bold('any moment now'));
    }
    const done = queue.first > 0 ? Math.min(Math.max(1 - exact / queue.first, 0), 1) : 0;
    setBar($('queue-bar'), done, 'position ' + pos + (left >= 1 ? ', about ' + duration(left) + ' to go' : ', next'));
  }

  function bold(text) {
    const b = document.createElement('b');
    b.textContent = text;
    return b;
  }

  function showCheck(p) {
    setBar($('check-bar'), Math.min(p, 1), Math.round(Math.min(p, 1) * 100) + '%');
  }

  function setBar(bar, p, text) {
    bar.style.setProperty('--p', p.toFixed(3));
    bar.setAttribute('aria-valuenow', String(Math.round(p * 100)));
    bar.setAttribute('aria-valuetext', text);
  }

  // say tells screen readers what the gate does (the panel shows it).
  function say(msg) {
    $('gate-live').textContent = msg;
  }

  // ---- joining and the show's state ----

  // join starts the listener's join: resolves to 'ok' or 'ended'.
  function join() {
    cancelJoin();
    if (queue) queue.said = 0; // announce the place again
    const ctl = joining = new AbortController();
    return enter(ctl.signal, true).finally(() => { if (joining === ctl) joining = null; });
  }

  function cancelJoin() {
    for (const c of [joining, renewing]) if (c) c.abort();
    joining = renewing = null;
  }

  async function rejoin() {
    if (space.state === 'ended' || !(source || phase === 'waiting')) return;
    const ctl = renewing = new AbortController();
    try {
      await enter(ctl.signal, false);
    } catch {
      if (!ctl.signal.aborted) joinTimer = setTimeout(rejoin, 10000);
    } finally {
      if (renewing === ctl) renewing = null;
    }
  }

  // URLs of this page's origin as paths, so the page's CSP ('self') allows
  // them; another edge's stay whole (the CSP lists the space's edges).
  function local(url) {
    const u = new URL(url, location.href);
    return u.origin === location.origin ? u.pathname + u.search : u.href;
  }

  // ---- failover: the edge went away ----

  // setEdge makes base (a URL's origin) the edge the page talks to.
  function setEdge(base) {
    edge = base === location.origin ? '' : base;
    root.dataset.edge = base;
  }

  // follow moves the page's requests to the edge hls.js now plays from.
  function follow(url) {
    if (!url || !alternates.length) return;
    const base = window.onair.failover.origin(url);
    if (base !== (edge || location.origin)) setEdge(base);
  }

  // failover re-joins on the other edges of the space, in the join's order
  // (this one last: it may be back), with the ticket held, and plays from
  // the first that renews it; round again until one does.
  async function failover(why) {
    if (switching || !ticket) return;
    switching = true;
    console.warn('onair: ' + why + ' on ' + (edge || location.origin) + '; trying another edge');
    detach();
    setPhase('connecting', 'Connection lost. Switching to another server…');
    const here = edge || location.origin;
    const order = alternates.filter((a) => a !== here).concat(here);
    try {
      for (;;) {
        const got = await window.onair.failover.renew(order, enc, ticket.ticket);
        if (!wanted || source) return; // stopped, or playing again meanwhile
        if (got) {
          setEdge(got.base);
          root.dataset.failovers = String(Number(root.dataset.failovers || 0) + 1);
          if (got.status === 410) return toReplay();
          admitted(got.body);
          ticket.ogg += '&resume=1'; // a start-up burst of the last seconds: Chromium plays Ogg again at once
          if (space.state === 'live') startLive();
          else setPhase('waiting', 'You are in. The show plays as soon as it starts.');
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      switching = false;
    }
  }

  // listen starts what the listener asked for: the live show, a wait for it, or the replay.
  async function listen() {
    if (space.state === 'ended') return startReplay();
    if (!fresh()) { // a listener who paused and comes back keeps the ticket: no second turn in line
      setPhase('joining');
      let r;
      try {
        r = await join();
      } catch (e) {
        if (!wanted || e.name === 'AbortError') return;
        setPhase('joining', 'Could not join (' + e.message + '). Trying again…');
        return setTimeout(() => wanted && phase === 'joining' && !joining && listen(), 5000);
      }
      if (!wanted) return;
      if (r === 'ended') return setState('ended'); // and on to the replay
    }
    if (space.state === 'live') startLive();
    else setPhase('waiting', 'You are in. The show plays as soon as it starts.');
  }

  // Live HLS: the join's playlist when it is another edge's or the space
  // has other edges (then one variant per edge), the media playlist here
  // as always otherwise (the ticket cookie, renewed, opens it).
  const liveHLS = () => (alternates.length || /^https?:/.test(ticket.hls) ? ticket.hls : '/hls/' + enc + '/index.m3u8');
  const startLive = () => play({ kind: 'live', hls: liveHLS(), ogg: ticket.ogg });
  const startReplay = () => play({ kind: 'replay', hls: at('/replay/' + enc + '/index.m3u8'), ogg: at('/replay/' + enc + '.opus') });

  // The live show is over: play the replay from the start if the listener was listening.
  function toReplay() {
    detach();
    setState('ended');
    if (wanted) {
      announce('The show has ended. Playing the replay from the start.');
      startReplay();
    } else {
      setPhase('idle', 'The show has ended. The replay is ready.');
    }
  }

  function setState(next) {
    if (next === space.state) return;
    space.state = next;
    if (next === 'live') {
      announce(wanted ? 'The show is live.' : 'The show is live. Tap play to listen.');
      if (wanted && phase === 'waiting') startLive();
    } else if (next === 'ended') {
      clearTimeout(joinTimer);
      if (source && source.kind === 'live') {
        // ENDLIST or the end of the Ogg stream comes after the last seconds play out.
        clearTimeout(endTimer);
        endTimer = setTimeout(toReplay, LIVE_END_GRACE_MS);
      } else if (['waiting', 'joining', 'queued', 'checking'].includes(phase)) {
        cancelJoin();
        leaveLine();
        toReplay();
      } else if (!source) {
        announce('The show has ended. The replay is ready.');
      }
    }
    render();
  }

  // The stage document: the same cacheable bytes for every listener (a
  // cache in front answers the crowd), read every second or two while it
  // matters, and at the scheduled start itself.
  async function poll() {
    clearTimeout(pollTimer);
    try {
      const { ok, body } = await getJSON(at('/stage/' + enc + '.json'), { cache: 'no-cache' });
      if (ok) {
        $('listener-count').textContent = body.listeners;
        space.startsAt = new Date(body.starts_at);
        if (body.started_at) space.startedAt = new Date(body.started_at);
        document.dispatchEvent(new CustomEvent('onair:stage', { detail: body }));
        setState(body.state);
      }
    } catch { /* offline for a moment: the next poll tells */ }
    const until = space.startsAt - Date.now();
    let next = POLL_MS;
    if (space.state === 'live') next = STAGE_MS;
    else if (space.state === 'scheduled' && until < 30000) next = Math.max(200, Math.min(1000, until > 0 ? until : 1000));
    if (space.state !== 'ended') pollTimer = setTimeout(poll, next);
  }

  // ---- the page ----

  const LABELS = {
    idle: { live: 'Tap to listen live', scheduled: 'Tap now and it plays when the show starts', ended: 'Play the replay' },
    joining: 'Joining…',
    queued: "You're in line",
    checking: 'Checking your browser…',
    connecting: 'Connecting…',
    waiting: 'Waiting for the show to start',
    playing: { live: 'Listening live', replay: 'Playing the replay' },
    paused: { live: 'Paused', replay: 'Paused' },
    done: 'The replay has finished. Tap to play it again.',
    error: 'Something went wrong. Tap to try again.',
  };
  const NAMES = { playing: 'Pause', waiting: 'Stop waiting', queued: 'Stop waiting', checking: 'Cancel',
    joining: 'Cancel', connecting: 'Cancel' };

  function setPhase(p, msg) {
    phase = p;
    root.dataset.phase = p;
    const l = LABELS[p];
    $('play-label').textContent = typeof l === 'string' ? l : l[source ? source.kind : space.state] || '';
    $('play-name').textContent = NAMES[p] || (space.state === 'ended' ? 'Play the replay' : 'Listen');
    if (msg !== undefined) announce(msg);
    showGate();
    render();
  }

  function announce(msg) {
    const s = $('status');
    s.textContent = msg;
    s.classList.toggle('error', phase === 'error');
  }

  function render() {
    const now = Date.now();
    const st = space.state;
    root.dataset.state = st;
    if (phase === 'idle') $('play-label').textContent = LABELS.idle[st];
    $('badge').textContent = { live: 'Live', scheduled: 'Scheduled', ended: 'Replay' }[st];
    $('listeners').hidden = st !== 'live';

    const left = (space.startsAt - now) / 1000;
    $('countdown').hidden = !(st === 'scheduled' && left > 0);
    if (st === 'scheduled') {
      const d = Math.floor(left / 86400), h = Math.floor(left / 3600) % 24, m = Math.floor(left / 60) % 60, s = Math.floor(left) % 60;
      const cells = { d, h: String(h).padStart(2, '0'), m: String(m).padStart(2, '0'), s: String(s).padStart(2, '0') };
      for (const el of $('countdown').querySelectorAll('[data-unit]')) {
        el.firstElementChild.textContent = cells[el.dataset.unit];
        if (el.dataset.unit === 'd') el.hidden = d === 0;
      }
      setWhen(left > 0 ? 'Starts ' + when(space.startsAt) : 'Starting any moment now…');
    } else if (st === 'live') {
      setWhen(space.startedAt ? 'On air since ' + when(space.startedAt).replace(/^today at /, '') : 'On air now');
    } else {
      setWhen(space.startedAt ? 'Aired ' + when(space.startedAt) : 'This show ended without going on air, so there is no replay.');
    }
    const nothing = st === 'ended' && !space.startedAt; // never live: nothing to play
    $('stage').hidden = $('controls').hidden = nothing;

    const replay = source && source.kind === 'replay';
    const seek = $('seek'), dur = audio.duration;
    const seekable = replay && isFinite(dur) && dur > 0;
    seek.hidden = $('duration').hidden = !seekable;
    if (seekable) {
      seek.max = Math.floor(dur);
      if (!seeking) seek.value = Math.floor(audio.currentTime);
      seek.setAttribute('aria-valuetext', clock(seek.value) + ' of ' + clock(dur));
      $('duration').textContent = clock(dur);
    }
    let t = '';
    if (replay) t = clock(audio.currentTime);
    else if (st === 'live' && space.startedAt) t = clock((now - space.startedAt) / 1000) + ' on air';
    if (!seeking) $('elapsed').textContent = t;
    if (hls && source && source.kind === 'live' && hls.latency > 0) { // how far behind the live edge hls.js plays
      $('tech').textContent = source.how + ' · ' + hls.latency.toFixed(1) + ' s behind live';
    }
  }

  function setWhen(text) {
    const w = $('when');
    if (w.textContent !== text) w.textContent = text;
  }

  // ---- controls ----

  playBtn.addEventListener('click', () => {
    if (['playing', 'waiting', 'joining', 'queued', 'checking', 'connecting'].includes(phase)) {
      wanted = false;
      cancelJoin(); // the place in line stays (its cookie): a tap on play goes back to it
      try { sessionStorage.removeItem(QUEUE_KEY); } catch { /* ignore */ }
      if (source && source.kind === 'replay' && phase === 'playing') return audio.pause();
      detach(); // live: stop, and come back at the live edge
      return setPhase('idle', '');
    }
    wanted = true;
    announce('');
    if (source && source.kind === 'replay' && (phase === 'paused' || phase === 'done')) {
      if (phase === 'done') audio.currentTime = 0;
      return start(source);
    }
    listen();
  });

  audio.addEventListener('playing', () => { if (source) setPhase('playing'); });
  audio.addEventListener('waiting', () => { if (source && phase === 'playing') $('play-label').textContent = 'Buffering…'; });
  audio.addEventListener('pause', () => {
    if (source && !audio.ended && phase === 'playing') { wanted = false; setPhase('paused'); }
  });
  audio.addEventListener('ended', () => {
    if (!source) return;
    // Over, or only this edge's stream? Another edge knows (410 if over).
    if (source.kind === 'live' && alternates.length && space.state !== 'ended') failover('the stream ended');
    else if (source.kind === 'live') toReplay();
    else setPhase('done');
  });
  audio.addEventListener('error', () => {
    if (!source || hls || !audio.error) return; // hls.js reports its own errors
    if (source.mode === 'native') fallback(source, 'native: ' + audio.error.message);
    else if (source.kind === 'live') {
      const src = source;
      poll().then(() => { if (source === src) space.state === 'ended' ? toReplay() : failed(src); });
    } else failed(source);
  });

  $('seek').addEventListener('input', () => { seeking = true; $('elapsed').textContent = clock($('seek').value); });
  $('seek').addEventListener('change', () => { audio.currentTime = Number($('seek').value); seeking = false; });

  const vol = $('volume'), mute = $('mute');
  try {
    const v = parseFloat(localStorage.getItem('onair.volume'));
    if (v >= 0 && v <= 1) vol.value = v;
  } catch { /* storage may be off */ }
  audio.volume = Number(vol.value);
  vol.addEventListener('input', () => {
    audio.volume = Number(vol.value);
    audio.muted = false;
    try { localStorage.setItem('onair.volume', vol.value); } catch { /* ignore */ }
  });
  mute.addEventListener('click', () => { audio.muted = !audio.muted; });
  audio.addEventListener('volumechange', () => {
    const off = audio.muted || audio.volume === 0;
    mute.setAttribute('aria-pressed', String(off));
  });

  if ('mediaSession' in navigator && window.MediaMetadata) {
    navigator.mediaSession.metadata = new MediaMetadata({ title: root.dataset.title, artist: 'onair' });
    navigator.mediaSession.setActionHandler('play', () => { if (phase !== 'playing') playBtn.click(); });
    navigator.mediaSession.setActionHandler('pause', () => { if (phase === 'playing') playBtn.click(); });
  }

  setPhase('idle');
  setInterval(render, 500);
  if (space.state !== 'ended') {
    poll();
    if (pickMode() === 'hls.js') loadHlsJs(); // ready before the tap
    // Reloaded while in line: back to the same place (its cookie keeps it).
    // The audio may then need a tap when the turn comes (autoplay rules).
    let since = NaN;
    try { since = Date.now() - Number(sessionStorage.getItem(QUEUE_KEY)); } catch { /* storage may be off */ }
    if (since >= 0 && since < QUEUE_TTL_MS) {
      wanted = true;
      listen();
    }
  }
})();

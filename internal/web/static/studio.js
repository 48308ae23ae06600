// The host studio, /studio/{id} on the host port: sign in with the host
// token, join the conversation as a speaker over WHIP (and hear everyone
// else), go live, end the show, and see who is speaking.
'use strict';
(() => {
  const { when, clock, origins: originsAPI } = window.onair;
  const $ = (id) => document.getElementById(id);
  const root = $('studio');
  const id = root.dataset.id, enc = encodeURIComponent(id);
  const TOKEN_KEY = 'onair.studio.token.' + id, NAME_KEY = 'onair.studio.name', MIC_KEY = 'onair.studio.mic';
  const POLL_MS = 1000;
  const SPEAKING = 0.01;   // RMS above this (-40 dBFS) counts as speaking
  const NAME_RE = /^[\p{L}\p{N} ._-]{1,64}$/u; // what the server accepts

  const show = {
    state: root.dataset.state, // scheduled | live | ended
    title: root.dataset.title,
    startsAt: new Date(root.dataset.startsAt),
    startedAt: root.dataset.startedAt ? new Date(root.dataset.startedAt) : null,
    listeners: 0,
    recorded: 0,
  };
  let token = '';
  let memToken = '';       // when sessionStorage is off
  let auth = 'none';       // none | checking | ok
  let pollTimer = 0, offline = false;

  // The speaker connection.
  let phase = 'idle';      // idle | opening | connecting | connected | reconnecting
  let gen = 0;             // bumps on every join/leave: stale async steps stop
  let mic = null;          // {stream, track, probe}: the open microphone
  let pc = null, sender = null, whipURL = '';
  let muted = false;
  let dropTimer = 0;
  let remoteStream = null;
  // The origin the page talks to ('' is the one it came from) and every
  // origin of the cluster, to move to when this one goes away.
  let base = '', origins = [], moving = false, moved = false, originsAt = 0;
  const ORIGINS_MS = 10000; // how often the list of origins is asked again

  const secure = window.isSecureContext && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  // ---- token ----

  function saveToken(t) {
    token = t;
    memToken = t;
    try { t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
  }

  // A token in the fragment (#token=...) is taken and removed from the
  // address, so it does not show on a shared screen or in the history.
  function tokenFromFragment() {
    const frag = new URLSearchParams(location.hash.slice(1));
    if (!frag.has('token')) return false;
    const t = frag.get('token').trim();
    history.replaceState(null, '', location.pathname + location.search);
    if (t) saveToken(t);
    return !!t;
  }

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || memToken; } catch { return memToken; }
  }

  function signIn(t) {
    saveToken(t);
    auth = 'checking';
    setAlert('');
    $('token-error').hidden = true;
    render();
    poll();
  }

  // The token was refused: back to the form, with why.
  function refused(status, body) {
    const msg = authMessage(status, body);
    leave(false);
    saveToken('');
    auth = 'none';
    clearTimeout(pollTimer);
    render();
    const err = $('token-error');
    err.textContent = msg;
    err.hidden = false;
    $('token').setAttribute('aria-invalid', 'true');
    $('token').focus();
  }

  function authMessage(status, body) {
    const code = body && body.code;
    if (code === 'wrong_space') return 'This host token belongs to another space. Use the token printed with this space.';
    if (code === 'wrong_role') return 'That is a listener ticket, not the host token.';
    if (code === 'no_token') return 'Enter the host token of this space.';
    if (status === 403) return 'This token may not run this space (403).';
    return 'That host token is not valid for this space. Check it and try again.';
  }

  // ---- the API ----

  async function api(method, path, opts = {}) {
    const headers = Object.assign({ Authorization: 'Bearer ' + token, Accept: 'application/json' }, opts.headers);
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), opts.timeout || 10000);
    try {
      const url = /^https?:/.test(path) ? path : base + path;
      return await fetch(url, { method, headers, body: opts.body, cache: 'no-store', signal: ctl.signal, keepalive: !!opts.keepalive });
    } finally {
      clearTimeout(t);
    }
  }

  async function apiJSON(method, path) {
    const r = await api(method, path);
    const body = await r.json().catch(() => ({}));
    return { status: r.status, ok: r.ok, body };
  }

  // problem turns a failed answer into a sentence; a refused token signs out.
  function problem(status, body, what) {
    if (status === 401 || status === 403) { refused(status, body); return ''; }
    if (status === 409) return 'The show has ended: a space goes live only once. Create a new space for the next show.';
    if (status === 404 && body && body.code === 'unknown_space') return 'This space no longer exists on the server.';
    if (status === 400 && body && body.code === 'bad_speaker') return 'Names may have letters, digits, spaces and . _ - (up to 64).';
    if (status === 503 && body && body.code === 'full') return 'The room is full: ' + body.error;
    if (status === 503 && body && body.code === 'ice') return 'The server could not set up the audio connection in time. Try again.';
    return 'Could not ' + what + ': ' + ((body && body.error) || 'HTTP ' + status) + '.';
  }

  // poll keeps the page up to date: one request at a time; a call while one
  // is on its way asks for another right after it.
  let polling = false, pollAgain = false, pollProblem = false;
  async function poll() {
    clearTimeout(pollTimer);
    if (!token) return;
    if (polling) { pollAgain = true; return; }
    polling = true;
    let next;
    try {
      next = await pollOnce();
    } finally {
      polling = false;
    }
    if (pollAgain) { pollAgain = false; next = 0; }
    if (next != null && token) pollTimer = setTimeout(poll, next);
  }

  // pollOnce asks for the space once and returns when to ask again (null: no more).
  async function pollOnce() {
    const asked = token;
    let r;
    try {
      r = await apiJSON('GET', '/api/v1/spaces/' + enc);
    } catch {
      if (asked !== token) return null;
      setOffline(true);
      suspect();
      return canMove() ? POLL_MS : 2000;
    }
    if (asked !== token) return null;
    if (r.status === 503 && r.body && r.body.code === 'standby' && canMove() && phase !== 'idle') { // this origin stepped down
      suspect();
      return POLL_MS;
    }
    setOffline(false);
    if (r.ok && Date.now() - originsAt > ORIGINS_MS) learnOrigins();
    if (r.ok) {
      if (auth !== 'ok') {
        auth = 'ok';
        $('token-error').hidden = true;
        $('token').removeAttribute('aria-invalid');
        fillDevices();
      }
      if (pollProblem) { pollProblem = false; setAlert(''); }
      update(r.body);
      renderSpeakers(r.body.speakers || []);
    } else if (r.status === 401 || r.status === 403) {
      refused(r.status, r.body);
      return null;
    } else {
      pollProblem = true;
      setAlert(problem(r.status, r.body, 'load the space'));
    }
    return show.state === 'ended' ? null : POLL_MS;
  }

  function setOffline(off) {
    if (off === offline) return;
    offline = off;
    setAlert(!off ? '' : canMove() ? 'Lost contact with this origin server: looking for the active one…' : 'Lost contact with the server. Retrying…');
  }

  // ---- moving to another origin (a cluster with a standby origin) ----

  async function learnOrigins() {
    originsAt = Date.now();
    const l = await originsAPI.list(base);
    if (l && l.length) { origins = l; root.dataset.origins = String(l.length); }
  }

  // canMove: there is another origin to go to.
  const canMove = () => origins.length > 1;

  // suspect is called when the origin may be gone (its API unreachable or
  // standing by, the audio connection lost): a joined speaker moves on.
  function suspect() {
    if (!canMove() || moving || phase === 'idle' || phase === 'opening') return;
    moveOn();
  }

  // moveOn hangs up the old connection (keeping the microphone) and joins
  // again on whichever origin is active, trying with backoff until one
  // takes the speaker or the speaker leaves.
  async function moveOn() {
    moving = true;
    const g = ++gen;
    clearTimeout(dropTimer);
    const name = $('name').value.trim();
    const old = pc, oldWHIP = whipURL;
    pc = null; sender = null; whipURL = '';
    if (old) old.close();
    setPhase('moving');
    for (let n = 0; g === gen; n++) {
      const { to, heard } = await originsAPI.active(origins);
      if (g !== gen) break;
      if (to) {
        if (oldWHIP && oldWHIP.startsWith(to + '/')) await del(oldWHIP); // alive after all: free the seat first
        base = to === location.origin ? '' : to;
        root.dataset.origin = to;
        moved = true; // the connection's 'connected' says where it is on air
        try {
          await connect(g, name);
          if (g === gen) poll();
          break;
        } catch (e) {
          if (g !== gen) break;
          if (pc) { pc.close(); pc = null; }
          setMicStatus((e && e.message) || 'Could not join on ' + originsAPI.label(to) + '.', true);
        }
      } else {
        setMicStatus(heard ? 'Reconnecting to the standby origin…' :
          'No origin server is reachable (' + origins.map(originsAPI.label).join(', ') + '). Still trying…', !heard);
      }
      await new Promise((res) => setTimeout(res, originsAPI.backoff(n, heard)));
    }
    if (g === gen) moving = false; // else a newer move or a leave took over
  }

  function update(body) {
    const was = show.state;
    show.state = body.state;
    show.title = body.title || show.title;
    show.startsAt = new Date(body.starts_at);
    show.startedAt = body.started_at ? new Date(body.started_at) : null;
    show.listeners = body.listeners || 0;
    show.recorded = body.recorded_seconds || 0;
    show.role = body.role || 'host';
    // An invited token speaks under its invite's name only.
    if (body.speak_as && phase === 'idle') $('name').value = body.speak_as;
    show.fixedName = !!body.speak_as;
    if (was !== 'ended' && show.state === 'ended') ended();
    render();
    document.dispatchEvent(new CustomEvent('onair:studio', { detail: { body, token, base } }));
  }

  // ---- going live and ending ----

  async function goLive() {
    const b = $('go-live');
    b.disabled = true;
    setAlert('');
    try {
      const r = await apiJSON('POST', '/api/v1/spaces/' + enc + '/start');
      if (r.ok) {
        update(r.body);
        announce('You are live. Listeners hear the show now, and it is being recorded.');
        poll();
      } else {
        setAlert(problem(r.status, r.body, 'go live'));
        if (r.status === 409) poll();
      }
    } catch {
      setAlert('Could not reach the server to go live. Try again.');
    } finally {
      b.disabled = false;
    }
  }

  async function endShow() {
    const b = $('end');
    b.disabled = true;
    setAlert('');
    try {
      const r = await apiJSON('POST', '/api/v1/spaces/' + enc + '/end');
      if (r.ok) update(r.body);
      else setAlert(problem(r.status, r.body, 'end the show'));
    } catch {
      setAlert('Could not reach the server to end the show. Try again.');
    } finally {
      b.disabled = false;
    }
  }

  function ended() {
    clearTimeout(pollTimer);
    leave(false);
    setMicStatus('');
    renderSpeakers([]);
    announce(show.startedAt ? 'The show has ended. Listeners can play the replay now.' : 'The show has ended.');
  }

  // ---- the microphone ----

  async function openMic(deviceId) {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 };
    if (deviceId) audio.deviceId = { exact: deviceId };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    } catch (e) {
      if (!deviceId || (e.name !== 'OverconstrainedError' && e.name !== 'NotFoundError')) throw e;
      delete audio.deviceId; // that microphone is gone: take the default
      stream = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    }
    const track = stream.getAudioTracks()[0];
    // The meter watches a clone, so it still moves while muted (and can
    // warn that you speak into a muted microphone).
    const probe = track.clone();
    track.addEventListener('ended', () => { if (mic && mic.track === track) micLost(); });
    return { stream, track, probe, meter: meter(new MediaStream([probe]), $('mic-meter')) };
  }

  function closeMic(m) {
    if (!m) return;
    m.meter.stop();
    m.track.stop();
    m.probe.stop();
  }

  function micMessage(e) {
    switch (e && e.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return 'Microphone access is blocked. Allow it for this site (the icon at the left of the address bar), then try again.';
      case 'NotFoundError':
      case 'OverconstrainedError':
        return 'No microphone found. Plug one in, or pick another one.';
      case 'NotReadableError':
      case 'AbortError':
        return 'The microphone could not be opened: another app may be using it.';
    }
    return 'The microphone could not be opened' + (e && e.message ? ': ' + e.message : '.');
  }

  function micLost() {
    if (phase === 'idle' && mic) { closeMic(mic); mic = null; renderMic(); }
    else leave(true, 'The microphone went away (unplugged?). Pick another one and join again.');
  }

  // testMic opens the microphone before joining, to see the meter move (and
  // to list the microphones, which needs the permission); again closes it.
  async function testMic() {
    if (!secure || phase !== 'idle') return;
    if (mic) {
      gen++;
      closeMic(mic);
      mic = null;
      setMicStatus('');
      return renderMic();
    }
    const g = gen;
    setMicStatus('');
    try {
      const m = await openMic($('mic').value);
      if (g !== gen || mic) { closeMic(m); return; }
      mic = m;
      setMicStatus('The microphone is open: the meter shows what it hears.');
    } catch (e) {
      setMicStatus(micMessage(e), true);
    }
    fillDevices();
    renderMic();
  }

  // The list of microphones: labels come once access is allowed.
  async function fillDevices() {
    if (!secure || !navigator.mediaDevices.enumerateDevices) return;
    let list;
    try { list = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput' && d.deviceId); } catch { return; }
    const sel = $('mic');
    const current = mic ? mic.track.getSettings().deviceId : sel.value || readPref(MIC_KEY);
    const labelled = list.some((d) => d.label);
    sel.replaceChildren();
    if (!labelled) {
      sel.append(new Option('Default microphone', ''));
    } else {
      list.forEach((d, i) => sel.append(new Option(d.label || 'Microphone ' + (i + 1), d.deviceId)));
      if (list.some((d) => d.deviceId === current)) sel.value = current;
    }
    $('mic-hint').hidden = labelled;
  }

  async function switchMic() {
    const dev = $('mic').value;
    writePref(MIC_KEY, dev);
    if (!mic) return;
    if (mic.track.getSettings().deviceId === dev) return;
    const g = gen;
    let m;
    try {
      m = await openMic(dev);
    } catch (e) {
      setMicStatus(micMessage(e), true);
      return;
    }
    if (g !== gen || !mic) { closeMic(m); return; }
    m.track.enabled = !muted;
    if (sender) await sender.replaceTrack(m.track).catch(() => {});
    const old = mic;
    mic = m;
    closeMic(old);
    setMicStatus('Switched to ' + (m.track.label || 'the new microphone') + '.');
    fillDevices();
  }

  // ---- joining as a speaker (WHIP) ----

  async function join() {
    if (phase !== 'idle' || auth !== 'ok' || show.state === 'ended') return;
    const name = $('name').value.trim();
    if (!NAME_RE.test(name)) {
      setMicStatus('Pick a name on air: letters, digits, spaces and . _ - (up to 64).', true);
      $('name').focus();
      return;
    }
    writePref(NAME_KEY, name);
    if (!secure) return setMicStatus(insecureMessage(), true);
    const g = ++gen;
    setPhase('opening');
    setMicStatus('');
    audioContext(); // while the click still counts as a gesture
    try {
      const m = mic || await openMic($('mic').value);
      if (g !== gen) { if (m !== mic) closeMic(m); return; }
      mic = m;
    } catch (e) {
      if (g !== gen) return;
      setPhase('idle');
      return setMicStatus(micMessage(e), true);
    }
    fillDevices();
    setPhase('connecting');
    try {
      await connect(g, name);
    } catch (e) {
      if (g !== gen || auth !== 'ok') return;
      leave(false);
      setMicStatus(e.message || 'Could not connect.', true);
    }
  }

  async function connect(g, name) {
    const conn = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc = conn;
    mic.track.enabled = !muted;
    const tr = conn.addTransceiver(mic.track, { direction: 'sendrecv', streams: [mic.stream] });
    sender = tr.sender;
    conn.addEventListener('track', (ev) => {
      if (conn !== pc) return;
      remoteStream = ev.streams[0] || new MediaStream([ev.track]);
      const audio = $('remote');
      audio.srcObject = remoteStream;
      audio.play().catch(() => { /* autoplay: the join click normally allows it */ });
      if (rx) rx.stop();
      rx = meter(remoteStream, $('rx-meter'));
      renderMic();
    });
    conn.addEventListener('connectionstatechange', () => { if (conn === pc) connectionChanged(conn.connectionState); });

    await conn.setLocalDescription(await conn.createOffer());
    await gathered(conn, 2500); // WHIP here has no trickle: the offer carries every candidate
    if (g !== gen) return;
    let r;
    try {
      r = await api('POST', '/whip/' + enc + '?speaker=' + encodeURIComponent(name), {
        headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp' }, body: conn.localDescription.sdp, timeout: 15000,
      });
    } catch {
      throw new Error('Could not reach the server to join. Try again.');
    }
    if (g !== gen) {
      if (r.status === 201) del(new URL(r.headers.get('Location'), base || location.href).href);
      return;
    }
    if (r.status !== 201) {
      const body = await r.json().catch(() => ({}));
      const msg = problem(r.status, body, 'join');
      if (r.status === 409) poll();
      throw new Error(msg);
    }
    whipURL = new URL(r.headers.get('Location'), base || location.href).href;
    root.dataset.origin = base || location.origin;
    await conn.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    // ICE that never connects (UDP blocked on the way to the server) would
    // take the browser half a minute to call a failure.
    clearTimeout(dropTimer);
    dropTimer = setTimeout(() => {
      if (g !== gen) return;
      if (phase === 'moving') suspect(); // that origin's audio never connected: look again
      else if (phase === 'connecting') leave(true, 'The audio connection could not be set up: UDP to the server may be blocked on this network.');
    }, 15000);
  }

  function gathered(conn, ms) {
    return new Promise((resolve) => {
      if (conn.iceGatheringState === 'complete') return resolve();
      const done = () => {
        if (conn.iceGatheringState !== 'complete') return;
        clearTimeout(t);
        conn.removeEventListener('icegatheringstatechange', done);
        resolve();
      };
      const t = setTimeout(() => { conn.removeEventListener('icegatheringstatechange', done); resolve(); }, ms);
      conn.addEventListener('icegatheringstatechange', done);
    });
  }

  function connectionChanged(st) {
    clearTimeout(dropTimer);
    if (st === 'connected') {
      moving = false;
      if (moved) announceMic('On air via ' + originsAPI.label(base || location.origin) + (muted ? ', muted' : '') +
        ': reconnected by itself after the origin server went away.');
      else if (phase !== 'connected') announceMic(muted ? 'You are connected, muted.' : 'You are connected: the others hear you.');
      moved = false;
      setPhase('connected');
    } else if (st === 'disconnected' && phase !== 'moving') {
      setPhase('reconnecting');
      // With another origin to go to, a second without audio is enough
      // to ask whether this one is still the active one.
      dropTimer = setTimeout(() => (canMove() ? suspect() : dropped()), canMove() ? 1000 : 8000);
    } else if (st === 'failed' || st === 'closed') {
      if (canMove()) suspect(); else dropped();
    }
  }

  function dropped() {
    if (show.state === 'ended') return leave(false);
    leave(false, 'The audio connection dropped (did you join with the same name somewhere else?). Join again when ready.');
    poll();
  }

  // leave hangs up: DELETE the WHIP session, close the connection and the
  // microphone; msg says why, in the microphone panel.
  function leave(sendDelete = true, msg) {
    gen++;
    moving = false;
    clearTimeout(dropTimer);
    if (whipURL && sendDelete) del(whipURL);
    whipURL = '';
    if (pc) { pc.close(); pc = null; }
    sender = null;
    if (rx) { rx.stop(); rx = null; }
    remoteStream = null;
    $('remote').srcObject = null;
    closeMic(mic);
    mic = null;
    setPhase('idle');
    if (msg) setMicStatus(msg, true);
  }

  function del(url) {
    if (!token) return Promise.resolve();
    return api('DELETE', url, { keepalive: true, timeout: 2000 }).catch(() => { /* the session times out anyway */ });
  }

  function toggleMute() {
    if (!mic || phase === 'idle') return;
    muted = !muted;
    mic.track.enabled = !muted;
    announceMic(muted ? 'Muted: the others do not hear you.' : 'Unmuted: the others hear you.');
    renderMic();
  }

  // ---- level meters ----

  let ac = null, rx = null;
  const meters = new Set();

  function audioContext() {
    if (!ac) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      ac = new AC();
    }
    if (ac.state === 'suspended') ac.resume().catch(() => {});
    return ac;
  }

  // meter shows the level of a stream on el (a .meter): its RMS in
  // data-level, and a bar on a -60..0 dBFS scale that falls back slowly.
  function meter(stream, el) {
    const ctx = audioContext();
    const m = { el, level: 0, shown: 0, stop() { meters.delete(m); if (m.src) m.src.disconnect(); setLevel(el, 0); el.dataset.level = '0'; } };
    if (!ctx) return m;
    m.src = ctx.createMediaStreamSource(stream);
    m.an = ctx.createAnalyser();
    m.an.fftSize = 2048;
    m.buf = new Float32Array(m.an.fftSize);
    m.src.connect(m.an);
    meters.add(m);
    if (meters.size === 1) requestAnimationFrame(frame);
    return m;
  }

  function frame() {
    if (!meters.size) return;
    for (const m of meters) {
      m.an.getFloatTimeDomainData(m.buf);
      let e = 0;
      for (const v of m.buf) e += v * v;
      m.level = Math.sqrt(e / m.buf.length);
      m.shown = Math.max(dbScale(m.level), m.shown - 0.02);
      setLevel(m.el, m.shown);
      m.el.dataset.level = m.level.toFixed(4);
    }
    const hot = mic && mic.meter.level > SPEAKING * 2;
    $('mic-stage').classList.toggle('talking', !!hot);
    $('mic-stage').classList.toggle('talking-muted', !!hot && muted && phase !== 'idle');
    requestAnimationFrame(frame);
  }

  const dbScale = (rms) => Math.min(1, Math.max(0, (20 * Math.log10(rms + 1e-9) + 60) / 60));
  const setLevel = (el, v) => el.style.setProperty('--level', v.toFixed(3));

  // ---- rendering ----

  function setPhase(p) {
    phase = p;
    root.dataset.phase = p;
    renderMic();
  }

  function render() {
    root.dataset.auth = auth;
    root.dataset.state = show.state;
    const signedIn = auth === 'ok';
    $('signin').hidden = signedIn || auth === 'checking';
    $('desk').hidden = !signedIn || show.state === 'ended';
    $('signout').hidden = !signedIn;
    $('show-actions').hidden = !signedIn || (show.state === 'ended' && !show.startedAt);
    const runs = show.role !== 'speaker'; // speakers speak; hosts and co-hosts run the show
    $('go-live').hidden = show.state !== 'scheduled' || !runs;
    $('end').hidden = show.state !== 'live' || !runs;
    $('replay').hidden = show.state !== 'ended';
    $('badge').textContent = { live: 'Live', scheduled: 'Scheduled', ended: 'Ended' }[show.state] || show.state;
    $('title').textContent = show.title;
    $('listener-count').textContent = show.listeners;
    $('listeners').hidden = show.state !== 'live';
    $('green-room').hidden = show.state !== 'scheduled';
    renderClock();
    renderMic();
    document.title = (show.state === 'live' ? '● Live · ' : '') + show.title + ' · studio · onair';
  }

  function renderClock() {
    const now = Date.now();
    let w;
    $('clock').hidden = !(show.state === 'live' && show.startedAt);
    if (show.state === 'live' && show.startedAt) {
      $('clock').textContent = clock((now - show.startedAt) / 1000);
      w = 'On air since ' + when(show.startedAt);
    } else if (show.state === 'scheduled') {
      const mins = Math.round((show.startsAt - now) / 60000);
      w = 'Scheduled for ' + when(show.startsAt) +
        (mins > 1 ? ' · in ' + duration(mins) : mins < -1 ? ' · ' + duration(-mins) + ' late' : ' · now');
    } else {
      w = !show.startedAt ? 'Ended without going on air, so there is no replay.' :
        'Aired ' + when(show.startedAt) + (show.recorded ? ' · ' + clock(show.recorded) + ' recorded' : '');
    }
    const el = $('when');
    if (el.textContent !== w) el.textContent = w;
  }

  const duration = (mins) => mins < 60 ? mins + ' min' : mins < 2880 ? Math.round(mins / 60) + ' h' : Math.round(mins / 1440) + ' days';

  const MIC_LABELS = {
    idle: 'Tap to join as a speaker',
    opening: 'Opening the microphone…',
    connecting: 'Connecting…',
    reconnecting: 'Connection unstable: reconnecting…',
    moving: 'Reconnecting to the standby origin…',
  };

  function renderMic() {
    const joined = phase !== 'idle';
    const over = show.state === 'ended';
    $('join').hidden = joined && phase !== 'opening' && phase !== 'connecting';
    $('join').disabled = over || phase === 'opening' || phase === 'connecting' || !secure;
    $('mute').hidden = !$('join').hidden;
    $('mute').setAttribute('aria-pressed', String(muted));
    $('leave').hidden = !joined;
    $('test-mic').hidden = joined || over || !secure;
    $('test-mic').textContent = mic && !joined ? 'Close the microphone' : 'Check the microphone';
    $('name').disabled = joined || !!show.fixedName;
    root.dataset.muted = String(muted);
    let label = MIC_LABELS[phase];
    if (phase === 'connected') label = muted ? 'You are muted' : 'The others hear you';
    else if (phase === 'idle' && over) label = 'The show has ended';
    else if (phase === 'idle' && mic) label = 'Microphone open: join when ready';
    $('mic-label').textContent = label;
    $('return-state').textContent = remoteStream ? 'connected' : joined ? 'connecting…' : 'not connected';
  }

  // One row per speaker, kept across polls so the meters glide.
  const rows = new Map();
  const recent = new Map(); // name -> the last levels, for a steadier "speaking"

  function renderSpeakers(list) {
    const ul = $('speakers');
    const me = phase !== 'idle' ? $('name').value.trim() : null;
    const seen = new Set();
    list.forEach((s, i) => {
      seen.add(s.name);
      let li = rows.get(s.name);
      if (!li) {
        li = $('speaker-tpl').content.firstElementChild.cloneNode(true);
        li.dataset.name = s.name;
        li.querySelector('.spk-label').textContent = s.name;
        li.querySelector('.avatar').textContent = initials(s.name);
        li.style.setProperty('--hue', hue(s.name));
        rows.set(s.name, li);
      }
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
      const h = (recent.get(s.name) || []).concat(s.level).slice(-2);
      recent.set(s.name, h);
      const speaking = s.state === 'playing' && Math.max(...h) > SPEAKING;
      li.dataset.state = s.state;
      li.dataset.level = String(s.level);
      li.dataset.speaking = String(speaking);
      li.querySelector('.you').hidden = s.name !== me;
      setLevel(li.querySelector('.meter'), s.state === 'playing' ? dbScale(s.level) : 0);
      const meta = { playing: speaking ? 'speaking' : 'quiet', buffering: 'connecting…', finished: 'leaving' }[s.state] || s.state;
      const buf = s.state === 'playing' && s.buffer_ms != null ? ' · ' + Math.round(s.buffer_ms) + ' ms buffer' : '';
      li.querySelector('.spk-meta').textContent = meta + buf;
    });
    for (const [name, li] of rows) {
      if (!seen.has(name)) { li.remove(); rows.delete(name); recent.delete(name); }
    }
    $('speaker-count').textContent = list.length;
    $('no-speakers').hidden = list.length > 0 || show.state === 'ended';
  }

  function initials(name) {
    const parts = name.split(/[ ._-]+/).filter(Boolean);
    const s = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
    return s.toUpperCase();
  }

  function hue(name) {
    let h = 0;
    for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
    return String(h);
  }

  function setAlert(msg) {
    const a = $('alert');
    if (a.textContent !== msg) a.textContent = msg;
    a.hidden = !msg;
  }

  function announce(msg) { $('status').textContent = msg; }

  function setMicStatus(msg, error) {
    const s = $('mic-status');
    s.textContent = msg;
    s.classList.toggle('error', !!error);
  }
  const announceMic = (msg) => setMicStatus(msg, false);

  function insecureMessage() {
    return 'Browsers open the microphone only on secure pages: open the studio at http://127.0.0.1 or localhost ' +
      '(e.g. through ssh -L 8081:127.0.0.1:8081), or behind HTTPS.';
  }

  function readPref(k) { try { return localStorage.getItem(k) || ''; } catch { return ''; } }
  function writePref(k, v) { try { localStorage.setItem(k, v); } catch { /* storage off */ } }

  // ---- controls ----

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    $('token').value = '';
    $('token-error').hidden = true;
    signIn(t);
  });
  $('signout').addEventListener('click', () => {
    leave();
    saveToken('');
    auth = 'none';
    clearTimeout(pollTimer);
    announce('Signed out of the studio in this tab.');
    render();
  });
  $('go-live').addEventListener('click', goLive);
  const dialog = $('end-dialog');
  $('end').addEventListener('click', () => {
    if (dialog.showModal) dialog.showModal();
    else if (window.confirm('End the show for everyone?')) endShow();
  });
  dialog.addEventListener('close', () => { if (dialog.returnValue === 'end') endShow(); dialog.returnValue = ''; });
  $('join').addEventListener('click', join);
  $('leave').addEventListener('click', () => { leave(); announceMic('You left. Join again any time.'); });
  $('mute').addEventListener('click', toggleMute);
  $('test-mic').addEventListener('click', testMic);
  $('mic').addEventListener('change', switchMic);
  $('name').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') join(); });
  document.addEventListener('keydown', (ev) => {
    const tag = ev.target && ev.target.tagName;
    if (ev.key.toLowerCase() !== 'm' || ev.ctrlKey || ev.metaKey || ev.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(tag)) return;
    if (phase === 'connected' || phase === 'reconnecting' || phase === 'moving') { ev.preventDefault(); toggleMute(); }
  });
  const copy = $('copy-link');
  copy.hidden = !(navigator.clipboard && navigator.clipboard.writeText);
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(root.dataset.page).then(() => { copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy link'; }, 2000); },
      () => { copy.textContent = 'Copy failed'; });
  });
  if (secure) navigator.mediaDevices.addEventListener('devicechange', fillDevices);
  window.addEventListener('hashchange', () => { if (tokenFromFragment()) signIn(token); });
  // Closing the tab hangs up at once rather than after the ICE timeout.
  window.addEventListener('pagehide', () => { if (whipURL) leave(); });

  const savedName = readPref(NAME_KEY);
  if (savedName && NAME_RE.test(savedName)) $('name').value = savedName;
  if (!secure) {
    setMicStatus(insecureMessage(), true);
  }
  tokenFromFragment();
  token = storedToken();
  if (token) signIn(token);
  else render();
  setInterval(() => { if (auth === 'ok') renderClock(); }, 1000);
})();

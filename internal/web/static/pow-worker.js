// The listener page's proof of work, in a Web Worker so the page stays
// responsive: find a nonce (a decimal string) such that
// SHA-256(challenge + ":" + nonce) starts with `difficulty` zero bits.
//
// In:  {challenge, difficulty, impl?: 'subtle' | 'js', start?, step?}: the
//      nonces start, start+step, start+2*step... (several workers share
//      the search by taking every step-th nonce each).
// Out: {type: 'progress', tried, ms} about every 100 ms,
//      then {type: 'done', nonce, tried, ms, impl} or {type: 'error', message}.
//
// WebCrypto hashes in batches (a few hundred digests in flight at once: each
// digest is asynchronous). WebCrypto exists only in secure contexts (https,
// or http on localhost); a page served over plain http elsewhere gets the
// small SHA-256 below, which also reuses the hash state of the challenge's
// first 64 bytes for every nonce.
'use strict';

const BATCH = 256;
const REPORT_MS = 100;

self.onmessage = async (e) => {
  const { challenge, difficulty } = e.data;
  const start = e.data.start || 0, step = e.data.step || 1;
  const subtle = self.crypto && self.crypto.subtle;
  const impl = e.data.impl === 'js' || !subtle ? 'js' : 'subtle';
  try {
    const solve = impl === 'subtle' ? solveSubtle : solveJS;
    const t0 = performance.now();
    const { nonce, tried } = await solve(challenge + ':', difficulty, start, step, t0);
    self.postMessage({ type: 'done', nonce, tried, ms: performance.now() - t0, impl });
  } catch (err) {
    self.postMessage({ type: 'error', message: String((err && err.message) || err) });
  }
};

// zeroBits counts the leading zero bits of a digest given as 32-bit words.
function zeroBits(words) {
  let n = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] >>> 0;
    if (w !== 0) return n + Math.clz32(w);
    n += 32;
  }
  return n;
}

function progress(tried, t0, last) {
  const now = performance.now();
  if (now - last < REPORT_MS) return last;
  self.postMessage({ type: 'progress', tried, ms: now - t0 });
  return now;
}

async function solveSubtle(prefix, difficulty, start, step, t0) {
  const enc = new TextEncoder();
  const words = new Array(8);
  let last = t0;
  for (let j = 0; ; j += BATCH) { // j: how many this worker tried
    const jobs = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) jobs[i] = crypto.subtle.digest('SHA-256', enc.encode(prefix + (start + (j + i) * step)));
    const sums = await Promise.all(jobs);
    for (let i = 0; i < BATCH; i++) {
      const v = new DataView(sums[i]);
      for (let k = 0; k < 8; k++) words[k] = v.getUint32(4 * k);
      if (zeroBits(words) >= difficulty) return { nonce: String(start + (j + i) * step), tried: j + i + 1 };
    }
    last = progress(j + BATCH, t0, last);
  }
}

// ---- SHA-256 (FIPS 180-4), for pages without WebCrypto ----

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Uint32Array(64);

// compress folds the 64-byte block of m at off into the state h.
function compress(h, m, off) {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
}

// hasher returns a function that hashes prefix + a suffix of ASCII
// characters, into a state it reuses (read it before the next call).
function hasher(prefix) {
  const pre = new TextEncoder().encode(prefix);
  const full = pre.length - (pre.length % 64);
  const mid = new Int32Array(IV);
  for (let off = 0; off < full; off += 64) compress(mid, pre, off);
  const rest = pre.subarray(full);
  const buf = new Uint8Array(192);
  const h = new Int32Array(8);
  return (suffix) => {
    const len = rest.length + suffix.length; // bytes after the cached blocks
    const blocks = Math.ceil((len + 9) / 64);
    buf.fill(0, 0, blocks * 64);
    buf.set(rest);
    for (let i = 0; i < suffix.length; i++) buf[rest.length + i] = suffix.charCodeAt(i);
    buf[len] = 0x80;
    const bits = (pre.length + suffix.length) * 8; // < 2^32: the high length word stays 0
    const end = blocks * 64;
    buf[end - 4] = bits >>> 24; buf[end - 3] = bits >>> 16; buf[end - 2] = bits >>> 8; buf[end - 1] = bits;
    h.set(mid);
    for (let b = 0; b < blocks; b++) compress(h, buf, 64 * b);
    return h;
  };
}

async function solveJS(prefix, difficulty, start, step, t0) {
  const hash = hasher(prefix);
  let last = t0;
  for (let j = 0; ; j++) {
    const nonce = String(start + j * step);
    if (zeroBits(hash(nonce)) >= difficulty) return { nonce, tried: j + 1 };
    if ((j & 4095) === 4095) last = progress(j + 1, t0, last);
  }
}

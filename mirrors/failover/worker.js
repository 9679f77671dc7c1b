// The service worker every mirror serves at /sw.js (docs/mirrors.md,
// "Browser failover"), after its configuration (HS_CONFIG) and the checks of
// verify.js. It passes every request to the reader's usual address; only
// when that address does not answer (refused, no DNS, silent past
// HS_CONFIG.timeoutMs) does it fetch the same path from the next mirror of
// the signed list, and it serves nothing that fails the checks. It keeps
// only the verified mirror list (Cache Storage) and, in memory, each
// mirror's verified heartbeat and statements.
/* global self, caches, fetch, Response, Headers, URL, TextDecoder, AbortController, setTimeout, clearTimeout, console, HS_CONFIG, hsVerify */
'use strict';

const CACHE = 'hyperstatic-failover-v1';
const LIST_KEY = '/mirrors.json';
/** How often a navigation that reached the usual address refreshes the list, in ms. */
const LIST_REFRESH_MS = 10 * 60_000;
/** How long a mirror's verified heartbeat and statements are reused, in ms (a change past its head fetches them again). */
const TRUST_REUSE_MS = 60_000;
/** After the usual address failed to answer, requests go straight to the mirrors for this long, in ms. */
const HOME_RETRY_MS = 30_000;

let listCheckedAt = 0;
/** Until when the usual address is taken as down: an address that drops packets would cost every request the timeout. */
let homeDownUntil = 0;
/** The mirror that answered last: tried first next time. */
let lastGood = '';
const mirrorTrust = new Map();
/** Each mirror's verified signed manifest (pages by path), for pages its journal holds no signed change of. */
const manifests = new Map();

/** fetch, abandoned when no answer (headers) came within HS_CONFIG.timeoutMs. */
async function withTimeout(input, init = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), HS_CONFIG.timeoutMs);
  try {
    return await fetch(input, { ...init, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** Another mirror's file: CORS, no cookies, never from the HTTP cache (its answer is checked, not remembered). */
function fromOther(url) {
  return withTimeout(url, { mode: 'cors', credentials: 'omit', cache: 'no-store' });
}

/** The answer's body (JSON, or text), or undefined for a 404; anything else but a 200 is refused. */
async function body(url, as = 'json') {
  const res = await fromOther(url);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new hsVerify.Refused('unavailable', `${url} answered ${res.status}`);
  return as === 'json' ? res.json() : res.text();
}

async function json(url) {
  const value = await body(url);
  if (value === undefined) throw new hsVerify.Refused('unavailable', `${url} answered 404`);
  return value;
}

/** Fetches the list from the usual address and keeps it only if it verifies against the embedded anchor. */
async function refreshList() {
  listCheckedAt = Date.now();
  const res = await withTimeout(LIST_KEY, { cache: 'no-store' });
  if (!res.ok) return;
  const text = await res.text();
  await hsVerify.verifyMirrorList(JSON.parse(text), HS_CONFIG.anchor);
  const cache = await caches.open(CACHE);
  await cache.put(LIST_KEY, new Response(text, { headers: { 'content-type': 'application/json' } }));
}

async function storedList() {
  const cache = await caches.open(CACHE);
  const res = await cache.match(LIST_KEY);
  if (!res) return undefined;
  // Checked again: Cache Storage is the page's too, so what it holds is re-verified before use.
  return hsVerify.verifyMirrorList(await res.json(), HS_CONFIG.anchor);
}

/** The other mirrors of the list, the last one that answered first. */
async function otherMirrors() {
  const list = await storedList();
  if (!list) return [];
  const here = self.location.origin;
  const bases = list.mirrors
    .filter((m) => m.kind === 'mirror' || m.kind === 'onion')
    .map((m) => m.url)
    .filter((url) => new URL(url).origin !== here);
  return bases.includes(lastGood) ? [lastGood, ...bases.filter((b) => b !== lastGood)] : bases;
}

/** A mirror's heartbeat and statements, verified against the anchor. */
async function trustOf(base) {
  const known = mirrorTrust.get(base);
  if (known && Date.now() - known.at < TRUST_REUSE_MS) return known;
  const [heartbeat, trust] = await Promise.all([
    json(new URL('.well-known/hyperstatic/heartbeat.json', base)),
    json(new URL('.well-known/hyperstatic/trust.json', base)),
  ]);
  const staleFor = await hsVerify.verifyHeartbeat(heartbeat, trust, HS_CONFIG.anchor, Date.now(), HS_CONFIG.staleMs);
  const verified = { at: Date.now(), heartbeat, trust, staleFor };
  mirrorTrust.set(base, verified);
  return verified;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The quiet line at the top of a page that came from another mirror (styled like the frozen-copy line). */
function noteHtml(base, heartbeat, staleFor) {
  const host = escapeHtml(new URL(base).host);
  const since = new Date(heartbeat.validUntil).toISOString().slice(0, 16).replace('T', ' ');
  const old = staleFor > 0 ? ` The newsroom last confirmed that copy on ${since} UTC.` : '';
  return (
    '<p class="hs-frozen" role="note">' +
    `This site's usual address is not answering, so this page comes from another copy at ${host}, ` +
    `checked against the newsroom's signature.${old}</p>`
  );
}

function withNote(html, note) {
  const body = /<body\b[^>]*>/i.exec(html);
  if (!body) return html;
  const at = body.index + body[0].length;
  const withLine = html.slice(0, at) + note + html.slice(at);
  const head = withLine.slice(0, body.index).search(/<\/head>/i);
  const styleAt = head >= 0 ? head : at;
  return `${withLine.slice(0, styleAt)}<style>${HS_CONFIG.noteCss}</style>${withLine.slice(styleAt)}`;
}

/**
 * What the site key signed for `path` on this mirror: the signed change that
 * last touched it, or, for a page unchanged since the copy was loaded from a
 * manifest or a bundle, that signed manifest's line.
 */
async function signedEntry(base, path, heartbeat, trust) {
  const proof = await body(new URL(`.well-known/hyperstatic/proof?path=${encodeURIComponent(path)}`, base));
  if (proof) return hsVerify.verifyProof(proof, path, heartbeat, trust, HS_CONFIG.anchor);
  let pages = manifests.get(base);
  if (!pages) {
    const text = await body(new URL('.well-known/hyperstatic/manifest.ndjson', base), 'text');
    if (text === undefined) throw new hsVerify.Refused('unsigned', `${base} holds no signed copy of ${path}`);
    pages = await hsVerify.verifyManifest(text, heartbeat, trust, HS_CONFIG.anchor);
    manifests.set(base, pages);
  }
  const page = pages.get(path);
  if (!page) throw new hsVerify.Refused('unsigned', `${base} holds no signed copy of ${path}`);
  return page;
}

/** `path` from the mirror at `base`, or a Refused error: nothing unverified is ever returned. */
async function fromMirror(base, path) {
  let verified = await trustOf(base);
  // The page as the mirror serves it, asked for at once: usually the signed bytes themselves.
  const served = fromOther(new URL(`.${path}`, base))
    .then((res) => (res.ok ? res.arrayBuffer() : undefined))
    .catch(() => undefined);
  let entry;
  try {
    entry = await signedEntry(base, path, verified.heartbeat, verified.trust);
  } catch (error) {
    if (error.reason !== 'stale') throw error;
    // Changed after the heartbeat this worker kept: take the mirror's newest, once.
    mirrorTrust.delete(base);
    verified = await trustOf(base);
    entry = await signedEntry(base, path, verified.heartbeat, verified.trust);
  }
  const { heartbeat, staleFor } = verified;
  if (entry.op === 'delete') return new Response('Not found\n', { status: 404 });
  let bytes = await served;
  if (
    !bytes ||
    !(await hsVerify.checkBody(bytes, entry).then(
      () => true,
      () => false,
    ))
  ) {
    // By hash: a blob is the signed bytes exactly (a page as served may carry a mirror's frozen-copy line).
    const res = await fromOther(new URL(`blobs/${entry.sha256}`, base));
    if (!res.ok) throw new hsVerify.Refused('unavailable', `${base} has no body for ${path}`);
    bytes = await res.arrayBuffer();
    await hsVerify.checkBody(bytes, entry);
  }
  const headers = new Headers({
    'content-type': entry.contentType,
    'content-security-policy': HS_CONFIG.csp,
    'x-content-type-options': 'nosniff',
    'hyperstatic-served-by': new URL(base).origin,
  });
  const status = entry.op === 'gone' ? 410 : 200;
  if (!entry.contentType.startsWith('text/html')) return new Response(bytes, { status, headers });
  const html = withNote(new TextDecoder().decode(bytes), noteHtml(base, heartbeat, staleFor));
  return new Response(html, { status, headers });
}

/** Every other mirror in turn; a 503 page when none gives a verified copy. */
async function failover(path) {
  const reasons = [];
  for (const base of await otherMirrors()) {
    try {
      const res = await fromMirror(base, path);
      lastGood = base;
      return res;
    } catch (error) {
      mirrorTrust.delete(base);
      manifests.delete(base);
      reasons.push(`${base}: ${error.message}`);
    }
  }
  console.warn('hyperstatic: no mirror gave a verified copy of', path, reasons);
  return new Response(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not reachable</title></head>' +
      "<body><main><h1>This page cannot be reached</h1><p>The site's usual address is not answering, " +
      'and no other copy could be checked against the newsroom\u2019s signature.</p></main></body></html>',
    { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', 'retry-after': '30' } },
  );
}

/** Paths the worker leaves to the network: its own script, the mirror protocol and the operator endpoints. */
function passThrough(path) {
  return (
    path === '/sw.js' ||
    path === '/feed' ||
    path.startsWith('/blobs/') ||
    path.startsWith('/_mirror/') ||
    path.startsWith('/.well-known/')
  );
}

async function handle(event, url) {
  if (Date.now() < homeDownUntil && url.pathname !== '/sw-register.js') return failover(url.pathname);
  try {
    // A navigation revalidates (a 304 when nothing changed): a page the HTTP cache took as fresh by
    // heuristic would hide a mirror's frozen-copy line (test/browser/public-pages.test.ts).
    const res = await withTimeout(event.request, event.request.mode === 'navigate' ? { cache: 'no-cache' } : {});
    homeDownUntil = 0;
    if (event.request.mode === 'navigate' && Date.now() - listCheckedAt > LIST_REFRESH_MS)
      event.waitUntil(refreshList().catch(() => undefined));
    return res;
  } catch {
    // The usual address did not answer at all (an HTTP error status is an answer, and is passed on).
    homeDownUntil = Date.now() + HOME_RETRY_MS;
    // The registration script is the mirror's, not the site's: the worker it registers is already here.
    if (url.pathname === '/sw-register.js') return new Response('', { headers: { 'content-type': 'text/javascript' } });
    return failover(url.pathname);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    refreshList()
      .catch((error) => console.warn('hyperstatic: the mirror list was not kept:', error.message))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || passThrough(url.pathname)) return;
  event.respondWith(handle(event, url));
});

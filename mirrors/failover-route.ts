// Browser failover (docs/mirrors.md, "Browser failover"): the service worker
// every mirror serves at /sw.js, with this mirror's trust anchor (its pinned
// root keys and threshold, or its pinned site key) written into it, the tiny
// script every page loads to register it (/sw-register.js), and
// /.well-known/hyperstatic/proof, the signed batch that binds a path to its
// sha256, which a reader's worker checks a page from this mirror against.
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrustAnchor } from '../common/trust/trust-state';
import { sendJson } from '../common/ops';
import { BANNER_CSS } from './frozen-banner';
import type { MirrorStore } from './mirror-store';
import { parseRequestPath } from './request-path';
import { contentSecurityPolicy } from './security-headers';

export const WORKER_PATH = '/sw.js';
export const REGISTER_PATH = '/sw-register.js';
export const PROOF_PATH = '/.well-known/hyperstatic/proof';
export const SIGNED_MANIFEST_PATH = '/.well-known/hyperstatic/manifest.ndjson';

/** Progressive: a browser without service workers, or one that refuses this one, reads the site as before. */
const REGISTER_SCRIPT =
  "'use strict';\n" +
  "if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});\n";

export interface FailoverOptions {
  anchor: TrustAnchor;
  /** How long after its heartbeat expired another mirror's copy is still served, with a note (MIRROR_FAILOVER_STALE_MS). */
  staleMs: number;
  /** How long the worker waits for an address to answer before trying the next (MIRROR_FAILOVER_TIMEOUT_MS). */
  timeoutMs: number;
  frameAncestors: string;
}

/** The worker's source: its configuration, then the checks (failover/verify.js), then its handlers (failover/worker.js). */
export function workerSource(options: FailoverOptions): string {
  const anchor =
    options.anchor.kind === 'roots'
      ? { kind: 'roots', roots: [...options.anchor.roots], threshold: options.anchor.threshold }
      : { kind: 'pinned', key: options.anchor.key };
  const config = {
    anchor,
    staleMs: options.staleMs,
    timeoutMs: options.timeoutMs,
    // The page keeps the policy it had at its usual address; the note is styled like the frozen-copy line, whose CSS it allows.
    csp: contentSecurityPolicy(options.frameAncestors),
    noteCss: BANNER_CSS,
  };
  const read = (name: string) => fs.readFileSync(path.join(__dirname, 'failover', name), 'utf8');
  return `const HS_CONFIG = ${JSON.stringify(config)};\n${read('verify.js')}\n${read('worker.js')}`;
}

export function createFailoverRoute(options: FailoverOptions & { store: MirrorStore }) {
  const worker = Buffer.from(workerSource(options), 'utf8');
  const { store } = options;

  /** Serves the worker, its registration or a proof; false for any other path. */
  return function serveFailover(req: IncomingMessage, res: ServerResponse, at: string, query: string): boolean {
    if (at === WORKER_PATH || at === REGISTER_PATH) {
      const body = at === WORKER_PATH ? worker : REGISTER_SCRIPT;
      // no-cache: browsers check for a new worker on every visit (they cap it at 24 h anyway).
      res.writeHead(200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    if (at === SIGNED_MANIFEST_PATH) {
      serveSignedManifest(req, res, store.signedManifestFile());
      return true;
    }
    if (at !== PROOF_PATH) return false;
    const wanted = new URLSearchParams(query).get('path');
    const target = wanted === null ? undefined : parseRequestPath(wanted);
    if (!target?.ok || target.query !== '') {
      sendJson(res, 400, { error: 'path must be a public path such as /news/some-story' }, corsHeaders());
      return true;
    }
    const page = store.lookup(target.path);
    const proof = store.proofOf(target.path);
    const entry = proof?.entries.filter((e) => e.path === target.path).pop();
    // Only a proof of what this copy serves now (a deletion included); for a page loaded from a
    // manifest or a bundle, the kept signed manifest is the proof.
    const current = entry && (page ? entry.op === page.op && entry.sha256 === page.sha256 : entry.op === 'delete');
    if (!proof || !current) {
      sendJson(res, 404, { error: `no signed change of ${target.path} on this mirror` }, corsHeaders());
      return true;
    }
    sendJson(res, 200, proof, { 'cache-control': 'no-cache', ...corsHeaders() });
    return true;
  };
}

/** The origin's signed manifest this copy was loaded from, byte for byte; 404 when it replayed the feed instead. */
function serveSignedManifest(req: IncomingMessage, res: ServerResponse, file: string): void {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    sendJson(res, 404, { error: 'this mirror was not loaded from a signed manifest' }, corsHeaders());
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'content-length': size,
    'cache-control': 'no-cache',
    ...corsHeaders(),
  });
  if (req.method === 'HEAD') res.end();
  // Replaced by rename, never rewritten in place: an open stream reads one whole manifest.
  else
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
}

/**
 * The one CORS header mirrors send (Fetch §3.2): any site's page may read
 * public files, without cookies (`*` never admits credentials). Simple GETs
 * need no preflight, so OPTIONS stays 405.
 */
export function corsHeaders(): Record<string, string> {
  return { 'access-control-allow-origin': '*' };
}

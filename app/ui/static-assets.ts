// The editor's static files (app/ui/static/: its stylesheet, scripts and the
// rich editor's bundle), held in memory with a gzip and a brotli copy each,
// chosen by the request's Accept-Encoding (RFC 9110 §12.5.3, the mirrors'
// own negotiation: common/content-coding.ts). The copies are made once: the
// bundle's are written beside it when it is built (scripts/editor-bundle.js),
// the small files' are encoded when the app starts. Every page links a file
// by its content hash (`?v=HASH`); a request naming the current hash may be
// kept for a year (immutable), any other for an hour.
import fs from 'node:fs';
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { CODINGS, Coding, encodeVariants, isCompressible, selectCoding } from '../../common/content-coding';
import { sha256Hex } from '../../common/hash';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
/** What a precompressed copy's file name ends with (scripts/editor-bundle.js writes them). */
export const CODING_SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };
const YEAR = 'public, max-age=31536000, immutable';
const HOUR = 'public, max-age=3600';

interface Asset {
  type: string;
  hash: string;
  identity: Buffer;
  encoded: Partial<Record<Coding, Buffer>>;
}

export interface StaticAssets {
  /** The URL of a file, with its content hash: `/editor/static/editor.css?v=0123456789ab`. */
  urlOf(name: string): string;
  handler: RequestHandler;
}

/** A precompressed copy beside `file`, when it is at least as new as the file (an older one belongs to an older build). */
function readPrecompressed(file: string, coding: Coding): Buffer | undefined {
  const copy = file + CODING_SUFFIX[coding];
  if (!fs.existsSync(copy) || fs.statSync(copy).mtimeMs < fs.statSync(file).mtimeMs) return undefined;
  return fs.readFileSync(copy);
}

/** Loads every file of `dir` (not the compressed copies) and serves them under `mountPath`. */
export function staticAssets(dir: string, mountPath: string): StaticAssets {
  const assets = new Map<string, Asset>();
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const type = TYPES[path.extname(name)];
    if (!type || !fs.statSync(file).isFile()) continue;
    const identity = fs.readFileSync(file);
    const asset: Asset = { type, hash: sha256Hex(identity).slice(0, 12), identity, encoded: {} };
    assets.set(name, asset);
    if (!isCompressible(type)) continue;
    for (const coding of CODINGS) {
      const copy = readPrecompressed(file, coding);
      if (copy) asset.encoded[coding] = copy;
    }
    // Requests meanwhile get what is ready (identity at worst); a failed encoding leaves identity only.
    if (CODINGS.some((c) => !asset.encoded[c]))
      void encodeVariants(identity).then(
        (made) => {
          for (const coding of CODINGS) asset.encoded[coding] ??= made[coding];
        },
        () => undefined,
      );
  }

  const handler: RequestHandler = (req: Request, res: Response, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const asset = assets.get(req.path.slice(1));
    if (!asset) return next();
    const sizes = Object.fromEntries(CODINGS.flatMap((c) => (asset.encoded[c] ? [[c, asset.encoded[c].length]] : [])));
    const coding = selectCoding(req.get('accept-encoding'), sizes, asset.identity.length);
    res.set('Vary', 'Accept-Encoding');
    if (coding === 'none') {
      res.status(406).type('text/plain').send('no acceptable content coding');
      return;
    }
    const body = coding === 'identity' ? asset.identity : asset.encoded[coding]!;
    const etag = `"${asset.hash}${coding === 'identity' ? '' : `-${coding}`}"`;
    res.set({
      'content-type': asset.type,
      'cache-control': req.query.v === asset.hash ? YEAR : HOUR,
      'x-content-type-options': 'nosniff',
      etag,
    });
    if (coding !== 'identity') res.set('content-encoding', coding);
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.set('content-length', String(body.length));
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  };

  return {
    urlOf(name) {
      const asset = assets.get(name);
      if (!asset) throw new Error(`no static file ${name} in ${dir}`);
      return `${mountPath}/${name}?v=${asset.hash}`;
    },
    handler,
  };
}

// The origin's HTTP surface: JSON API, change feed, blobs for mirrors, ops.
import express, { Express } from 'express';
import type { Database } from '../common/db/database';
import { SHA256_HEX } from '../common/hash';
import type { Logger } from '../common/logger';
import type { Ops } from '../common/ops';
import { itemsRouter } from './api/item-routes';
import type { ItemService } from './content/item-service';
import { NotFoundError } from './errors';
import type { FeedService } from './feed/feed-routes';
import { errorHandler } from './http-errors';
import type { EditorApp } from './editor-app';

export interface AppServerDeps {
  db: Database;
  /** One service per kind of item (app/content/item-kinds.ts); each gets its JSON API routes. */
  items: readonly ItemService[];
  feed: FeedService;
  ops: Ops;
  logger: Logger;
  maxBodyBytes: number;
  siteName: string;
  publicUrl: string;
  /** express 'trust proxy' (TRUST_PROXY): false, a hop count, or addresses and ranges. */
  trustProxy?: false | number | string[];
  /** The editor UI, its JSON API and the public submission form (app/editor-app.ts). */
  editor?: EditorApp;
}

export function createAppServer(deps: AppServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Only the proxies the operator named (TRUST_PROXY): their X-Forwarded-Proto makes req.secure (Secure cookies,
  // app/ui/web-session.ts) and their X-Forwarded-For makes req.ip (login throttling, app/http/request-params.ts).
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use((req, res, next) => {
    if (!deps.ops.handle(req, res)) next();
  });

  if (deps.editor) app.use(deps.editor.router);
  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(deps.siteName, deps.publicUrl));
  });
  app.use('/api', itemsRouter(deps));
  app.use('/api', () => {
    throw new NotFoundError('API endpoint');
  });

  app.use(deps.feed.router);

  app.get('/blobs/:sha256', async (req, res) => {
    const hash = String(req.params.sha256);
    if (!SHA256_HEX.test(hash)) throw new NotFoundError('blob');
    const row = await deps.db('blobs').where({ sha256: hash }).first('body');
    // Media files stay on disk (MEDIA_DIR); streamed with Range support, never with their real type here.
    // A takedown purged it (producer/takedown.ts): the file may still be on disk, it is not served.
    const mediaFile =
      row || (await deps.db('purged_blobs').where({ sha256: hash }).first('sha256'))
        ? undefined
        : await deps.editor?.media.liveFile(hash);
    if (mediaFile) {
      res.set({
        'content-type': 'application/octet-stream',
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      });
      res.sendFile(mediaFile, { etag: false, lastModified: false, headers: { etag: `"${hash}"` } });
      return;
    }
    if (!row) throw new NotFoundError('blob');
    // Content-addressed: the same URL can never change.
    res.set({
      'content-type': 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      etag: `"${hash}"`,
    });
    res.send(Buffer.from(row.body as Buffer));
  });

  app.use(() => {
    throw new NotFoundError('page');
  });
  app.use(errorHandler(deps.logger));
  return app;
}

function landingPage(siteName: string, publicUrl: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(siteName)} · origin</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<h1>${esc(siteName)}: origin app</h1>
<p>Readers use the public site at <a href="${esc(publicUrl)}">${esc(publicUrl)}</a>.</p>
<p>Editors log in at <a href="/editor">/editor</a>; readers may submit stories at <a href="/submit">/submit</a> when open publishing is on.</p>
<p>Editors publish through the JSON API: get a token with <code>npx hyperstatic token create --user admin</code>, then
<code>POST /api/articles</code> with <code>Authorization: Bearer TOKEN</code>. See docs/api.md in the source for every endpoint.</p>
</body></html>`;
}

// GET /preview/TOKEN: the page a shareable preview link shows, served by the
// app alone. Nothing on the way may keep it: `no-store, private`, no
// indexing (`X-Robots-Tag` and the page's robots meta), and no Referer
// carrying the token to the sites the page links. A wrong, expired or
// revoked token, or an item that is no longer a draft, is a plain 404 with
// the same headers: a guesser learns nothing, and nothing is written.
import { Router, type Response } from 'express';
import type { Database } from '../../common/db/database';
import { UnavailableError } from '../errors';
import type { PagePreview } from './page-preview';
import type { PreviewLinks } from './preview-links';

const PRIVATE_HEADERS = {
  'cache-control': 'no-store, private',
  'x-robots-tag': 'noindex, nofollow',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function notFound(res: Response): void {
  res
    .status(404)
    .type('html')
    .send(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">' +
        '<title>Preview not found</title></head><body><main><h1>Preview not found</h1>' +
        '<p>This preview link is wrong, has expired or was revoked. Ask the editor for a new one.</p></main></body></html>',
    );
}

export function previewRoutes(deps: { db: Database; links: PreviewLinks; preview?: PagePreview }): Router {
  const router = Router();
  router.get('/preview/:token', async (req, res) => {
    res.set(PRIVATE_HEADERS);
    const found = await deps.links.resolve(String(req.params.token));
    if (!found) return notFound(res);
    const table = found.topic === 'article' ? 'articles' : 'events';
    const row = await deps.db(table).where({ id: found.itemId }).first('status');
    if (row?.status !== 'draft') return notFound(res);
    if (!deps.preview) throw new UnavailableError('this app was started without the page renderer previews need');
    const html = await deps.preview.render(deps.db, {
      topic: found.topic,
      id: found.itemId,
      expiresAt: found.expiresAt,
    });
    if (html === undefined) return notFound(res);
    res.type('html').send(html);
  });
  // The files every page links from the site's root (stylesheet, icons, manifest), so the preview looks as it will.
  for (const file of deps.preview?.files ?? []) {
    router.get(file.path, (_req, res) => {
      res.set({ 'content-type': file.contentType, 'cache-control': 'public, max-age=3600' }).send(file.body);
    });
  }
  return router;
}

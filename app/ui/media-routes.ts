// The media library: upload (multipart, streamed), browse, and the bytes
// themselves for previews. The app serves a file only with the type sniffed
// at upload (image, audio or video: never HTML or SVG), nosniff and a
// sandboxing CSP, so an upload can never run script on the app's origin.
import { Response, Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { CsrfError, FormExpiredError } from '../auth/auth-errors';
import { BadRequestError } from '../errors';
import { receiveMultipart } from '../media/upload';
import { parseRenditions } from '../media/media-store';
import { tokensMatch } from '../auth/sessions';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireRole, WebRequest } from './web-session';

const MEDIA_PATH = /^([0-9a-f]{64})(-\d+)?\.([a-z0-9]{2,5})$/;

export function mediaRoutes(deps: EditorDeps): Router {
  const { views, media } = deps;
  const router = Router();
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  /** The library, as filtered by the query; after a refused upload, with the problem named at the file field. */
  async function libraryPage(req: WebRequest, res: Response, refused?: HyperstaticError) {
    const kind =
      typeof req.query.kind === 'string' && ['image', 'audio', 'video'].includes(req.query.kind)
        ? req.query.kind
        : undefined;
    const page =
      typeof req.query.page === 'string' && /^[1-9]\d{0,5}$/.test(req.query.page) ? Number(req.query.page) : 1;
    const items = await media.list({ limit: 49, offset: (page - 1) * 48, kind });
    const context = {
      items: items.slice(0, 48),
      more: items.length > 48,
      page,
      kind,
      nav: 'media',
      maxBytes: deps.mediaMaxBytes,
      notice: refused ? undefined : req.query.notice,
      error: refused?.message ?? req.query.error,
      errorField: refused ? 'file' : undefined,
    };
    renderPage(views, res, 'media.njk', context, refused?.status ?? 200);
  }

  router.get('/editor/media', anyone, (req: WebRequest, res) => libraryPage(req, res));

  router.post('/editor/media', editors, async (req: WebRequest, res) => {
    try {
      if (!req.is('multipart/form-data')) throw new BadRequestError('send the upload as multipart/form-data', 'file');
      const item = await receiveMultipart(req, media, {
        maxBytes: deps.mediaMaxBytes,
        userId: req.session!.user.id,
        csrfValid: (token) => tokensMatch(req.session!.csrfToken, token),
      });
      res.redirect(303, withNotice(`/editor/media/${item.sha256}`, `uploaded ${item.originalName}`));
    } catch (error) {
      // The upload form again, with the problem named (the file must be chosen again: browsers never refill a file field).
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      // A 413 answered while the browser is still sending: close rather than read the rest.
      if (error.status === 413) res.set('Connection', 'close');
      await libraryPage(req, res, error instanceof CsrfError ? new FormExpiredError() : error);
    }
  });

  router.get('/editor/media/:sha256', anyone, async (req: WebRequest, res) => {
    const item = await media.get(String(req.params.sha256));
    renderPage(views, res, 'media-item.njk', {
      item,
      nav: 'media',
      notice: req.query.notice,
      publicUrl: deps.publicUrl,
    });
  });

  // Same paths as on the public site, so an article's preview shows its images.
  // A file no visible item shows yet (an upload for an embargoed story, or
  // one not used yet: app/media/shown-media.ts) is shown to signed-in
  // accounts only, and never stored by a shared cache.
  router.get('/media/:file', async (req: WebRequest, res) => {
    const match = MEDIA_PATH.exec(String(req.params.file));
    if (!match) throw new BadRequestError('not a media path', 'file');
    const mediaPath = `/media/${match[0]}`;
    const live = await deps.db('pages').where({ path: mediaPath }).where({ op: 'put' }).first('sha256', 'content_type');
    const held = live || !req.session ? undefined : await heldMedia(deps, mediaPath);
    const row = live ?? held;
    const file = row ? await media.file(row.sha256 as string) : undefined;
    if (!row || !file) {
      res.status(404).type('text/plain').send('media not found');
      return;
    }
    res.set({
      'content-type': row.content_type as string,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': live ? 'public, max-age=31536000, immutable' : 'private, no-store',
    });
    res.sendFile(file);
  });

  return router;
}

/** The hash and type of an uploaded file (or its rendition) by its public path, live or not. */
async function heldMedia(
  deps: EditorDeps,
  mediaPath: string,
): Promise<{ sha256: string; content_type: string } | undefined> {
  const original = await deps.db('media').where({ path: mediaPath }).first('sha256', 'content_type');
  if (original) return original;
  // A rendition: listed with its hash on its image's row (app/media/renditions.ts); an upload from
  // before them has one 480 px WebP in the rendition_* columns.
  const owner = /^\/media\/([0-9a-f]{64})-/.exec(mediaPath)?.[1];
  const row = owner
    ? await deps.db('media').where({ sha256: owner }).first('renditions', 'rendition_path', 'rendition_sha256')
    : undefined;
  if (!row) return undefined;
  const listed = (parseRenditions(row.renditions) ?? []) as { path: string; contentType: string; sha256?: string }[];
  const match = listed.find((r) => r.path === mediaPath && r.sha256);
  if (match) return { sha256: match.sha256!, content_type: match.contentType };
  return row.rendition_path === mediaPath && row.rendition_sha256
    ? { sha256: row.rendition_sha256, content_type: 'image/webp' }
    : undefined;
}

// JSON API for the media library. Uploads are idempotent by construction
// (content-addressed), so they need no Idempotency-Key.
import { Router } from 'express';
import type { EditorServices } from '../editor-services';
import { receiveRaw } from '../media/upload';
import { ApiRequest, boundedInt, requireRole, requireToken } from './middleware';

export function mediaApiRoutes({ db, media, mediaMaxBytes }: EditorServices): Router {
  const router = Router();
  const token = requireToken(db);

  router.post('/media', token, requireRole('admin', 'editor'), async (req: ApiRequest, res) => {
    const item = await receiveRaw(req, media, { maxBytes: mediaMaxBytes, userId: req.user!.id });
    res.status(201).location(`/api/media/${item.sha256}`).json(item);
  });
  router.get('/media', token, async (req, res) => {
    const limit = boundedInt(req.query.limit, 'limit', 1, 200, 50);
    const offset = boundedInt(req.query.offset, 'offset', 0, 1e9, 0);
    res.json({ media: await media.list({ limit, offset }) });
  });
  router.get('/media/:sha256', token, async (req, res) => {
    res.json(await media.get(String(req.params.sha256)));
  });
  return router;
}

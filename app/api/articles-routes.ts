// JSON API for articles: POST creates, PUT updates (fields not sent are kept),
// GET reads. Writes need `Authorization: Bearer TOKEN`.
import express, { Router } from 'express';
import type { Database } from '../../common/db/database';
import { parseArticleInput } from '../articles/article-input';
import type { ArticlesService, SaveResult } from '../articles/articles-service';
import { IDEMPOTENCY_HEADER, idempotencyKeyFrom, idempotent, requestFingerprint } from '../db/idempotency';
import { BadRequestError } from '../errors';
import { parseId } from '../http/request-params';
import { ApiRequest, boundedInt, requireJson, requireRole, requireToken, sendStored } from './middleware';

export interface ApiDeps {
  db: Database;
  articles: ArticlesService;
  maxBodyBytes: number;
}

export function articlesRouter({ db, articles, maxBodyBytes }: ApiDeps): Router {
  const router = Router();
  const json = express.json({ limit: maxBodyBytes, strict: true });

  const auth = requireToken(db);
  // Moderators moderate (app/api/editor-routes.ts); writing content is for editors and admins.
  const writers = requireRole('admin', 'editor');

  router.post('/articles', auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const input = parseArticleInput(req.body, 'create');
    const request = {
      userId: req.user!.id,
      key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)),
      fingerprint: requestFingerprint('POST', req.path, req.body),
    };
    const answer = await idempotent(
      db,
      request,
      (saved: SaveResult) => ({ status: 201, body: saved, location: `/api/articles/${saved.id}` }),
      () => articles.create(input, req.user!.id),
    );
    sendStored(res, answer);
  });

  router.put('/articles/:id', auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const id = parseId(req.params.id, 'id', 'the article id');
    const input = parseArticleInput(req.body, 'update');
    const request = {
      userId: req.user!.id,
      key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)),
      fingerprint: requestFingerprint('PUT', req.path, req.body),
    };
    const answer = await idempotent(
      db,
      request,
      (saved: SaveResult) => ({ status: 200, body: saved }),
      () => articles.update(id, input),
    );
    sendStored(res, answer);
  });

  router.get('/articles/:id', auth, async (req, res) => {
    res.json(await articles.get(parseId(req.params.id, 'id', 'the article id')));
  });

  router.get('/articles', auth, async (req, res) => {
    const limit = boundedInt(req.query.limit, 'limit', 1, 200, 50);
    const offset = boundedInt(req.query.offset, 'offset', 0, 1e9, 0);
    const status = req.query.status;
    if (status !== undefined && !['draft', 'published', 'hidden'].includes(String(status))) {
      throw new BadRequestError('status must be draft, published or hidden', 'status');
    }
    res.json({ articles: await articles.list({ status: status as 'draft' | undefined, limit, offset }) });
  });

  return router;
}

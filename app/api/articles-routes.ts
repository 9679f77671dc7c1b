// JSON API for articles: POST creates, PUT updates (fields not sent are kept),
// GET reads. Writes need `Authorization: Bearer TOKEN`.
import express, { NextFunction, Request, Response, Router } from 'express';
import type { Database } from '../../common/database';
import { parseArticleInput } from '../articles/article-input';
import type { ArticlesService, SaveResult } from '../articles/articles-service';
import { authenticateToken, User } from '../auth/users';
import { IDEMPOTENCY_HEADER, idempotencyKeyFrom, idempotent, requestFingerprint, StoredResponse } from '../db/idempotency';
import { BadRequestError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors';

export interface ApiDeps {
  db: Database;
  articles: ArticlesService;
  maxBodyBytes: number;
}

type AuthedRequest = Request & { user?: User };

export function articlesRouter({ db, articles, maxBodyBytes }: ApiDeps): Router {
  const router = Router();
  const json = express.json({ limit: maxBodyBytes, strict: true });

  async function requireToken(req: AuthedRequest, _res: Response, next: NextFunction): Promise<void> {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedError();
    req.user = await authenticateToken(db, match[1]);
    next();
  }

  function requireJson(req: Request, _res: Response, next: NextFunction): void {
    if (!req.is('application/json')) throw new UnsupportedMediaTypeError();
    next();
  }

  router.post('/articles', requireToken, requireJson, json, async (req: AuthedRequest, res) => {
    const input = parseArticleInput(req.body, 'create');
    const request = { userId: req.user!.id, key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)), fingerprint: requestFingerprint('POST', req.path, req.body) };
    const answer = await idempotent(db, request, (saved: SaveResult) => ({ status: 201, body: saved, location: `/api/articles/${saved.id}` }), () =>
      articles.create(input, req.user!.id),
    );
    sendStored(res, answer);
  });

  router.put('/articles/:id', requireToken, requireJson, json, async (req: AuthedRequest, res) => {
    const id = parseId(String(req.params.id));
    const input = parseArticleInput(req.body, 'update');
    const request = { userId: req.user!.id, key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)), fingerprint: requestFingerprint('PUT', req.path, req.body) };
    const answer = await idempotent(db, request, (saved: SaveResult) => ({ status: 200, body: saved }), () => articles.update(id, input));
    sendStored(res, answer);
  });

  router.get('/articles/:id', requireToken, async (req, res) => {
    res.json(await articles.get(parseId(String(req.params.id))));
  });

  router.get('/articles', requireToken, async (req, res) => {
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

/** A save's answer, the first time or replayed for a retried Idempotency-Key. */
function sendStored(res: Response, answer: StoredResponse & { replayed: boolean }): void {
  if (answer.location) res.location(answer.location);
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}

function parseId(raw: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw)) throw new BadRequestError('the article id must be a positive integer', 'id');
  return Number(raw);
}

function boundedInt(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequestError(`${name} must be an integer from ${min} to ${max}`, name);
  return value;
}

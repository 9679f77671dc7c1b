// JSON API for events: POST creates, PUT updates (fields not sent are kept),
// GET reads. Writes need `Authorization: Bearer TOKEN`, like articles.
import express, { NextFunction, Request, Response, Router } from 'express';
import type { Database } from '../../common/database';
import { authenticateToken, User } from '../auth/users';
import { BadRequestError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors';
import { parseEventInput } from '../events/event-input';
import type { EventsService } from '../events/events-service';

type AuthedRequest = Request & { user?: User };

export function eventsRouter({ db, events, maxBodyBytes }: { db: Database; events: EventsService; maxBodyBytes: number }): Router {
  const router = Router();
  const json = express.json({ limit: maxBodyBytes, strict: true });

  async function requireToken(req: AuthedRequest, _res: Response, next: NextFunction): Promise<void> {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) throw new UnauthorizedError();
    req.user = await authenticateToken(db, match[1]);
    next();
  }

  function requireJson(req: Request, _res: Response, next: NextFunction): void {
    if (!req.is('application/json')) throw new UnsupportedMediaTypeError();
    next();
  }

  router.post('/events', requireToken, requireJson, json, async (req: AuthedRequest, res) => {
    const saved = await events.create(parseEventInput(req.body, 'create'), req.user!.id);
    res.status(201).location(`/api/events/${saved.id}`).json(saved);
  });

  router.put('/events/:id', requireToken, requireJson, json, async (req, res) => {
    res.json(await events.update(parseId(String(req.params.id)), parseEventInput(req.body, 'update')));
  });

  router.get('/events/:id', requireToken, async (req, res) => {
    res.json(await events.get(parseId(String(req.params.id))));
  });

  router.get('/events', requireToken, async (req, res) => {
    const limit = boundedInt(req.query.limit, 'limit', 1, 200, 50);
    const offset = boundedInt(req.query.offset, 'offset', 0, 1e9, 0);
    const status = req.query.status;
    if (status !== undefined && !['draft', 'published', 'hidden'].includes(String(status))) throw new BadRequestError('status must be draft, published or hidden', 'status');
    res.json({ events: await events.list({ status: status as 'draft' | undefined, limit, offset }) });
  });

  return router;
}

function parseId(raw: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw)) throw new BadRequestError('the event id must be a positive integer', 'id');
  return Number(raw);
}

function boundedInt(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequestError(`${name} must be an integer from ${min} to ${max}`, name);
  return value;
}

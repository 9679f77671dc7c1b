// JSON API for events: POST creates, PUT updates (fields not sent are kept),
// GET reads. Writes need `Authorization: Bearer TOKEN` and honour
// Idempotency-Key, like articles.
import express, { Router } from 'express';
import type { Database } from '../../common/db/database';
import { IDEMPOTENCY_HEADER, idempotencyKeyFrom, idempotent, requestFingerprint } from '../db/idempotency';
import { BadRequestError } from '../errors';
import { parseEventInput } from '../events/event-input';
import type { EventSaveResult, EventsService } from '../events/events-service';
import { parseId } from '../http/request-params';
import { ApiRequest, boundedInt, requireJson, requireRole, requireToken, sendStored } from './middleware';

export function eventsRouter({
  db,
  events,
  maxBodyBytes,
}: {
  db: Database;
  events: EventsService;
  maxBodyBytes: number;
}): Router {
  const router = Router();
  const json = express.json({ limit: maxBodyBytes, strict: true });
  const auth = requireToken(db);
  // Moderators moderate (app/api/editor-routes.ts); writing content is for editors and admins.
  const writers = requireRole('admin', 'editor');

  router.post('/events', auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const input = parseEventInput(req.body, 'create');
    const request = {
      userId: req.user!.id,
      key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)),
      fingerprint: requestFingerprint('POST', req.path, req.body),
    };
    const answer = await idempotent(
      db,
      request,
      (saved: EventSaveResult) => ({ status: 201, body: saved, location: `/api/events/${saved.id}` }),
      () => events.create(input, req.user!.id),
    );
    sendStored(res, answer);
  });

  router.put('/events/:id', auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const id = parseId(req.params.id, 'id', 'the event id');
    const input = parseEventInput(req.body, 'update');
    const request = {
      userId: req.user!.id,
      key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)),
      fingerprint: requestFingerprint('PUT', req.path, req.body),
    };
    const answer = await idempotent(
      db,
      request,
      (saved: EventSaveResult) => ({ status: 200, body: saved }),
      () => events.update(id, input),
    );
    sendStored(res, answer);
  });

  router.get('/events/:id', auth, async (req, res) => {
    res.json(await events.get(parseId(req.params.id, 'id', 'the event id')));
  });

  router.get('/events', auth, async (req, res) => {
    const limit = boundedInt(req.query.limit, 'limit', 1, 200, 50);
    const offset = boundedInt(req.query.offset, 'offset', 0, 1e9, 0);
    const status = req.query.status;
    if (status !== undefined && !['draft', 'published', 'hidden'].includes(String(status)))
      throw new BadRequestError('status must be draft, published or hidden', 'status');
    res.json({ events: await events.list({ status: status as 'draft' | undefined, limit, offset }) });
  });

  return router;
}

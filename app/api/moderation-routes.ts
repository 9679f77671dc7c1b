// JSON API for open publishing and its moderation: the queue, moderators'
// actions, the site setting, and anonymous submissions (the same checks as
// the public form).
import { RequestHandler, Router } from 'express';
import { TooManyRequestsError } from '../auth/auth-errors';
import { ITEM_KINDS } from '../content/item-kinds';
import type { EditorServices } from '../editor-services';
import { BadRequestError, UnsupportedMediaTypeError } from '../errors';
import { clientAddress, parseId } from '../http/request-params';
import { HONEYPOT_FIELD, parseBulkIds, parseKind, parseModerationAction, Submission } from '../moderation/moderation';
import { parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import { ANONYMOUS, body, EditorWrites } from './editor-writes';
import { ApiRequest, requireJson, requireRole as role, requireToken } from './middleware';

export function moderationApiRoutes(deps: EditorServices, writes: EditorWrites, json: RequestHandler): Router {
  const { db, moderation, items } = deps;
  const { once, inTransaction } = writes;
  const router = Router();
  const token = requireToken(db);
  const moderators = role('admin', 'editor', 'moderator');

  router.get('/moderation/queue', token, moderators, async (req, res) => {
    const state = req.query.state === undefined ? 'pending' : String(req.query.state);
    if (!['pending', 'reviewed', 'all'].includes(state))
      throw new BadRequestError('state must be pending, reviewed or all', 'state');
    res.json({ items: await moderation.queue({ state: state as 'pending', limit: 200 }) });
  });
  // Bulk: {"ids": [..], "action", "reason"}; every item is checked before any changes (Moderation.actOnMany).
  // Each item is saved in its own transaction, so one stored answer cannot stand for them all: no
  // Idempotency-Key here. Repeating a bulk action is safe: it leaves the items as the first did.
  router.post('/moderation/:kind', token, moderators, requireJson, json, async (req: ApiRequest, res) => {
    if (req.get('idempotency-key') !== undefined)
      throw new BadRequestError(
        'bulk actions take no Idempotency-Key: send the same request again instead, it leaves the items as the first did',
        'Idempotency-Key',
      );
    const kind = parseKind(req.params.kind);
    const b = body(req);
    const ids = parseBulkIds(b.ids);
    const { action, reason } = parseModerationAction(b.action, b.reason);
    res.json({ items: await moderation.actOnMany(kind, ids, action, req.user!, reason) });
  });
  router.post('/moderation/:kind/:id', token, moderators, requireJson, json, async (req: ApiRequest, res) => {
    const kind = parseKind(req.params.kind);
    const id = parseId(req.params.id);
    const b = body(req);
    const { action, reason } = parseModerationAction(b.action, b.reason);
    await items.find((s) => s.kind.name === kind)?.get(id);
    await once(req, res, req.user!.id, 200, () => moderation.act(kind, id, action, req.user!, reason));
  });
  router.use(deleteRoutes(deps, writes, json));
  router.get('/settings', token, async (_req, res) => {
    res.json(await readSettings(db));
  });
  router.put('/settings', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const openPublishing = parseOpenPublishing(body(req).openPublishing);
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction(async (trx) => {
        const was = (await readSettings(trx)).openPublishing;
        const saved = await writeSettings(trx, { openPublishing });
        await deps.audit.record(trx, {
          action: 'settings_changed',
          actor: req.user!,
          target: 'settings',
          address: clientAddress(req),
          detail: { openPublishing, was },
        });
        return saved;
      }),
    );
  });

  // Open publishing, for scripts and apps: the same checks as the public form.
  router.post('/submissions', requireJson, json, async (req: ApiRequest, res) => {
    const submission = parseSubmission(body(req));
    try {
      await once(req, res, ANONYMOUS, 201, () => moderation.submit(submission, clientAddress(req)));
    } catch (error) {
      if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
      throw error;
    }
  });
  return router;
}

/**
 * DELETE /api/articles/:id and /api/events/:id: the item becomes a tombstone
 * (app/moderation/moderation.ts), with the same role rules and history as
 * the moderation actions; an optional JSON body {"reason"} is kept in the
 * history and the audit log. Deleting again changes nothing and answers the same.
 */
function deleteRoutes({ db, moderation }: EditorServices, { once }: EditorWrites, json: RequestHandler): Router {
  const router = Router();
  const token = requireToken(db);
  const moderators = role('admin', 'editor', 'moderator');
  for (const kind of ITEM_KINDS)
    router.delete(`/${kind.plural}/:id`, token, moderators, optionalJson, json, async (req: ApiRequest, res) => {
      const id = parseId(req.params.id, 'id', `the ${kind.name} id`);
      const b = req.body === undefined ? {} : body(req);
      const { reason } = parseModerationAction('delete', b.reason);
      await once(
        req,
        res,
        req.user!.id,
        200,
        () => moderation.act(kind.name, id, 'delete', req.user!, reason),
        (saved) => ({ ...saved, status: 'deleted' }),
      );
    });
  return router;
}

/** A body is optional, but one that is sent must be JSON (a DELETE's reason). */
function optionalJson(req: ApiRequest, _res: unknown, next: () => void): void {
  if (req.is('application/json') === false) throw new UnsupportedMediaTypeError();
  next();
}

/** An anonymous submission's JSON: the kind's submission fields only, honeypot empty, body not blank. */
function parseSubmission(raw: Record<string, unknown>): Submission {
  const b = { ...raw };
  if (b[HONEYPOT_FIELD] !== undefined && b[HONEYPOT_FIELD] !== '')
    throw new BadRequestError('this submission looks automated and was not accepted', HONEYPOT_FIELD);
  delete b[HONEYPOT_FIELD];
  const name = b.kind === undefined ? 'article' : b.kind;
  delete b.kind;
  const kind = ITEM_KINDS.find((k) => k.name === name);
  if (!kind) throw new BadRequestError(`kind must be ${ITEM_KINDS.map((k) => k.name).join(' or ')}`, 'kind');
  const allowed = kind.submissionFields;
  const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new BadRequestError(
      `${kind.name} submissions may only set ${allowed.join(', ')}; not ${unknown.join(', ')}`,
      unknown[0],
    );
  const input = kind.parseInput(b, 'create');
  if ((input.body ?? '').trim() === '') throw new BadRequestError('body must not be empty', 'body');
  return { kind: kind.name, input };
}

// JSON API for the editor's operations beyond article create/update
// (app/api/articles-routes.ts): users and tokens, revisions, propagation,
// media, moderation, settings, sections and anonymous submissions. Every
// write honours Idempotency-Key (app/db/idempotency.ts): a retried request
// gets the first answer back instead of a second write. Media uploads are
// idempotent by construction (content-addressed).
import express, { Request, Response, Router } from 'express';
import { ApiRequest, boundedInt, requireJson, requireRole, requireToken } from './middleware';
import type { Knex } from 'knex';
import { ForbiddenError, TooManyRequestsError } from '../auth/auth-errors';
import {
  createApiToken,
  createUser,
  listTokens,
  listUsers,
  revokeToken,
  Role,
  setPassword,
  setRole,
  TokenSummary,
} from '../auth/users';
import {
  IDEMPOTENCY_HEADER,
  idempotencyKeyFrom,
  idempotent,
  requestFingerprint,
  runSaveHooks,
  scopedKey,
} from '../db/idempotency';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import { parseArticleInput } from '../articles/article-input';
import { slugify } from '../articles/slug';
import { receiveRaw } from '../media/upload';
import { HONEYPOT_FIELD, parseKind, parseModerationAction, Submission } from '../moderation/moderation';
import { parseEventInput } from '../events/event-input';
import { parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import { listSections } from '../content/sections';
import { clientAddress, parseId } from '../http/request-params';
import type { EditorServices } from '../editor-services';
import { propagationOf } from '../content/propagation';
import { listTags, renameTag } from '../content/tags';

/** A user id for keys sent by anonymous submitters (no real user has id 0). */
const ANONYMOUS = 0;

export function editorApiRoutes(deps: EditorServices): Router {
  const { db, articles, media, moderation } = deps;
  const eventsOnThisOrigin = () => {
    if (!deps.events) throw new NotFoundError('events on this origin');
    return deps.events;
  };
  const router = Router();
  const json = express.json({ limit: deps.maxBodyBytes, strict: true });

  const token = requireToken(db);
  const role = requireRole;
  const body = (req: Request) => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))
      throw new BadRequestError('the request body must be a JSON object');
    return req.body as Record<string, unknown>;
  };
  const str = (b: Record<string, unknown>, name: string, max: number) => {
    if (typeof b[name] !== 'string') throw new BadRequestError(`${name} must be a string`, name);
    if ((b[name] as string).length > max) throw new BadRequestError(`${name} is longer than ${max} characters`, name);
    return b[name] as string;
  };

  /** Runs a write once per Idempotency-Key and sends its (possibly replayed) answer. */
  async function once<T>(
    req: ApiRequest,
    res: Response,
    userId: number,
    status: number,
    save: () => Promise<T>,
    toBody: (result: T) => unknown = (r) => r,
  ): Promise<void> {
    const key = idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER));
    const request = {
      userId,
      key: userId === ANONYMOUS ? scopedKey(key, clientAddress(req)) : key,
      fingerprint: requestFingerprint(req.method, req.originalUrl, req.body),
    };
    const answer = await idempotent(db, request, (result: T) => ({ status, body: toBody(result) }), save);
    if (answer.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  }
  /**
   * For writes that do not take part in the key's transaction (tag renames):
   * the key is recorded right after the save commits. A crash in between
   * could let one retry through; it cannot lose the save.
   */
  const keyAfter =
    <T>(save: () => Promise<T>) =>
    async () => {
      const result = await save();
      await db.transaction((trx) => runSaveHooks(trx, result));
      return result;
    };
  /** A write of our own tables, in one transaction that also records the key. */
  const inTransaction =
    <T>(work: (trx: Knex.Transaction) => Promise<T>) =>
    () =>
      db.transaction(async (trx) => {
        const result = await work(trx);
        await runSaveHooks(trx, result);
        return result;
      });

  router.get('/me', token, (req: ApiRequest, res) => {
    res.json(req.user);
  });

  // Users and tokens.
  router.get('/users', token, role('admin'), async (_req, res) => {
    res.json({
      users: (await listUsers(db)).map(({ id, name, role: r, createdAt, hasPassword, tokens }) => ({
        id,
        name,
        role: r,
        createdAt,
        hasPassword,
        tokens,
      })),
    });
  });
  router.post('/users', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const name = str(b, 'name', 64);
    const r = str(b, 'role', 16) as Role;
    const password = b.password === undefined || b.password === null ? null : str(b, 'password', 1000);
    await once(
      req,
      res,
      req.user!.id,
      201,
      inTransaction((trx) => createUser(trx, name, r, password, deps.now())),
    );
  });
  router.put('/users/:name/password', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const password = str(body(req), 'password', 1000);
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => setPassword(trx, String(req.params.name), password)),
    );
  });
  router.put('/users/:name/role', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const r = str(body(req), 'role', 16) as Role;
    if (String(req.params.name) === req.user!.name)
      throw new BadRequestError('you cannot change your own role', 'role');
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => setRole(trx, String(req.params.name), r)),
    );
  });
  router.get('/tokens', token, async (req: ApiRequest, res) => {
    res.json({ tokens: await listTokens(db, req.user!.role === 'admin' ? undefined : req.user!.name) });
  });
  router.post('/tokens', token, requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const label = b.label === undefined ? '' : str(b, 'label', 100);
    // The secret is never stored, not even in the idempotency record: a
    // replay answers with the token's id and no secret.
    let secret: string | undefined;
    const request = {
      userId: req.user!.id,
      key: idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER)),
      fingerprint: requestFingerprint(req.method, req.originalUrl, req.body),
    };
    const answer = await idempotent(
      db,
      request,
      (row: TokenSummary) => ({ status: 201, body: { ...row, token: null } }),
      inTransaction(async (trx) => {
        secret = await createApiToken(trx, req.user!.name, label, deps.now());
        return (await listTokens(trx, req.user!.name)).slice(-1)[0];
      }),
    );
    if (answer.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.replayed ? answer.body : { ...(answer.body as object), token: secret });
  });
  router.delete('/tokens/:id', token, async (req: ApiRequest, res) => {
    const id = parseId(req.params.id);
    const owner = (await listTokens(db)).find((t) => t.id === id);
    if (owner && owner.user !== req.user!.name && req.user!.role !== 'admin')
      throw new ForbiddenError("only admins revoke other users' tokens");
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => revokeToken(trx, id, deps.now())),
    );
  });

  // Revisions and propagation of an article.
  router.get('/articles/:id/revisions', token, async (req, res) => {
    res.json({ revisions: await articles.revisions(parseId(req.params.id)) });
  });
  router.post('/articles/:id/revisions/:rev/restore', token, role('admin', 'editor'), async (req: ApiRequest, res) => {
    const id = parseId(req.params.id);
    const rev = parseId(req.params.rev, 'revision');
    await once(req, res, req.user!.id, 200, () => articles.restore(id, rev, req.user!.id));
  });
  // Revisions of an event.
  router.get('/events/:id/revisions', token, async (req, res) => {
    res.json({ revisions: await eventsOnThisOrigin().revisions(parseId(req.params.id)) });
  });
  router.post('/events/:id/revisions/:rev/restore', token, role('admin', 'editor'), async (req: ApiRequest, res) => {
    const id = parseId(req.params.id);
    const rev = parseId(req.params.rev, 'revision');
    await once(req, res, req.user!.id, 200, () => eventsOnThisOrigin().restore(id, rev, req.user!.id));
  });
  router.get('/articles/:id/propagation', token, async (req, res) => {
    const article = await articles.get(parseId(req.params.id));
    res.json(await propagationOf(db, { topic: 'article', ...article }, deps.now()));
  });
  router.get('/events/:id/propagation', token, async (req, res) => {
    const event = await eventsOnThisOrigin().get(parseId(req.params.id));
    res.json(await propagationOf(db, { topic: 'event', ...event }, deps.now()));
  });

  // Media.
  router.post('/media', token, role('admin', 'editor'), async (req: ApiRequest, res) => {
    const item = await receiveRaw(req, media, { maxBytes: deps.mediaMaxBytes, userId: req.user!.id });
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

  // Moderation and settings.
  router.get('/moderation/queue', token, role('admin', 'editor', 'moderator'), async (req, res) => {
    const state = req.query.state === undefined ? 'pending' : String(req.query.state);
    if (!['pending', 'reviewed', 'all'].includes(state))
      throw new BadRequestError('state must be pending, reviewed or all', 'state');
    res.json({ items: await moderation.queue({ state: state as 'pending', limit: 200 }) });
  });
  router.post(
    '/moderation/:kind/:id',
    token,
    role('admin', 'editor', 'moderator'),
    requireJson,
    json,
    async (req: ApiRequest, res) => {
      const kind = parseKind(req.params.kind);
      const id = parseId(req.params.id);
      const b = body(req);
      const { action, reason } = parseModerationAction(b.action, b.reason);
      if (kind === 'article') await articles.get(id);
      else if (deps.events) await deps.events.get(id);
      await once(req, res, req.user!.id, 200, () => moderation.act(kind, id, action, req.user!.id, reason));
    },
  );
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
      inTransaction((trx) => writeSettings(trx, { openPublishing })),
    );
  });

  // Sections.
  router.get('/sections', token, async (_req, res) => {
    res.json({ sections: await listSections(db) });
  });
  router.post('/sections', token, role('admin', 'editor'), requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const name = str(b, 'name', 100).trim();
    if (name === '' || /[<>\p{Cc}]/u.test(name))
      throw new BadRequestError('a section name is 1 to 100 characters without < > or control characters', 'name');
    const slug = slugify(b.slug === undefined ? name : str(b, 'slug', 64), 64);
    if (slug === '') throw new BadRequestError('the section needs letters or digits', 'slug');
    await once(
      req,
      res,
      req.user!.id,
      201,
      inTransaction(async (trx) => {
        if (await trx('sections').where({ slug }).first('id'))
          throw new ConflictError(`section "${slug}" already exists`, 'slug');
        await trx('sections').insert({ slug, name });
        return { slug, name };
      }),
    );
  });

  // Tags: renaming keeps the slug and re-renders what shows the name.
  router.get('/tags', token, async (_req, res) => {
    res.json({ tags: await listTags(db) });
  });
  router.put('/tags/:slug', token, role('admin', 'editor'), requireJson, json, async (req: ApiRequest, res) => {
    const name = body(req).name;
    await once(
      req,
      res,
      req.user!.id,
      200,
      keyAfter(() => renameTag(db, String(req.params.slug), name, deps.now())),
    );
  });

  // Open publishing, for scripts and apps: the same checks as the public form.
  router.post('/submissions', requireJson, json, async (req: ApiRequest, res) => {
    const b = { ...body(req) };
    if (b[HONEYPOT_FIELD] !== undefined && b[HONEYPOT_FIELD] !== '')
      throw new BadRequestError('this submission looks automated and was not accepted', HONEYPOT_FIELD);
    delete b[HONEYPOT_FIELD];
    const kind = b.kind === undefined ? 'article' : b.kind;
    delete b.kind;
    if (kind !== 'article' && kind !== 'event') throw new BadRequestError('kind must be article or event', 'kind');
    const allowed =
      kind === 'article'
        ? ['title', 'summary', 'body', 'tags']
        : ['title', 'summary', 'body', 'tags', 'location', 'startsAt', 'endsAt'];
    const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
    if (unknown.length > 0)
      throw new BadRequestError(
        `${kind} submissions may only set ${allowed.join(', ')}; not ${unknown.join(', ')}`,
        unknown[0],
      );
    const submission: Submission =
      kind === 'article'
        ? { kind, input: parseArticleInput(b, 'create') }
        : { kind, input: parseEventInput(b, 'create') };
    if ((submission.input.body ?? '').trim() === '') throw new BadRequestError('body must not be empty', 'body');
    try {
      const address = clientAddress(req);
      await once(req, res, ANONYMOUS, 201, () => moderation.submit(submission, address));
    } catch (error) {
      if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
      throw error;
    }
  });

  return router;
}

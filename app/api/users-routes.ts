// JSON API for who you are (and your own password), users (admins: create,
// reset a password, change a role, end sessions), API tokens and the audit
// log. Every change writes its audit row in its own transaction.
import { RequestHandler, Response, Router } from 'express';
import { parseAuditFilter } from '../audit/audit-log';
import type { AccountActor } from '../auth/audited-accounts';
import { TooManyRequestsError } from '../auth/auth-errors';
import { releaseLoginTry, reserveLoginTry } from '../auth/login-limiter';
import { findProfile, parseProfileChange } from '../auth/people';
import { listTokens, listUsers, Role, TokenSummary } from '../auth/users';
import { idempotent } from '../db/idempotency';
import type { EditorServices } from '../editor-services';
import { BadRequestError } from '../errors';
import { clientAddress, parseId } from '../http/request-params';
import { body, EditorWrites, str } from './editor-writes';
import { ApiRequest, requireJson, requireRole as role, requireToken, writeRequest } from './middleware';

const actorOf = (req: ApiRequest): AccountActor => ({ user: req.user!, address: clientAddress(req) });

export function usersApiRoutes(deps: EditorServices, writes: EditorWrites, json: RequestHandler): Router {
  const { db, accounts } = deps;
  const { once, inTransaction } = writes;
  const router = Router();
  const token = requireToken(db);

  router.get('/me', token, async (req: ApiRequest, res) => {
    const { id, name, role: r } = req.user!;
    const { displayName, bio, slug } = await findProfile(db, name);
    res.json({ id, name, role: r, displayName, bio, slug });
  });
  router.use(ownPasswordRoute(deps, writes, json));
  router.use(profileRoutes(deps, writes, json));
  router.get('/users', token, role('admin'), async (_req, res) => {
    res.json({
      users: (await listUsers(db)).map(({ id, name, role: r, displayName, slug, createdAt, hasPassword, tokens }) => ({
        id,
        name,
        role: r,
        displayName,
        slug,
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
      inTransaction((trx) => accounts.createUser(trx, actorOf(req), name, r, password)),
    );
  });
  router.put('/users/:name/password', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const password = str(body(req), 'password', 1000);
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => accounts.resetPassword(trx, actorOf(req), String(req.params.name), password)),
    );
  });
  router.put('/users/:name/role', token, role('admin'), requireJson, json, async (req: ApiRequest, res) => {
    const r = str(body(req), 'role', 16) as Role;
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => accounts.setRole(trx, actorOf(req), String(req.params.name), r)),
    );
  });
  router.delete('/users/:name/sessions', token, role('admin'), async (req: ApiRequest, res) => {
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => accounts.endSessions(trx, actorOf(req), String(req.params.name))),
    );
  });
  router.get('/audit', token, role('admin'), async (req, res) => {
    const filter = parseAuditFilter(req.query as Record<string, unknown>, 50);
    const limit = filter.limit;
    const { rows, total } = await deps.audit.list(filter);
    res.json({ entries: rows, total, page: filter.page, pages: Math.max(1, Math.ceil(total / limit)) });
  });
  router.use(tokenRoutes(deps, writes, json));
  return router;
}

/**
 * PUT /api/me/password: the caller's own password. The current password is
 * checked under the login throttle (a stolen token must not become a way to
 * guess it); the idempotency record keeps no trace of either password.
 */
function ownPasswordRoute(deps: EditorServices, { once, inTransaction }: EditorWrites, json: RequestHandler): Router {
  const { db, accounts, loginLimits } = deps;
  const router = Router();
  router.put('/me/password', requireToken(db), requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const currentPassword = str(b, 'currentPassword', 1000);
    const newPassword = str(b, 'newPassword', 1000);
    if (b.revokeTokens !== undefined && typeof b.revokeTokens !== 'boolean')
      throw new BadRequestError('revokeTokens must be true or false', 'revokeTokens');
    const keys = [
      { key: `password-change:${req.user!.id}`, limit: loginLimits.perAccount, reason: 'account' as const },
    ];
    const verdict = await reserveLoginTry(db, keys, loginLimits, deps.now());
    if (!verdict.allowed) {
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      throw new TooManyRequestsError('too many wrong current passwords; wait and try again', verdict.retryAfterSeconds);
    }
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction(async (trx) => {
        const result = await accounts.changeOwnPassword(trx, actorOf(req), {
          currentPassword,
          newPassword,
          revokeTokens: b.revokeTokens === true,
          keepTokenId: req.user!.tokenId,
        });
        await releaseLoginTry(trx, verdict.reserved, deps.now());
        return result;
      }),
    );
  });
  return router;
}

/** PUT /api/me/profile (your display name and bio) and /api/users/NAME/profile (admins; slug too). */
function profileRoutes(deps: EditorServices, { once, inTransaction }: EditorWrites, json: RequestHandler): Router {
  const { db, accounts } = deps;
  const router = Router();
  const token = requireToken(db);
  /** Saves the profile of the user `whose` names: one step with its audit row, answered once per Idempotency-Key. */
  const saveProfile = (whose: (req: ApiRequest) => string) => async (req: ApiRequest, res: Response) => {
    const change = parseProfileChange(profileFields(body(req)));
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => accounts.updateProfile(trx, actorOf(req), whose(req), change)),
    );
    deps.onOwed();
  };
  // Your own display name and bio (an admin may send slug too).
  router.put(
    '/me/profile',
    token,
    requireJson,
    json,
    saveProfile((req) => req.user!.name),
  );
  router.put(
    '/users/:name/profile',
    token,
    role('admin'),
    requireJson,
    json,
    saveProfile((req) => String(req.params.name)),
  );
  return router;
}

/** A profile body: displayName, bio, slug; anything else is refused by name. */
function profileFields(b: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(b))
    if (!['displayName', 'bio', 'slug'].includes(key))
      throw new BadRequestError(`unknown field ${key}: a profile has displayName, bio and slug`, key);
  return b;
}

function tokenRoutes(deps: EditorServices, { once, inTransaction }: EditorWrites, json: RequestHandler): Router {
  const { db, accounts } = deps;
  const router = Router();
  const token = requireToken(db);

  router.get('/tokens', token, async (req: ApiRequest, res) => {
    res.json({ tokens: await listTokens(db, req.user!.role === 'admin' ? undefined : req.user!.name) });
  });
  router.post('/tokens', token, requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const label = b.label === undefined ? '' : str(b, 'label', 100);
    // The secret is never stored, not even in the idempotency record: a
    // replay answers with the token's id and no secret.
    let secret: string | undefined;
    const answer = await idempotent(
      db,
      await writeRequest(db, req, req.originalUrl),
      (row: TokenSummary) => ({ status: 201, body: { ...row, token: null } }),
      inTransaction(async (trx) => {
        const created = await accounts.createToken(trx, actorOf(req), label);
        secret = created.secret;
        return created.token;
      }),
    );
    if (answer.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.replayed ? answer.body : { ...(answer.body as object), token: secret });
  });
  router.delete('/tokens/:id', token, async (req: ApiRequest, res) => {
    const id = parseId(req.params.id);
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => accounts.revokeToken(trx, actorOf(req), id)),
    );
  });
  return router;
}

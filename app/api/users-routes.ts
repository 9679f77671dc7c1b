// JSON API for who you are, users (admins) and API tokens.
import { RequestHandler, Router } from 'express';
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
import { idempotent } from '../db/idempotency';
import type { EditorServices } from '../editor-services';
import { parseId } from '../http/request-params';
import { body, EditorWrites, str } from './editor-writes';
import { ApiRequest, requireJson, requireRole as role, requireToken, writeRequest } from './middleware';

export function usersApiRoutes(deps: EditorServices, writes: EditorWrites, json: RequestHandler): Router {
  const { db } = deps;
  const { once, inTransaction } = writes;
  const router = Router();
  const token = requireToken(db);

  router.get('/me', token, (req: ApiRequest, res) => {
    const { id, name, role: r } = req.user!;
    res.json({ id, name, role: r });
  });

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
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => setRole(trx, String(req.params.name), r, req.user!.name)),
    );
  });
  router.use(tokenRoutes(deps, writes, json));
  return router;
}

function tokenRoutes(deps: EditorServices, { once, inTransaction }: EditorWrites, json: RequestHandler): Router {
  const { db } = deps;
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
        secret = await createApiToken(trx, req.user!.name, label, deps.now());
        return (await listTokens(trx, req.user!.name)).slice(-1)[0];
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
      inTransaction((trx) => revokeToken(trx, id, deps.now(), req.user!)),
    );
  });
  return router;
}

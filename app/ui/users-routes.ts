// Users and API tokens. Admins create users, reset passwords, change roles
// and revoke any token; everyone may create and revoke their own tokens.
import express, { Router } from 'express';
import {
  createApiToken,
  createUser,
  listTokens,
  listUsers,
  revokeToken,
  Role,
  setPassword,
  setRole,
} from '../auth/users';
import { BadRequestError } from '../errors';
import { parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

function field(body: Record<string, unknown>, name: string, max: number): string {
  const value = body[name];
  if (typeof value !== 'string') throw new BadRequestError(`${name} is required`, name);
  if (value.length > max) throw new BadRequestError(`${name} is longer than ${max} characters`, name);
  return value;
}

export function usersRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const admin = requireRole('admin');
  const anyone = requireRole();

  router.get('/editor/users', admin, async (req: WebRequest, res) => {
    const [users, tokens] = await Promise.all([listUsers(db), listTokens(db)]);
    renderPage(views, res, 'users.njk', { users, tokens, nav: 'users', notice: req.query.notice, newToken: undefined });
  });

  router.post('/editor/users', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const user = await createUser(
      db,
      field(body, 'name', 64),
      field(body, 'role', 16) as Role,
      field(body, 'password', 1000),
      deps.now(),
    );
    res.redirect(303, withNotice('/editor/users', `user ${user.name} created`));
  });

  router.post('/editor/users/:name/password', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const user = await setPassword(
      db,
      String(req.params.name),
      field(req.body as Record<string, unknown>, 'password', 1000),
    );
    res.redirect(303, withNotice('/editor/users', `password of ${user.name} reset; their sessions were ended`));
  });

  router.post('/editor/users/:name/role', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const user = await setRole(
      db,
      String(req.params.name),
      field(req.body as Record<string, unknown>, 'role', 16) as Role,
      req.session!.user.name,
    );
    res.redirect(303, withNotice('/editor/users', `${user.name} is now ${user.role}`));
  });

  router.get('/editor/account', anyone, async (req: WebRequest, res) => {
    const tokens = await listTokens(db, req.session!.user.name);
    renderPage(views, res, 'account.njk', { tokens, nav: 'account', notice: req.query.notice });
  });

  router.post('/editor/tokens', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const label =
      typeof (req.body as Record<string, unknown>).label === 'string'
        ? ((req.body as Record<string, unknown>).label as string).trim()
        : '';
    if (label.length > 100) throw new BadRequestError('label is longer than 100 characters', 'label');
    const token = await createApiToken(db, req.session!.user.name, label, deps.now());
    const tokens = await listTokens(db, req.session!.user.name);
    // Shown once, in this response only (never in a URL or a log).
    renderPage(views, res, 'account.njk', { tokens, nav: 'account', newToken: token }, 201);
  });

  router.post('/editor/tokens/:id/revoke', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await revokeToken(db, id, deps.now(), req.session!.user);
    const back = (req.body as Record<string, unknown>).back === 'users' ? '/editor/users' : '/editor/account';
    res.redirect(303, withNotice(back, `token ${id} revoked`));
  });

  return router;
}

// Users and API tokens. Admins create users, reset passwords, change roles,
// end a user's sessions and revoke any token; everyone changes their own
// password and creates and revokes their own tokens. Each change is audited
// (app/auth/audited-accounts.ts).
import express, { Router } from 'express';
import type { Response } from 'express';
import { HyperstaticError } from '../../common/errors';
import type { AccountActor } from '../auth/audited-accounts';
import { releaseLoginTry, reserveLoginTry } from '../auth/login-limiter';
import { findProfile, parseProfileChange } from '../auth/people';
import { listTokens, listUsers, Role } from '../auth/users';
import { BadRequestError } from '../errors';
import { clientAddress, parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

function field(body: Record<string, unknown>, name: string, max: number): string {
  const value = body[name];
  if (typeof value !== 'string') throw new BadRequestError(`${name} is required`, name);
  if (value.length > max) throw new BadRequestError(`${name} is longer than ${max} characters`, name);
  return value;
}

const actorOf = (req: WebRequest): AccountActor => ({ user: req.session!.user, address: clientAddress(req) });

/**
 * Runs a form's action; a refusal (a 4xx) comes back to the form's page
 * through `back`, with the problem named, instead of the error page.
 */
async function orBack(
  res: Response,
  action: () => Promise<void>,
  back: (error: HyperstaticError, field: string | undefined) => Promise<void>,
): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof HyperstaticError) || error.status >= 500 || error.status === 404) throw error;
    if (!res.headersSent) await back(error, (error as { field?: string }).field);
  }
}

export function usersRoutes(deps: EditorDeps): Router {
  const { db, views, accounts } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const admin = requireRole('admin');

  /** The users page; after a refusal, `error` names the problem and `errorField` the field (f-…) it is in. */
  async function usersPage(req: WebRequest, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const [users, tokens] = await Promise.all([listUsers(db), listTokens(db)]);
    renderPage(
      views,
      res,
      'users.njk',
      { users, tokens, nav: 'users', notice: req.query.notice, newToken: undefined, ...extra },
      status,
    );
  }

  router.get('/editor/users', admin, (req: WebRequest, res) => usersPage(req, res));

  // A refused new user comes back to its form with the name and role kept (never the password).
  router.post('/editor/users', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const kept = { name: typeof body.name === 'string' ? body.name.slice(0, 64) : '', role: body.role };
    await orBack(
      res,
      async () => {
        const user = await accounts.createUser(
          db,
          actorOf(req),
          field(body, 'name', 64),
          field(body, 'role', 16) as Role,
          field(body, 'password', 1000),
        );
        res.redirect(303, withNotice('/editor/users', `user ${user.name} created`));
      },
      (error, name) =>
        usersPage(
          req,
          res,
          { error: error.message, errorField: name ? `new-${name}` : undefined, newUser: kept },
          error.status,
        ),
    );
  });

  // A refused reset or role change comes back to the users page, the problem named at that user's row.
  for (const change of ['password', 'role'] as const)
    router.post(`/editor/users/:name/${change}`, admin, form, requireCsrf, async (req: WebRequest, res) => {
      const name = String(req.params.name);
      const body = req.body as Record<string, unknown>;
      await orBack(
        res,
        async () => {
          if (change === 'password') {
            const password = field(body, 'password', 1000);
            const user = await db.transaction((trx) => accounts.resetPassword(trx, actorOf(req), name, password));
            res.redirect(303, withNotice('/editor/users', `password of ${user.name} reset; their sessions were ended`));
          } else {
            const role = field(body, 'role', 16) as Role;
            const user = await db.transaction((trx) => accounts.setRole(trx, actorOf(req), name, role));
            res.redirect(303, withNotice('/editor/users', `${user.name} is now ${user.role}`));
          }
        },
        (error) =>
          usersPage(
            req,
            res,
            { error: `${name}: ${error.message}`, errorField: `${change}-${name}`, failedRow: { name, change } },
            error.status,
          ),
      );
    });

  router.post('/editor/users/:name/sessions/end', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const ended = await db.transaction((trx) => accounts.endSessions(trx, actorOf(req), String(req.params.name)));
    res.redirect(
      303,
      withNotice(
        '/editor/users',
        `${ended.sessionsEnded} session${ended.sessionsEnded === 1 ? '' : 's'} of ${ended.user} ended`,
      ),
    );
  });

  router.use(accountRoutes(deps));
  router.use(profileRoutes(deps));
  return router;
}

/** Public profiles: your own on /editor/account, anyone's for admins (the author page's slug too). */
function profileRoutes(deps: EditorDeps): Router {
  const { db, views, accounts } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const admin = requireRole('admin');
  const anyone = requireRole();

  // A user's public profile: display name, bio and the author page's slug (only admins change that).
  async function profilePage(req: WebRequest, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const profile = await findProfile(db, String(req.params.name));
    renderPage(
      views,
      res,
      'user-profile.njk',
      { profile, values: profile, nav: 'users', notice: req.query.notice, ...extra },
      status,
    );
  }
  router.get('/editor/users/:name/profile', admin, (req: WebRequest, res) => profilePage(req, res));
  router.post('/editor/users/:name/profile', admin, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const name = String(req.params.name);
    try {
      const change = parseProfileChange({ displayName: body.displayName, bio: body.bio ?? '', slug: body.slug });
      await db.transaction((trx) => accounts.updateProfile(trx, actorOf(req), name, change));
      deps.onOwed();
      res.redirect(303, withNotice('/editor/users', `profile of ${name} saved`));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500 || error.status === 404) throw error;
      const profileField = (error as { field?: string }).field;
      await profilePage(req, res, { profileError: error.message, profileField, values: body }, error.status);
    }
  });

  // Your display name and bio; the author page's slug is shown, and only an admin changes it.
  router.post('/editor/account/profile', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    try {
      const change = parseProfileChange({ displayName: body.displayName, bio: body.bio ?? '' });
      await db.transaction((trx) => accounts.updateProfile(trx, actorOf(req), req.session!.user.name, change));
      deps.onOwed();
      res.redirect(303, withNotice('/editor/account', 'profile saved; pages showing your byline are being updated'));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      const profileField = (error as { field?: string }).field;
      const profile = await findProfile(db, req.session!.user.name);
      await accountPage(
        deps,
        req,
        res,
        { profileError: error.message, profileField, values: { ...profile, ...body } },
        error.status,
      );
    }
  });

  return router;
}

/** /editor/account: your profile, password and API tokens. */
async function accountPage(
  { db, views }: EditorDeps,
  req: WebRequest,
  res: Response,
  extra: Record<string, unknown> = {},
  status = 200,
) {
  const [tokens, profile] = await Promise.all([
    listTokens(db, req.session!.user.name),
    findProfile(db, req.session!.user.name),
  ]);
  renderPage(
    views,
    res,
    'account.njk',
    { tokens, profile, values: profile, nav: 'account', notice: req.query.notice, ...extra },
    status,
  );
}

/** /editor/account: your own password and API tokens. */
function accountRoutes(deps: EditorDeps): Router {
  const { db, accounts, loginLimits } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const anyone = requireRole();

  const page = (req: WebRequest, res: Response, extra: Record<string, unknown> = {}, status = 200) =>
    accountPage(deps, req, res, extra, status);

  router.get('/editor/account', anyone, (req: WebRequest, res) => page(req, res));

  // A refused change comes back to the form with the problem named (never a dead end).
  router.post('/editor/account/password', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const revokeTokens = body.revokeTokens === 'on';
    const user = req.session!.user;
    const keys = [{ key: `password-change:${user.id}`, limit: loginLimits.perAccount, reason: 'account' as const }];
    try {
      const change = {
        currentPassword: field(body, 'currentPassword', 1000),
        newPassword: field(body, 'newPassword', 1000),
        revokeTokens,
        keepSessionId: req.session!.id,
      };
      if (change.newPassword !== field(body, 'confirmPassword', 1000))
        throw new BadRequestError('the two new passwords differ', 'confirmPassword');
      // Only a check of the current password counts against the throttle.
      const verdict = await reserveLoginTry(db, keys, loginLimits, deps.now());
      if (!verdict.allowed) {
        res.set('Retry-After', String(verdict.retryAfterSeconds));
        const error = 'too many wrong current passwords; wait and try again';
        return await page(req, res, { passwordError: error, passwordField: 'currentPassword', revokeTokens }, 429);
      }
      const result = await db.transaction(async (trx) => {
        const changed = await accounts.changeOwnPassword(trx, actorOf(req), change);
        await releaseLoginTry(trx, verdict.reserved, deps.now());
        return changed;
      });
      const ended = `${result.sessionsEnded} other session${result.sessionsEnded === 1 ? '' : 's'} ended`;
      const revoked = revokeTokens
        ? `, ${result.tokensRevoked} token${result.tokensRevoked === 1 ? '' : 's'} revoked`
        : '';
      res.redirect(303, withNotice('/editor/account', `password changed; ${ended}${revoked}`));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      const passwordField = (error as { field?: string }).field;
      await page(req, res, { passwordError: error.message, passwordField, revokeTokens }, error.status);
    }
  });

  router.post('/editor/tokens', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const raw = (req.body as Record<string, unknown>).label;
    const label = typeof raw === 'string' ? raw.trim() : '';
    // A refused label comes back to the form, as typed.
    if (label.length > 100)
      return page(
        req,
        res,
        { error: 'label is longer than 100 characters', errorField: 'label', tokenLabel: label },
        400,
      );
    const { secret } = await db.transaction((trx) => accounts.createToken(trx, actorOf(req), label));
    // Shown once, in this response only (never in a URL or a log).
    await page(req, res, { newToken: secret, notice: undefined }, 201);
  });

  router.post('/editor/tokens/:id/revoke', anyone, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await db.transaction((trx) => accounts.revokeToken(trx, actorOf(req), id));
    const back = (req.body as Record<string, unknown>).back === 'users' ? '/editor/users' : '/editor/account';
    res.redirect(303, withNotice(back, `token ${id} revoked`));
  });

  return router;
}

// The moderation queue and site settings.
import express, { Router, type Request, type Response } from 'express';
import { HyperstaticError } from '../../common/errors';
import { OPEN_PUBLISHING_MODES, parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import {
  allowedModerationActions,
  BULK_LIMIT,
  moderationRefusal,
  parseBulkIds,
  parseKind,
  parseModerationAction,
  type SubmissionKind,
} from '../moderation/moderation';
import { clientAddress, parseId } from '../http/request-params';
import { ITEM_KINDS, serviceOf } from '../content/item-kinds';
import type { Item } from '../content/item-kind';
import { ForbiddenError } from '../auth/auth-errors';
import type { EditorDeps } from './editor-deps';
import { ITEM_FORMS } from './item-forms';
import { renderPage, withNotice } from './render';
import { showItemPage } from './item-pages';
import { requireCsrf, requireCsrfOr, requireRole, WebRequest } from './web-session';

export function moderationRoutes(deps: EditorDeps): Router {
  const { views, moderation } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const moderators = requireRole('admin', 'editor', 'moderator');
  const bulkForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: BULK_LIMIT + 10 });

  router.get('/editor/moderation', moderators, (req: WebRequest, res) => queuePage(deps, req, res, req.query.state));

  // The list's bulk actions: the checked items, one action, back to the list (with its filters) and a notice.
  router.post('/editor/moderation/:kind', moderators, bulkForm, requireCsrf, async (req: WebRequest, res) => {
    const kind = parseKind(req.params.kind);
    const body = req.body as Record<string, unknown>;
    const back = `/editor/${kind}s?${listQuery(body.back)}`;
    try {
      const ids = parseBulkIds(body.ids);
      const { action, reason } = parseModerationAction(body.action, body.reason);
      // Deleting cannot be undone here: the checked items are named on a page that asks first.
      if (action === 'delete' && body.confirmed !== 'yes') return await confirmBulkDelete(deps, res, kind, ids, body);
      await moderation.actOnMany(kind, ids, action, req.session!.user, reason);
      res.redirect(303, withNotice(back, `${action}: ${ids.length} ${kind}${ids.length > 1 ? 's' : ''}`));
    } catch (error) {
      // The list again, as it was filtered, with the problem named; nothing changed (every item is checked before any is saved).
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      const form = ITEM_FORMS.find((f) => f.kind === kind)!;
      const listRequest = { query: Object.fromEntries(new URLSearchParams(listQuery(body.back))) } as Request;
      const context = await form.listContext(deps, serviceOf(deps.items, kind), listRequest);
      renderPage(views, res, form.templates.list, { ...context, nav: `${kind}s`, error: error.message }, error.status);
    }
  });

  router.post(
    '/editor/moderation/:kind/:id',
    moderators,
    form,
    requireCsrfOr((req, res, error) => oneRefused(deps, req, res, error)),
    async (req: WebRequest, res) => {
      const kind = parseKind(req.params.kind);
      const id = parseId(req.params.id);
      const body = req.body as Record<string, unknown>;
      try {
        const { action, reason } = parseModerationAction(body.action, body.reason);
        if (action === 'delete' && body.confirmed !== 'yes') return res.redirect(303, `/editor/${kind}s/${id}/delete`);
        await moderation.act(kind, id, action, req.session!.user, reason);
        const back = body.back === 'item' ? `/editor/${kind}s/${id}` : queueUrl(body.state);
        res.redirect(303, withNotice(back, `${kind} ${id}: ${action}${reason ? ` (${reason})` : ''}`));
      } catch (error) {
        if (!(error instanceof HyperstaticError) || error.status >= 500 || error.status === 404) throw error;
        await oneRefused(deps, req, res, error);
      }
    },
  );

  router.use(deletePages(deps));

  router.use(settingsRoutes(deps));

  return router;
}

/** The site settings (open publishing); admins only, audited. */
function settingsRoutes(deps: EditorDeps): Router {
  const { db, views, audit } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const settingsPage = async (
    req: WebRequest,
    res: express.Response,
    extra: Record<string, unknown> = {},
    status = 200,
  ) =>
    renderPage(
      views,
      res,
      'settings.njk',
      {
        settings: await readSettings(db),
        modes: OPEN_PUBLISHING_MODES,
        nav: 'settings',
        notice: req.query.notice,
        ...extra,
      },
      status,
    );
  router.get('/editor/settings', requireRole('admin'), (req: WebRequest, res) => settingsPage(req, res));

  router.post('/editor/settings', requireRole('admin'), form, requireCsrf, async (req: WebRequest, res) => {
    let openPublishing: ReturnType<typeof parseOpenPublishing>;
    try {
      openPublishing = parseOpenPublishing((req.body as Record<string, unknown>).openPublishing);
    } catch (error) {
      // A refused value comes back to the settings form, named (only a hand-made post can send one).
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      return settingsPage(req, res, { error: error.message, errorField: 'openPublishing' }, error.status);
    }
    const before = await readSettings(db);
    await db.transaction(async (trx) => {
      await writeSettings(trx, { openPublishing });
      const user = req.session!.user;
      await audit.record(trx, {
        action: 'settings_changed',
        actor: user,
        target: 'settings',
        address: clientAddress(req),
        detail: { openPublishing, was: before.openPublishing },
      });
    });
    res.redirect(303, withNotice('/editor/settings', 'settings saved'));
  });

  return router;
}

/** The item's "Delete…" link: what deleting does, the reason, and the button that does it. */
function deletePages(deps: EditorDeps): Router {
  const { views, moderation } = deps;
  const router = Router();
  const moderators = requireRole('admin', 'editor', 'moderator');
  for (const { name, plural } of ITEM_KINDS)
    router.get(`/editor/${plural}/:id/delete`, moderators, async (req: WebRequest, res) => {
      const id = parseId(req.params.id);
      const item = await serviceOf(deps.items, name).get(id);
      const refusal = moderationRefusal(req.session!.user.role, 'delete', {
        ...item,
        submission: await moderation.submissionState(name, id),
      });
      if (refusal) throw new ForbiddenError(refusal);
      if (item.status === 'deleted')
        return res.redirect(303, withNotice(`/editor/${plural}/${id}`, `${name} ${id} is already deleted`));
      const cancel = `/editor/${plural}/${id}`;
      renderPage(views, res, 'delete-confirm.njk', {
        ...confirmContext(name, [item], `/editor/moderation/${plural}/${id}`, cancel),
        back: 'item',
        nav: plural,
      });
    });

  return router;
}

/** Deleting cannot be undone from the editor: the checked items are named on a page that asks first. */
async function confirmBulkDelete(
  deps: EditorDeps,
  res: Response,
  kind: SubmissionKind,
  ids: number[],
  body: Record<string, unknown>,
): Promise<void> {
  const service = serviceOf(deps.items, kind);
  const items: Item[] = [];
  for (const id of ids) items.push(await service.get(id));
  const back = listQuery(body.back);
  renderPage(deps.views, res, 'delete-confirm.njk', {
    ...confirmContext(kind, items, `/editor/moderation/${kind}s`, `/editor/${kind}s?${back}`),
    back,
    bulk: true,
    reason: typeof body.reason === 'string' ? body.reason.slice(0, 500) : '',
  });
}

function confirmContext(noun: string, items: Item[], action: string, cancel: string) {
  return { noun, items, action, cancel, nav: `${noun}s` };
}

/** The queue, filtered by state; `failed` names an item whose action was refused, with what was typed for it. */
async function queuePage(
  deps: EditorDeps,
  req: WebRequest,
  res: express.Response,
  rawState: unknown,
  refusal?: { error: HyperstaticError; failed: { kind: string; id: number; reason: string } },
) {
  const { db, views, moderation } = deps;
  const state = rawState === 'reviewed' || rawState === 'all' ? rawState : 'pending';
  const [queued, settings] = await Promise.all([moderation.queue({ state, limit: 100 }), readSettings(db)]);
  const role = req.session!.user.role;
  // Only the buttons this role may press (moderationRefusal decides again on the post).
  const items = queued.map((q) => ({
    ...q,
    allowed: allowedModerationActions(role, {
      status: q.item.status,
      featured: q.item.featured,
      submission: q.state,
    }),
  }));
  const page = { items, state, settings, nav: 'moderation', notice: req.query.notice };
  if (!refusal) return renderPage(views, res, 'moderation.njk', page);
  const { error, failed } = refusal;
  // The field is linked only when its item is on the page (the queue shows the newest 100).
  const listed = items.some((q) => q.kind === failed.kind && q.item.id === failed.id);
  const errorField = listed ? (error as { field?: string }).field : undefined;
  const failedPage = { ...page, notice: undefined, error: error.message, errorField, failed };
  renderPage(views, res, 'moderation.njk', failedPage, error.status);
}

/** One item's action, from the queue or the item's page; refused, it comes back there with the reason typed kept. */
async function oneRefused(deps: EditorDeps, req: WebRequest, res: express.Response, error: HyperstaticError) {
  const kind = parseKind(req.params.kind);
  const id = parseId(req.params.id);
  const body = req.body as Record<string, unknown>;
  const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : '';
  if (body.back !== 'item') return queuePage(deps, req, res, body.state, { error, failed: { kind, id, reason } });
  const item = await serviceOf(deps.items, kind).get(id);
  const form = ITEM_FORMS.find((f) => f.kind === kind)!;
  const values = form.valuesOf(item, deps.siteTimeZone);
  await showItemPage(deps, kind, res, {
    id,
    values,
    error,
    status: error.status,
    extra: { moderationReason: reason },
  });
}

/** The queue at the state filter its form came from. */
function queueUrl(state: unknown): string {
  return state === 'reviewed' || state === 'all' ? `/editor/moderation?state=${state}` : '/editor/moderation';
}

/** The list's own filters (status, section, search, page) from the form's `back` field; anything else is dropped. */
function listQuery(raw: unknown): string {
  const given = new URLSearchParams(typeof raw === 'string' ? raw : '');
  const kept = new URLSearchParams();
  for (const key of ['status', 'section', 'q', 'page']) {
    const value = given.get(key);
    if (value) kept.set(key, value.slice(0, 200));
  }
  return kept.toString();
}

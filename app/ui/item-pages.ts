// The editor's pages for one kind of item, generated from its form
// declaration (app/ui/item-forms.ts): list, create and edit (with preview,
// a lead image, revision history and restore). Every form posts back with
// the session's CSRF token; a form that fails validation is shown again
// with its values and a 400.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { serviceOf } from '../content/item-kinds';
import { propagationOf } from '../content/propagation';
import type { EditorialService } from '../content/item-revisions';
import { compareRevision, parseComparison, restorePreview } from '../content/revision-compare';
import { sanitizeBody } from '../content/sanitize';
import { BadRequestError, NotFoundError } from '../errors';
import { parseId } from '../http/request-params';
import type { MediaItem } from '../media/media-store';
import { allowedModerationActions } from '../moderation/moderation';
import type { User } from '../auth/users';
import type { EditorDeps } from './editor-deps';
import { FormValues, ITEM_FORMS, ItemForm } from './item-forms';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireCsrfOr, requireRole, WebRequest } from './web-session';
import { deskContext, itemDeskPages } from './item-desk-routes';
import { zoneLabel } from './zoned-time';

const LEAD_IMAGE_CHOICES = 24;

/** The lead-image picker's choices: the newest images, and the chosen one wherever it is in the library. */
async function leadImageChoices(deps: EditorDeps, chosen: string): Promise<MediaItem[]> {
  const recent = await deps.media.list({ limit: LEAD_IMAGE_CHOICES, offset: 0, kind: 'image' });
  if (chosen === '' || recent.some((m) => m.sha256 === chosen)) return recent;
  // A chosen image that is not in the library (a form posted with a stale or made-up hash) is simply not offered; a database error is not hidden.
  const current = await deps.media.get(chosen).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  return current?.kind === 'image' ? [current, ...recent] : recent;
}

/** The pages of every kind this origin has. */
export function itemPages(deps: EditorDeps): Router {
  const router = Router();
  for (const service of deps.items) {
    const form = ITEM_FORMS.find((f) => f.kind === service.kind.name);
    // A declared kind without editor pages is a wiring mistake, not something to skip quietly.
    if (!form)
      throw new Error(`no editor form for the ${service.kind.name} kind: add one to ITEM_FORMS (app/ui/item-forms.ts)`);
    router.use(pagesOf(deps, service, form));
  }
  return router;
}

export interface FormState {
  id?: number;
  /** The autosave revision whose text the form shows (?autosave=N). */
  autosaved?: number;
  values: FormValues;
  error?: HyperstaticError;
  preview?: string;
  status?: number;
  notice?: unknown;
  /** More for the template: a preview link just made, a note form shown again (app/ui/item-desk-routes.ts). */
  extra?: Record<string, unknown>;
}

function pagesOf(deps: EditorDeps, items: EditorialService, form: ItemForm): Router {
  const { name, plural } = items.kind;
  const router = Router();
  const urlencoded = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  const show = (res: express.Response, state: FormState) => showForm(deps, items, form, res, state);

  // One handler for "Save" and "Preview": without JavaScript, the preview is
  // the same form posted with intent=preview, shown again with the sanitized body.
  async function save(req: WebRequest, res: express.Response, id: number | undefined) {
    const body = req.body as Record<string, unknown>;
    const values = form.posted(body);
    try {
      const input = form.parse(body, id ? 'update' : 'create', deps.siteTimeZone);
      if (body.intent === 'preview') return show(res, { id, values, preview: sanitizeBody(input.body ?? '') });
      const actor = { userId: req.session!.user.id };
      const saved = id ? await items.update(id, input, { actor }) : await items.create(input, actor.userId, { actor });
      res.redirect(303, withNotice(`/editor/${plural}/${saved.id}`, id ? 'saved' : `created at ${saved.url}`));
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500)
        return show(res, { id, values, error, status: error.status });
      throw error;
    }
  }

  router.get(`/editor/${plural}`, anyone, async (req: WebRequest, res) => {
    const context = await form.listContext(deps, items, req);
    renderPage(deps.views, res, form.templates.list, { ...context, nav: plural, notice: req.query.notice });
  });
  router.get(`/editor/${plural}/new`, editors, async (_req, res) => {
    await show(res, { values: form.emptyValues() });
  });
  router.get(`/editor/${plural}/:id`, anyone, async (req: WebRequest, res) => {
    const item = await items.get(parseId(req.params.id));
    const values = form.valuesOf(item, deps.siteTimeZone);
    if (req.query.autosave === undefined) return show(res, { id: item.id, values, notice: req.query.notice });
    await show(res, await autosavedState(items, item.id, values, req.query.autosave));
  });
  router.get(`/editor/${plural}/:id/propagation.json`, anyone, async (req: WebRequest, res) => {
    const item = await items.get(parseId(req.params.id));
    res.json(await propagationOf(deps.db, { topic: name, ...item }, deps.now()));
  });
  // A form opened before the editor last logged in: shown again with what they typed, to check and save.
  const expired = requireCsrfOr(async (req, res, error) => {
    const id = req.params.id === undefined ? undefined : parseId(req.params.id);
    if (id) await items.get(id);
    await show(res, { id, values: form.posted(req.body as Record<string, unknown>), error, status: error.status });
  });
  router.post(`/editor/${plural}`, editors, urlencoded, expired, (req: WebRequest, res) => save(req, res, undefined));
  router.post(`/editor/${plural}/:id`, editors, urlencoded, expired, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await items.get(id);
    await save(req, res, id);
  });
  router.use(revisionPages(deps, items, form));
  router.use(itemDeskPages(deps, items, form, show));
  return router;
}

/** The edit page of a saved item of `kind` in a given state: where a refused moderation action (app/ui/moderation-routes.ts) comes back to. */
export async function showItemPage(
  deps: EditorDeps,
  kind: string,
  res: express.Response,
  state: FormState & { id: number },
): Promise<void> {
  const items = serviceOf(deps.items, kind);
  await showForm(
    deps,
    items,
    ITEM_FORMS.find((f) => f.kind === kind)!,
    res,
    state,
  );
}

/** The edit form of a new or saved item, with everything around it (history, propagation, moderation, desk tools, drafts). */
async function showForm(
  deps: EditorDeps,
  items: EditorialService,
  form: ItemForm,
  res: express.Response,
  state: FormState,
): Promise<void> {
  const { name, plural } = items.kind;
  const item = state.id ? await items.get(state.id) : undefined;
  const [extra, revisions, images, propagation, submission, desk, pendingAutosave] = await Promise.all([
    form.editContext(deps),
    item ? items.revisions(item.id) : [],
    leadImageChoices(deps, state.values.leadImage),
    item ? propagationOf(deps.db, { topic: name, ...item }, deps.now()) : undefined,
    item ? deps.moderation.submissionState(name, item.id) : undefined,
    item ? deskContext(deps, name, item.id) : {},
    item ? items.pendingAutosave(item.id) : undefined,
  ]);
  const { values, preview, error, notice } = state;
  const field = (error as { field?: string } | undefined)?.field;
  // A refusal about the item itself (a deleted item's 409 names `id`, a moderation one `action`) has no field to link.
  const errorField = field === 'id' || field === 'action' ? undefined : field;
  const role = (res.locals.user as User).role;
  const moderationActions = item ? allowedModerationActions(role, { ...item, submission }) : [];
  const drafts = { pendingAutosave, autosaved: state.autosaved, justCreated: /^created/.test(String(notice ?? '')) };
  const context = {
    [name]: item,
    values,
    ...extra,
    revisions,
    propagation,
    preview,
    images,
    moderationActions,
    ...drafts,
  };
  Object.assign(context, desk, state.extra);
  const page = { error: error?.message, errorField, nav: plural, notice, publicUrl: deps.publicUrl };
  const zone = { timeZoneLabel: zoneLabel(deps.siteTimeZone, deps.now()), timeZone: deps.siteTimeZone };
  renderPage(deps.views, res, form.templates.edit, { ...context, ...page, ...zone }, state.status ?? 200);
}

/** The form showing an autosaved draft's text (?autosave=N), to look at and Save or leave: loading it saves nothing. */
async function autosavedState(
  items: EditorialService,
  id: number,
  values: FormValues,
  raw: unknown,
): Promise<FormState> {
  const revision = await items.revision(id, parseId(raw, 'autosave'));
  if (revision.action !== 'autosave')
    throw new BadRequestError(
      `revision ${revision.number} is not an autosave: restore it from the history`,
      'autosave',
    );
  const { title, summary, body, tags } = revision.snapshot;
  const at = new Date(revision.createdAt).toISOString().replace('T', ' ').slice(0, 16);
  const notice = `showing the draft autosaved ${at} UTC: Save to keep it`;
  return { id, values: { ...values, title, summary, body, tags: tags.join(', ') }, autosaved: revision.number, notice };
}

function revisionPages(deps: EditorDeps, items: EditorialService, form: ItemForm): Router {
  const { name, plural } = items.kind;
  const router = Router();
  const urlencoded = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });

  router.get(`/editor/${plural}/:id/revisions/:rev`, requireRole(), async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const rev = parseId(req.params.rev, 'revision');
    const comparison = await compareRevision(items, id, rev, parseComparison(req.query.against));
    const item = await items.get(id);
    const base = `/editor/${plural}/${id}`;
    renderPage(deps.views, res, form.templates.revision, {
      [name]: item,
      revision: comparison.revision,
      comparison,
      base,
      nav: plural,
    });
  });
  // Restoring starts on a page showing what it will change and whether it goes live; only its Confirm restores.
  router.get(`/editor/${plural}/:id/revisions/:rev/restore`, requireRole('admin', 'editor'), async (req, res) => {
    const id = parseId(req.params.id);
    const preview = await restorePreview(items, id, parseId(req.params.rev, 'revision'));
    const item = await items.get(id);
    const base = `/editor/${plural}/${id}`;
    renderPage(deps.views, res, 'revision-restore.njk', { item, preview, base, kindName: name, nav: plural });
  });
  router.post(
    `/editor/${plural}/:id/revisions/:rev/restore`,
    requireRole('admin', 'editor'),
    urlencoded,
    requireCsrf,
    async (req: WebRequest, res) => {
      const id = parseId(req.params.id);
      const rev = parseId(req.params.rev, 'revision');
      if ((req.body as Record<string, unknown>).confirm !== 'yes')
        throw new BadRequestError(
          `confirm the restore on its page, /editor/${plural}/${id}/revisions/${rev}/restore, which shows what it changes`,
          'confirm',
        );
      await items.restore(id, rev, req.session!.user.id);
      res.redirect(303, withNotice(`/editor/${plural}/${id}`, `restored revision ${rev}`));
    },
  );
  return router;
}

// Events in the editor: list, create and edit through the same validation
// as the JSON API (app/events/event-input.ts). The form's date-time inputs
// carry no offset; they are read as UTC, which the form says.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { ARTICLE_STATUSES } from '../articles/article-input';
import { EventInput, parseEventInput } from '../events/event-input';
import type { EventsService } from '../events/events-service';
import { BadRequestError } from '../errors';
import { parseId } from './content-routes';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';
import { recordEventRevision } from '../revisions/revisions';

export interface EventFormValues {
  title: string; summary: string; body: string; location: string; startsAt: string; endsAt: string; tags: string; status: string; featured: boolean;
}

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

function formValues(body: Record<string, unknown>): EventFormValues {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return { title: s(body.title), summary: s(body.summary), body: s(body.body), location: s(body.location), startsAt: s(body.startsAt), endsAt: s(body.endsAt), tags: s(body.tags), status: s(body.status), featured: body.featured === 'on' };
}

/** A datetime-local value ("2026-11-22T18:30") as the RFC 3339 UTC string the event validator takes. */
function utc(value: unknown, field: string): string {
  if (typeof value !== 'string' || !LOCAL.test(value)) throw new BadRequestError(`${field} must be a date and time such as 2026-11-22T18:30`, field);
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

export function parseEventForm(body: unknown, mode: 'create' | 'update'): EventInput {
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the form was empty');
  const form = body as Record<string, unknown>;
  for (const field of ['title', 'summary', 'body', 'location', 'startsAt', 'endsAt', 'tags', 'status']) {
    if (form[field] !== undefined && typeof form[field] !== 'string') throw new BadRequestError(`${field} was sent more than once`, field);
  }
  const raw: Record<string, unknown> = {
    title: form.title, summary: form.summary ?? '', body: form.body ?? '', location: form.location ?? '',
    startsAt: utc(form.startsAt, 'startsAt'),
    endsAt: form.endsAt === undefined || form.endsAt === '' ? null : utc(form.endsAt, 'endsAt'),
    tags: String(form.tags ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    featured: form.featured === 'on',
  };
  if (form.status !== undefined && form.status !== '') raw.status = form.status;
  return parseEventInput(raw, mode);
}

const toLocal = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');

export function eventsRoutes(deps: EditorDeps, events: EventsService): Router {
  const { views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  router.get('/editor/events', anyone, async (req: WebRequest, res) => {
    const status = typeof req.query.status === 'string' && ARTICLE_STATUSES.includes(req.query.status as 'draft') ? (req.query.status as 'draft') : undefined;
    const rows = await events.list({ status, limit: 100, offset: 0 });
    renderPage(views, res, 'events.njk', { rows, status, nav: 'events', notice: req.query.notice });
  });

  async function show(res: express.Response, id: number | undefined, values: EventFormValues, error?: HyperstaticError, status = 200) {
    const event = id ? await events.get(id) : undefined;
    const revisions = id
      ? await deps.db('revisions').leftJoin('users', 'users.id', 'revisions.user_id').where({ item_type: 'event', item_id: id }).orderBy('revisions.id', 'desc').limit(100)
        .select('revisions.id', 'revisions.action', 'revisions.reason', 'revisions.created_at as createdAt', 'users.name as user')
      : [];
    renderPage(views, res, 'event-edit.njk', { event, values, revisions, error: error?.message, errorField: (error as { field?: string } | undefined)?.field, nav: 'events', publicUrl: deps.publicUrl }, status);
  }

  router.get('/editor/events/new', editors, async (_req, res) => {
    await show(res, undefined, { title: '', summary: '', body: '', location: '', startsAt: '', endsAt: '', tags: '', status: 'draft', featured: false });
  });

  router.get('/editor/events/:id', anyone, async (req: WebRequest, res) => {
    const e = await events.get(parseId(req.params.id));
    res.locals.notice = req.query.notice;
    await show(res, e.id, { title: e.title, summary: e.summary, body: e.body, location: e.location, startsAt: toLocal(e.startsAt), endsAt: toLocal(e.endsAt), tags: e.tags.join(', '), status: e.status, featured: e.featured });
  });

  async function save(req: WebRequest, res: express.Response, id: number | undefined) {
    const values = formValues(req.body as Record<string, unknown>);
    try {
      const input = parseEventForm(req.body, id ? 'update' : 'create');
      const saved = id ? await events.update(id, input) : await events.create(input, req.session!.user.id);
      await recordEventRevision(deps.db, events, saved.id, { userId: req.session!.user.id, action: id ? 'edit' : 'create' }, deps.now);
      res.redirect(303, withNotice(`/editor/events/${saved.id}`, id ? 'saved' : `created at ${saved.url}`));
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500) return show(res, id, values, error, error.status);
      throw error;
    }
  }

  router.post('/editor/events', editors, form, requireCsrf, (req: WebRequest, res) => save(req, res, undefined));
  router.post('/editor/events/:id', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await events.get(id);
    await save(req, res, id);
  });

  return router;
}

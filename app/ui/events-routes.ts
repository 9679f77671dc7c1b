// Events in the editor: list, create and edit (with preview, a lead image,
// revision history and restore) through the same validation as the JSON API
// (app/events/event-input.ts). The form's date-time inputs carry no offset;
// they are read as UTC, which the form says.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { ARTICLE_STATUSES } from '../articles/article-input';
import { EventInput, parseEventInput } from '../events/event-input';
import { sanitizeBody } from '../articles/sanitize';
import { BadRequestError } from '../errors';
import type { EditorialEvents } from '../revisions/revisions';
import { leadImageChoices } from './content-routes';
import { parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { propagationOf } from '../content/propagation';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export interface EventFormValues {
  title: string;
  summary: string;
  body: string;
  location: string;
  startsAt: string;
  endsAt: string;
  tags: string;
  status: string;
  featured: boolean;
  leadImage: string;
  leadImageAlt: string;
}

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

function formValues(body: Record<string, unknown>): EventFormValues {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    title: s(body.title),
    summary: s(body.summary),
    body: s(body.body),
    location: s(body.location),
    startsAt: s(body.startsAt),
    endsAt: s(body.endsAt),
    tags: s(body.tags),
    status: s(body.status),
    featured: body.featured === 'on',
    leadImage: s(body.leadImage),
    leadImageAlt: s(body.leadImageAlt),
  };
}

/** A datetime-local value ("2026-11-22T18:30") as the RFC 3339 UTC string the event validator takes. */
function utc(value: unknown, field: string): string {
  if (typeof value !== 'string' || !LOCAL.test(value))
    throw new BadRequestError(`${field} must be a date and time such as 2026-11-22T18:30`, field);
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

export function parseEventForm(body: unknown, mode: 'create' | 'update'): EventInput {
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the form was empty');
  const form = body as Record<string, unknown>;
  for (const field of [
    'title',
    'summary',
    'body',
    'location',
    'startsAt',
    'endsAt',
    'tags',
    'status',
    'leadImage',
    'leadImageAlt',
  ]) {
    if (form[field] !== undefined && typeof form[field] !== 'string')
      throw new BadRequestError(`${field} was sent more than once`, field);
  }
  const raw: Record<string, unknown> = {
    title: form.title,
    summary: form.summary ?? '',
    body: form.body ?? '',
    location: form.location ?? '',
    startsAt: utc(form.startsAt, 'startsAt'),
    endsAt: form.endsAt === undefined || form.endsAt === '' ? null : utc(form.endsAt, 'endsAt'),
    tags: String(form.tags ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    featured: form.featured === 'on',
  };
  if (form.status !== undefined && form.status !== '') raw.status = form.status;
  // The picker's "none" radio sends an empty value: no lead image.
  if (form.leadImage !== undefined) raw.leadImage = form.leadImage === '' ? null : form.leadImage;
  if (form.leadImageAlt !== undefined) raw.leadImageAlt = form.leadImageAlt;
  return parseEventInput(raw, mode);
}

const toLocal = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');

export function eventsRoutes(deps: EditorDeps, events: EditorialEvents): Router {
  const { views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  router.get('/editor/events', anyone, async (req: WebRequest, res) => {
    const status =
      typeof req.query.status === 'string' && ARTICLE_STATUSES.includes(req.query.status as 'draft')
        ? (req.query.status as 'draft')
        : undefined;
    const rows = await events.list({ status, limit: 100, offset: 0 });
    renderPage(views, res, 'events.njk', { rows, status, nav: 'events', notice: req.query.notice });
  });

  async function show(
    res: express.Response,
    id: number | undefined,
    values: EventFormValues,
    options: { error?: HyperstaticError; status?: number; preview?: string } = {},
  ) {
    const { error } = options;
    const event = id ? await events.get(id) : undefined;
    const [revisions, images, propagation] = await Promise.all([
      id ? events.revisions(id) : [],
      leadImageChoices(deps, values.leadImage),
      event ? propagationOf(deps.db, { topic: 'event', ...event }, deps.now()) : undefined,
    ]);
    renderPage(
      views,
      res,
      'event-edit.njk',
      {
        event,
        values,
        revisions,
        images,
        propagation,
        preview: options.preview,
        error: error?.message,
        errorField: (error as { field?: string } | undefined)?.field,
        nav: 'events',
        publicUrl: deps.publicUrl,
      },
      options.status ?? 200,
    );
  }

  router.get('/editor/events/new', editors, async (_req, res) => {
    await show(res, undefined, {
      title: '',
      summary: '',
      body: '',
      location: '',
      startsAt: '',
      endsAt: '',
      tags: '',
      status: 'draft',
      featured: false,
      leadImage: '',
      leadImageAlt: '',
    });
  });

  router.get('/editor/events/:id/propagation.json', anyone, async (req: WebRequest, res) => {
    const event = await events.get(parseId(req.params.id));
    res.json(await propagationOf(deps.db, { topic: 'event', ...event }, deps.now()));
  });

  router.get('/editor/events/:id', anyone, async (req: WebRequest, res) => {
    const e = await events.get(parseId(req.params.id));
    res.locals.notice = req.query.notice;
    await show(res, e.id, {
      title: e.title,
      summary: e.summary,
      body: e.body,
      location: e.location,
      startsAt: toLocal(e.startsAt),
      endsAt: toLocal(e.endsAt),
      tags: e.tags.join(', '),
      status: e.status,
      featured: e.featured,
      leadImage: e.leadImage?.sha256 ?? '',
      leadImageAlt: e.leadImage?.alt ?? '',
    });
  });

  // "Save" and "Preview" post the same form; the preview shows it again with the sanitized body.
  async function save(req: WebRequest, res: express.Response, id: number | undefined) {
    const body = req.body as Record<string, unknown>;
    const values = formValues(body);
    try {
      const input = parseEventForm(body, id ? 'update' : 'create');
      if (body.intent === 'preview') return show(res, id, values, { preview: sanitizeBody(input.body ?? '') });
      const actor = { userId: req.session!.user.id };
      const saved = id
        ? await events.update(id, input, { actor })
        : await events.create(input, actor.userId, { actor });
      res.redirect(303, withNotice(`/editor/events/${saved.id}`, id ? 'saved' : `created at ${saved.url}`));
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500)
        return show(res, id, values, { error, status: error.status });
      throw error;
    }
  }

  router.post('/editor/events', editors, form, requireCsrf, (req: WebRequest, res) => save(req, res, undefined));
  router.post('/editor/events/:id', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await events.get(id);
    await save(req, res, id);
  });

  router.get('/editor/events/:id/revisions/:rev', anyone, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const revision = await events.revision(id, parseId(req.params.rev, 'revision'));
    renderPage(views, res, 'event-revision.njk', { event: await events.get(id), revision, nav: 'events' });
  });

  router.post('/editor/events/:id/revisions/:rev/restore', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const rev = parseId(req.params.rev, 'revision');
    await events.restore(id, rev, req.session!.user.id);
    res.redirect(303, withNotice(`/editor/events/${id}`, `restored revision ${rev}`));
  });

  return router;
}

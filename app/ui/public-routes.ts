// Open publishing: the public submission form. Anti-abuse: a per-address
// rate limit (app/moderation/moderation.ts) and a honeypot field that people
// never see and form-filling bots fill in. Submissions go through the same
// validation and sanitizer as editors' saves. The story is plain text
// (paragraphs kept: app/content/plain-text.ts) unless the form's script
// replaced the textarea with the rich editor and says so (bodyFormat=html).
import express, { Response, Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { plainTextToHtml } from '../content/plain-text';
import { readSettings } from '../moderation/settings';
import { BadRequestError, NotFoundError } from '../errors';
import { formValues, parseArticleForm } from './article-form';
import { parseEventForm } from './event-form';
import { HONEYPOT_FIELD, Submission } from '../moderation/moderation';
import { clientAddress } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { renderPage } from './render';
import { anonCsrfToken, EDITOR_HEADERS, requireAnonCsrfOr, WebRequest } from './web-session';

export function publicRoutes(deps: EditorDeps): Router {
  const { db, views, moderation } = deps;
  const events = deps.items.some((s) => s.kind.name === 'event');
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });

  router.use('/submit', (_req, res, next) => {
    res.set(EDITOR_HEADERS);
    next();
  });

  router.get('/submit', async (req: WebRequest, res) => {
    const settings = await readSettings(db);
    if (settings.openPublishing === 'off') throw new NotFoundError('open publishing');
    renderPage(views, res, 'submit.njk', {
      anonCsrf: anonCsrfToken(req, res),
      settings,
      values: formValues({}),
      event: {},
      kind: 'article',
      events,
      siteName: deps.siteName,
      publicUrl: deps.publicUrl,
    });
  });

  /** The form again with what was sent, the problem named at its field, a fresh token: nothing was submitted. */
  async function again(req: WebRequest, res: Response, error: HyperstaticError) {
    const posted = req.body as Record<string, unknown>;
    const settings = await readSettings(db);
    if (settings.openPublishing === 'off') throw new NotFoundError('open publishing');
    if (error.status === 429)
      res.set('Retry-After', String((error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 3600));
    renderPage(
      views,
      res,
      'submit.njk',
      {
        anonCsrf: anonCsrfToken(req, res),
        settings,
        values: formValues(posted),
        event: posted,
        kind: posted.kind === 'event' ? 'event' : 'article',
        events,
        error: error.message,
        errorField: (error as { field?: string }).field,
        siteName: deps.siteName,
        publicUrl: deps.publicUrl,
      },
      error.status,
    );
  }

  router.post('/submit', form, requireAnonCsrfOr(again), async (req: WebRequest, res) => {
    const posted = req.body as Record<string, unknown>;
    try {
      const body: Record<string, unknown> = { ...posted, body: submittedBody(posted) };
      if (body[HONEYPOT_FIELD] !== undefined && body[HONEYPOT_FIELD] !== '')
        throw new BadRequestError('this submission looks automated and was not accepted', HONEYPOT_FIELD);
      const submission: Submission =
        body.kind === 'event' && events
          ? {
              kind: 'event',
              input: parseEventForm(submittedEvent(body), 'create', deps.siteTimeZone),
            }
          : {
              kind: 'article',
              input: parseArticleForm(body, 'create', { allowStatus: false, zone: deps.siteTimeZone }),
            };
      if ((submission.input.body ?? '').trim() === '') throw new BadRequestError('write something in the body', 'body');
      const saved = await moderation.submit(submission, clientAddress(req));
      renderPage(views, res, 'submitted.njk', { saved, siteName: deps.siteName, publicUrl: deps.publicUrl }, 201);
    } catch (error) {
      if (error instanceof HyperstaticError && error.status < 500 && error.status !== 404)
        return again(req, res, error);
      throw error;
    }
  });

  return router;
}

/** The story as HTML: plain text made into paragraphs, or the rich editor's HTML (sanitized on save like any body). */
function submittedBody(posted: Record<string, unknown>): unknown {
  const format = posted.bodyFormat ?? 'text';
  if (format !== 'text' && format !== 'html')
    throw new BadRequestError('bodyFormat must be text or html', 'bodyFormat');
  return format === 'text' && typeof posted.body === 'string' ? plainTextToHtml(posted.body) : posted.body;
}

/** The fields a stranger's event submission may set: words and the time and place, not placement or schedule. */
function submittedEvent(body: Record<string, unknown>): Record<string, unknown> {
  const { title, summary, body: text, tags, location, startsAt, endsAt } = body;
  return { title, summary, body: text, tags, location, startsAt, endsAt };
}

// What the editor's script (app/ui/client/) asks the server for, as JSON:
// autosaving a form as a draft revision, cleaning pasted HTML with the
// save's own sanitizer, and the media library's files for the toolbar's
// pickers. A request without a session is answered 401 (not the login
// page), so the script can tell the person their session has ended while
// their text stays in the browser.
import express, { NextFunction, Response, Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { CsrfError, ForbiddenError } from '../auth/auth-errors';
import { tokensMatch } from '../auth/sessions';
import { sanitizeBody } from '../content/sanitize';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../errors';
import { parseId } from '../http/request-params';
import { readSettings } from '../moderation/settings';
import type { EditorDeps } from './editor-deps';
import { ITEM_FORMS } from './item-forms';
import { requireAnonCsrf, WebRequest } from './web-session';

const MEDIA_KINDS = ['image', 'audio', 'video'];

class SessionEndedError extends UnauthorizedError {
  constructor() {
    super('your session has ended: log in again (your text is kept in this browser)');
  }
}

/** A logged-in editor (or admin) whose request carries the session's CSRF token; JSON errors otherwise. */
function jsonEditor(roles: string[]) {
  return (req: WebRequest, _res: Response, next: NextFunction): void => {
    if (!req.session) throw new SessionEndedError();
    const given = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.get('x-csrf-token');
    if (req.method !== 'GET' && !tokensMatch(req.session.csrfToken, given)) throw new CsrfError();
    if (roles.length && !roles.includes(req.session.user.role))
      throw new ForbiddenError(`this needs the ${roles.join(' or ')} role; you are ${req.session.user.role}`);
    next();
  };
}

function pastedHtml(body: unknown, maxBytes: number): string {
  const html = (body as { html?: unknown } | undefined)?.html;
  if (typeof html !== 'string') throw new BadRequestError('html must be a string', 'html');
  if (html.length > maxBytes) throw new BadRequestError(`html is longer than ${maxBytes} characters`, 'html');
  return html;
}

export function draftRoutes(deps: EditorDeps): Router {
  const router = Router();
  const json = express.json({ limit: deps.maxBodyBytes });
  const urlencoded = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const editors = jsonEditor(['admin', 'editor']);

  router.get('/editor/media.json', jsonEditor([]), async (req: WebRequest, res) => {
    const kind = typeof req.query.kind === 'string' ? req.query.kind : '';
    if (!MEDIA_KINDS.includes(kind)) throw new BadRequestError(`kind must be one of ${MEDIA_KINDS.join(', ')}`, 'kind');
    res.json({ media: await deps.media.list({ limit: 60, offset: 0, kind }) });
  });

  router.post('/editor/paste', json, editors, (req: WebRequest, res) => {
    res.json({ html: sanitizeBody(pastedHtml(req.body, deps.maxBodyBytes)) });
  });
  // The public form's editor cleans pastes the same way, with the form's anonymous CSRF token.
  router.post('/submit/paste', json, requireAnonCsrf, async (req: WebRequest, res) => {
    if ((await readSettings(deps.db)).openPublishing === 'off') throw new NotFoundError('open publishing');
    res.json({ html: sanitizeBody(pastedHtml(req.body, deps.maxBodyBytes)) });
  });

  for (const items of deps.items) {
    const form = ITEM_FORMS.find((f) => f.kind === items.kind.name)!;
    router.post(`/editor/${items.kind.plural}/:id/autosave`, urlencoded, editors, async (req: WebRequest, res) => {
      const id = parseId(req.params.id);
      // An autosave keeps the words, not the address: a slug half typed ("harbour-") must not fail it.
      const { slug: _slug, ...body } = req.body as Record<string, unknown>;
      const input = form.parse(body, 'update', deps.siteTimeZone);
      res.json(await items.autosave(id, input, req.session!.user.id));
    });
  }

  router.use(['/editor/media.json', '/editor/paste', '/submit/paste', '/editor/:plural/:id/autosave'], jsonErrors);
  return router;
}

/** These routes answer errors as JSON ({error, field}) for the script, never an HTML page. */
function jsonErrors(error: unknown, _req: WebRequest, res: Response, next: NextFunction): void {
  if (!(error instanceof HyperstaticError) || error.status >= 500) return next(error);
  const field = (error as { field?: string }).field;
  res.status(error.status).json({ error: error.message, code: error.code, ...(field ? { field } : {}) });
}

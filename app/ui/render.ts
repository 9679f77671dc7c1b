import type { Response } from 'express';
import type { Views } from './views';

/** Renders a template with the request's locals (user, csrf token, flash) and sends it. */
export function renderPage(
  views: Views,
  res: Response,
  template: string,
  context: Record<string, unknown> = {},
  status = 200,
): void {
  const html = views.render(template, { ...res.locals, ...context });
  res.status(status).type('html').send(html);
}

/** A one-line notice carried across a redirect in the query string (no server state, escaped on display). */
export function withNotice(url: string, notice: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice.slice(0, 200))}`;
}

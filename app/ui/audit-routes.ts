// /editor/audit: the audit log for admins, newest first, filtered by actor,
// action and date, 50 rows a page. A bad filter comes back to the page with
// the field named, not a dead end.
import { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { AUDIT_ACTIONS, AuditFilter, parseAuditFilter } from '../audit/audit-log';
import type { EditorDeps } from './editor-deps';
import { renderPage } from './render';
import { requireRole, WebRequest } from './web-session';

const PAGE_SIZE = 50;

export function auditRoutes(deps: EditorDeps): Router {
  const { db, views, audit } = deps;
  const router = Router();

  router.get('/editor/audit', requireRole('admin'), async (req: WebRequest, res) => {
    const raw = req.query as Record<string, unknown>;
    const text = (name: string) => (typeof raw[name] === 'string' ? (raw[name] as string).slice(0, 64) : '');
    const values = { actor: text('actor'), action: text('action'), from: text('from'), to: text('to') };
    const users = (await db('users').orderBy('name').select('name')).map((u) => u.name as string);
    const page = { users, actions: AUDIT_ACTIONS, values, nav: 'audit' };
    let filter: AuditFilter & { page: number };
    try {
      filter = parseAuditFilter(raw, PAGE_SIZE);
    } catch (error) {
      if (!(error instanceof HyperstaticError)) throw error;
      const errorField = (error as { field?: string }).field;
      const empty = { entries: [], total: 0, page: 1, pages: 1, query: '' };
      return renderPage(views, res, 'audit.njk', { ...page, ...empty, error: error.message, errorField }, error.status);
    }
    const { rows, total } = await audit.list(filter);
    const query = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== '')).toString();
    renderPage(views, res, 'audit.njk', {
      ...page,
      entries: rows,
      total,
      page: filter.page,
      pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
      query,
    });
  });

  return router;
}

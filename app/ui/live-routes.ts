// The editor's page for a live article's entries (app/live/live-entries.ts):
// add, edit and delete, each a save through the publish path like the JSON
// API's. A form that fails validation is shown again with its text and a 4xx.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { serviceOf } from '../content/item-kinds';
import { parseId } from '../http/request-params';
import { addEntry, deleteEntry, editEntry, listEntries, parseEntryInput } from '../live/live-entries';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function liveRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });
  const editors = requireRole('admin', 'editor');

  async function show(
    res: express.Response,
    id: number,
    state: { notice?: unknown; error?: HyperstaticError; draft?: string; editing?: number } = {},
  ) {
    const article = await serviceOf(deps.items, 'article').get(id);
    const entries = (await listEntries(db, id)).map((e) => ({
      ...e,
      postedMs: Date.parse(e.postedAt),
      updatedMs: Date.parse(e.updatedAt),
    }));
    const errorField = (state.error as { field?: string } | undefined)?.field;
    renderPage(
      views,
      res,
      'live-entries.njk',
      { article, entries, nav: 'articles', notice: state.notice, error: state.error?.message, errorField, ...state },
      state.error?.status ?? 200,
    );
  }

  /** Runs an entry write; a 4xx shows the page again with the posted text, anything else is thrown. */
  async function write(
    req: WebRequest,
    res: express.Response,
    id: number,
    work: (body: Record<string, unknown>) => Promise<string>,
    editing?: number,
  ) {
    const body = req.body as Record<string, unknown>;
    try {
      const notice = await work(body);
      deps.onOwed();
      res.redirect(303, withNotice(`/editor/articles/${id}/live`, notice));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      await show(res, id, { error, draft: typeof body.body === 'string' ? body.body : '', editing });
    }
  }

  router.get('/editor/articles/:id/live', requireRole(), async (req: WebRequest, res) => {
    await show(res, parseId(req.params.id), { notice: req.query.notice });
  });
  router.post('/editor/articles/:id/live', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    await write(req, res, id, async (body) => {
      const input = parseEntryInput({ body: body.body }, 'create');
      const entry = await db.transaction((trx) => addEntry(trx, id, input, deps.now()));
      return `entry ${entry.seq} added`;
    });
  });
  router.post('/editor/articles/:id/live/:entryId', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const entryId = parseId(req.params.entryId, 'entryId', 'the entry id');
    await write(
      req,
      res,
      id,
      async (body) => {
        if (body.intent === 'delete') {
          await db.transaction((trx) => deleteEntry(trx, id, entryId, deps.now()));
          return 'entry deleted';
        }
        const input = parseEntryInput({ body: body.body }, 'update');
        await db.transaction((trx) => editEntry(trx, id, entryId, input, deps.now()));
        return 'entry saved';
      },
      entryId,
    );
  });
  return router;
}

// The edit page's desk panels, for every kind: correction, update and desk
// notes (app/content/item-notes.ts), and shareable preview links
// (app/preview/preview-links.ts). A new link's address is shown once, on the
// page that answers its creation; the list afterwards shows only when each
// link was made, when it expires and whether it was revoked, because only
// the token's keyed hash is kept.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { NOTE_KINDS, notesOf, parseNoteInput } from '../content/item-notes';
import type { EditorialService } from '../content/item-revisions';
import { addNote } from '../content/note-writes';
import { parseId } from '../http/request-params';
import { parseExpiresInHours, PREVIEW_HOURS } from '../preview/preview-links';
import type { EditorDeps } from './editor-deps';
import type { FormValues, ItemForm } from './item-forms';
import { withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

/** Shows the item's edit page (app/ui/item-pages.ts) with a refusal, a notice or more for the template. */
export type ShowEditPage = (
  res: express.Response,
  state: {
    id: number;
    values: FormValues;
    error?: HyperstaticError;
    status?: number;
    notice?: unknown;
    extra?: Record<string, unknown>;
  },
) => Promise<void>;

/** What the edit page shows in its desk panels. */
export async function deskContext(deps: EditorDeps, topic: 'article' | 'event', id: number) {
  const [notes, previewLinks] = await Promise.all([notesOf(deps.db, topic, id), deps.previews.list(topic, id)]);
  return { notes, previewLinks, noteKinds: NOTE_KINDS, previewHours: PREVIEW_HOURS };
}

export function itemDeskPages(deps: EditorDeps, items: EditorialService, form: ItemForm, show: ShowEditPage): Router {
  const { name, plural } = items.kind;
  const router = Router();
  const urlencoded = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });
  const editors = requireRole('admin', 'editor');
  const actorOf = (req: WebRequest) => ({ id: req.session!.user.id, name: req.session!.user.name });

  /** The edit page again with the refusal and what was posted: 4xx, nothing written. */
  async function refused(res: express.Response, id: number, error: unknown, extra: Record<string, unknown>) {
    if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
    const item = await items.get(id);
    await show(res, { id, values: form.valuesOf(item, deps.siteTimeZone), error, status: error.status, extra });
  }

  router.post(`/editor/${plural}/:id/notes`, editors, urlencoded, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const body = req.body as Record<string, unknown>;
    const posted = { kind: body.kind, text: body.text };
    try {
      const note = await addNote(items, id, parseNoteInput(posted, deps.now()), req.session!.user.id, deps.now);
      res.redirect(303, withNotice(`/editor/${plural}/${id}`, `${note.kind} note added`));
    } catch (error) {
      await refused(res, id, error, { noteValues: posted });
    }
  });

  router.post(`/editor/${plural}/:id/previews`, editors, urlencoded, requireCsrf, async (req: WebRequest, res) => {
    const id = parseId(req.params.id);
    const item = await items.get(id);
    try {
      const hours = parseExpiresInHours((req.body as Record<string, unknown>).expiresInHours, 'form');
      const created = await deps.previews.create(name, item, hours, actorOf(req));
      const url = `${req.protocol}://${req.get('host')}${created.path}`;
      const values = form.valuesOf(await items.get(id), deps.siteTimeZone);
      await show(res, { id, values, notice: 'preview link created', extra: { createdPreview: { ...created, url } } });
    } catch (error) {
      await refused(res, id, error, {});
    }
  });

  router.post(
    `/editor/${plural}/:id/previews/:link/revoke`,
    editors,
    urlencoded,
    requireCsrf,
    async (req: WebRequest, res) => {
      const id = parseId(req.params.id);
      const link = parseId(req.params.link, 'link');
      await items.get(id);
      await deps.previews.revoke(name, id, link, actorOf(req));
      res.redirect(303, withNotice(`/editor/${plural}/${id}`, `preview link ${link} revoked`));
    },
  );
  return router;
}

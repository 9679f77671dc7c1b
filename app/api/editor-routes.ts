// JSON API for the editor's operations beyond item create/update
// (app/api/item-routes.ts): users and tokens, revisions, propagation, notes,
// preview links, media,
// moderation, settings, sections, tags and anonymous submissions. Every
// write honours Idempotency-Key (app/api/editor-writes.ts).
import express, { Router } from 'express';
import type { EditorServices } from '../editor-services';
import { editorWrites } from './editor-writes';
import { itemHistoryApiRoutes } from './item-history-routes';
import { liveApiRoutes } from './live-routes';
import { itemNotesApiRoutes } from './item-notes-routes';
import { previewLinksApiRoutes } from './preview-links-routes';
import { mediaApiRoutes } from './media-routes';
import { moderationApiRoutes } from './moderation-routes';
import { taxonomyApiRoutes } from './taxonomy-routes';
import { usersApiRoutes } from './users-routes';

export function editorApiRoutes(deps: EditorServices): Router {
  const writes = editorWrites(deps.db);
  const json = express.json({ limit: deps.maxBodyBytes, strict: true });
  const router = Router();
  router.use(usersApiRoutes(deps, writes, json));
  router.use(itemHistoryApiRoutes(deps, writes));
  router.use(itemNotesApiRoutes(deps, writes, json));
  router.use(previewLinksApiRoutes(deps, json));
  router.use(mediaApiRoutes(deps));
  router.use(moderationApiRoutes(deps, writes, json));
  router.use(taxonomyApiRoutes(deps, writes, json));
  router.use(liveApiRoutes(deps, writes, json));
  return router;
}

// `hyperstatic db reapply NODE`: saves the acknowledged changes that exist
// only on a returned node again on the primary, as ordinary new saves: an
// article or event goes through the item service (a new revision, the outbox
// row, so the producer renders it and mirrors get it), a media file gets its
// row and journal entries, a setting its value. Each re-applied item is
// marked (the revision's reason, or the media row / setting value itself), so
// a second run finds it done and saves nothing twice.
import type { Database } from '../../common/db/database';
import { ITEM_KINDS } from '../content/item-kinds';
import { createItemService, readItem } from '../content/item-service';
import { snapshotOf, withRevisions } from '../content/item-revisions';
import type { ItemInput } from '../content/item-input';
import type { ItemKind } from '../content/item-kind';
import { journalMedia, type MediaEntry } from '../media/media-journal';
import { findDivergence, type DivergenceReport } from './diverged';
import { reapplyMarker, type DivergedItem } from './divergence';
import type { ClusterAccess } from './promote';

export interface ReapplyResult {
  report: DivergenceReport;
  /** What was saved on the primary (dry run: what would be), with the primary's id and path for items. */
  applied: { item: DivergedItem; id?: number; url?: string }[];
  /** Listed changes that are not re-applied, and why. */
  skipped: { item: DivergedItem; why: string }[];
  executed: boolean;
}

function whyNot(item: DivergedItem): string | undefined {
  if (item.onPrimary) return 'already on the primary (the client retried it there)';
  if (item.reapplied) return 'already re-applied';
  if (!item.acknowledged) return 'never acknowledged to a client';
  if (!item.reapplicable) return `cannot be re-applied automatically (${item.change}); redo it by hand`;
  return undefined;
}

const ORDER: Record<DivergedItem['kind'], number> = { media: 0, setting: 1, article: 2, event: 2, other: 3 };

/**
 * Re-applies on `primary` (the writable primary, through the app's account)
 * what NODE holds that the primary lacks and a client may have been told
 * succeeded. `nodeDb` reads the node's copy (the operator's admin account).
 */
export async function reapply(
  access: ClusterAccess,
  nodeName: string,
  dbs: { primary: Database; node: Database },
  options: { dryRun?: boolean; log?: (line: string) => void; now?: () => number } = {},
): Promise<ReapplyResult> {
  const log = options.log ?? (() => undefined);
  const report = await findDivergence(access, nodeName);
  const result: ReapplyResult = { report, applied: [], skipped: [], executed: !options.dryRun };
  for (const item of [...report.items].sort((a, b) => ORDER[a.kind] - ORDER[b.kind])) {
    const why = whyNot(item);
    if (why) {
      result.skipped.push({ item, why });
      continue;
    }
    if (options.dryRun) {
      result.applied.push({ item });
      continue;
    }
    const saved = await reapplyOne(nodeName, item, dbs, options.now ?? Date.now);
    if (typeof saved === 'string') result.skipped.push({ item, why: saved });
    else {
      result.applied.push({ item, ...saved });
      log(`re-applied ${item.kind} ${item.id}${saved.id !== undefined ? ` as ${item.kind} ${saved.id}` : ''}`);
    }
  }
  return result;
}

/** Saves one item again; a string says why it could not be. */
async function reapplyOne(
  nodeName: string,
  item: DivergedItem,
  { primary, node }: { primary: Database; node: Database },
  now: () => number,
): Promise<{ id?: number; url?: string } | string> {
  if (item.kind === 'media') {
    const row = await node('media').where({ sha256: item.id }).first();
    if (!row) return 'no longer on the node';
    await primary('media').insert(row).onConflict('sha256').ignore();
    // The original and its renditions: every path named by its hash (app/media/renditions.ts).
    const pages = await node('pages').where('path', 'like', `/media/${row.sha256}%`).where({ op: 'put' });
    const entries: MediaEntry[] = pages.map((p) => ({
      path: String(p.path),
      sha256: String(p.sha256),
      size: Number(p.size),
      contentType: String(p.content_type),
      lastModified: Number(p.last_modified),
    }));
    if (entries.length > 0) await journalMedia(primary, entries, now());
    return { url: String(row.path) };
  }
  if (item.kind === 'setting') {
    const row = await node('settings').where({ name: item.id }).first();
    if (!row) await primary('settings').where({ name: item.id }).delete();
    else await primary('settings').insert({ name: item.id, value: row.value }).onConflict('name').merge();
    return {};
  }
  const kind = ITEM_KINDS.find((k) => k.name === item.kind) as ItemKind | undefined;
  if (!kind) return `unknown kind ${item.kind}`;
  return reapplyItem(nodeName, kind, item, { primary, node });
}

async function reapplyItem(
  nodeName: string,
  kind: ItemKind,
  item: DivergedItem,
  { primary, node }: { primary: Database; node: Database },
): Promise<{ id: number; url: string } | string> {
  const id = Number(item.id);
  const copy = await readItem(kind, node, id).catch(() => undefined);
  if (!copy) return 'no longer on the node';
  const snapshot = snapshotOf(kind, copy);
  const own = await kind.restoreFields(primary, snapshot);
  if (!own) return 'its content cannot be read back';
  const lead = snapshot.leadImage
    ? await primary('media').where({ sha256: snapshot.leadImage, kind: 'image' }).first('sha256')
    : undefined;
  const input = {
    title: snapshot.title,
    summary: snapshot.summary,
    body: snapshot.body,
    ...own,
    tags: snapshot.tags,
    status: snapshot.status,
    featured: snapshot.featured,
    leadImage: lead ? snapshot.leadImage : null,
    leadImageAlt: lead ? (snapshot.leadImageAlt ?? '') : '',
  } as ItemInput;
  // The author of the lost change, if that account exists on the primary too (users replicate, so it does unless it was created in the lost tail).
  const last = await node('revisions')
    .where({ item_type: kind.name, item_id: id })
    .orderBy('id', 'desc')
    .first('user_id');
  const userId = last?.user_id == null ? null : Number(last.user_id);
  const actorId = userId !== null && (await primary('users').where({ id: userId }).first('id')) ? userId : null;
  const service = withRevisions(createItemService(kind, { db: primary }), primary);
  const reason = reapplyMarker(nodeName, item);
  // An item created in the lost tail has, on the primary, an id someone else may now use: it is created anew.
  const existing = item.created ? undefined : await primary(kind.plural).where({ id }).first('id');
  if (existing) return service.update(id, input, { actor: { userId: actorId, action: 'edit', reason } });
  const slugFree = !(await primary(kind.plural).where({ slug: copy.slug }).first('id'));
  return service.create({ ...input, ...(slugFree ? { slug: copy.slug } : {}) }, actorId, {
    actor: { userId: actorId, action: 'create', reason },
  });
}

// The /mirrors page (docs/trust.md, "The mirror list"): the places where the
// site can be read, rendered from the `mirror_list` table like any other
// page and journaled, so every mirror serves it. Every page's footer links
// it, so a render group writes it when it is not live yet, and the full
// rebuild renders it like every page; `hyperstatic mirrors` renders it with
// each change, beside the signed /mirrors.json, which only it writes (where
// the site key is: bin/commands/mirrors-publish.ts).
import type { Knex } from 'knex';
import { MIRRORS_JSON_PATH, MIRRORS_PATH } from '../common/site-paths';
import type { MirrorEntry, MirrorKind } from '../common/trust/mirror-list';
import type { RenderedPage } from './change-journal';
import { HTML } from './page-renderer';
import type { Renderer } from './renderer';

export const MIRROR_LIST_JSON = 'application/json; charset=utf-8';

/** The listed places, in the order they were added. */
export async function loadMirrorList(db: Knex | Knex.Transaction): Promise<MirrorEntry[]> {
  const rows = await db('mirror_list').orderBy('id').select('url', 'kind', 'region', 'note');
  return rows.map((r) => ({ url: String(r.url), kind: r.kind as MirrorKind, region: r.region, note: r.note }));
}

/** /mirrors from the table; `signedAt` is when the live /mirrors.json was signed (undefined: none yet, so no link). */
export function renderMirrorsPage(
  renderer: Renderer,
  mirrors: MirrorEntry[],
  signedAt: number | undefined,
  now: number,
): RenderedPage {
  const body = renderer.render('mirrors.njk', {
    mirrors,
    signed: signedAt,
    jsonPath: MIRRORS_JSON_PATH,
  });
  return {
    path: MIRRORS_PATH,
    kind: 'index',
    op: 'put',
    body: Buffer.from(body),
    contentType: HTML,
    lastModified: now,
  };
}

/** The page as the database holds it now, for a render group or a rebuild in `db`'s transaction. */
export async function mirrorsPage(db: Knex | Knex.Transaction, renderer: Renderer, now: number): Promise<RenderedPage> {
  return renderMirrorsPage(renderer, await loadMirrorList(db), await signedAtOf(db), now);
}

/** The page when it is not live yet (one lookup under the journal lock); otherwise nothing to write. */
export async function missingMirrorsPage(
  db: Knex | Knex.Transaction,
  renderer: Renderer,
  now: number,
): Promise<RenderedPage[]> {
  const live = await db('pages').where({ path: MIRRORS_PATH }).whereIn('op', ['put', 'gone']).first('path');
  return live ? [] : [await mirrorsPage(db, renderer, now)];
}

/** When the live /mirrors.json was signed; undefined when there is none. */
async function signedAtOf(db: Knex | Knex.Transaction): Promise<number | undefined> {
  const row = await db('pages').where({ path: MIRRORS_JSON_PATH, op: 'put' }).first('last_modified');
  return row ? Number(row.last_modified) : undefined;
}

/** The signed list as a page: its lastModified is the signing time, which the page above shows. */
export function mirrorListJsonPage(body: Buffer, issued: number): RenderedPage {
  return {
    path: MIRRORS_JSON_PATH,
    kind: 'index',
    op: 'put',
    body,
    contentType: MIRROR_LIST_JSON,
    lastModified: issued,
  };
}

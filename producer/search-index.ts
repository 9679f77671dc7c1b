// The reader search index (docs/design.md, "Reader search"), kept up to date
// by every journal batch that changes an item: the item's words go into
// search_postings, each changed word's document frequency and best postings
// into search_terms, and only the term shards and metadata files those words
// and items live in are rendered again, from the database, with the root
// file that names the current shards. Runs under the journal lock, so the
// files of one batch are one consistent index and the batch that hides an
// item also takes it out of the index. Memory is bounded by the batch: no
// step reads more than the touched shards.
import type { Knex } from 'knex';
import { sha256Hex } from '../common/hash';
import {
  docKey,
  docsFileOf,
  docsFilePath,
  SEARCH_ROOT_PATH,
  shardOf,
  termScores,
  termShardPath,
  TERM_SHARDS,
  TOP_POSTINGS,
} from '../common/search-index-format';
import { articlePath, eventPath } from '../common/site-paths';
import { insertRows } from './bulk-insert';
import { chunks, type RenderedPage } from './change-journal';
import type { ArticleRow, EventRow } from './item-rows';
import type { StoredState } from './item-state';

const JSON_TYPE = 'application/json; charset=utf-8';

/** An item as the index sees it; `shown` is absent when it is not visible (a draft, embargoed, hidden). */
export interface SearchDoc {
  doc: number;
  shown?: { url: string; title: string; date: number | null; summary: string; text: string };
}

export function searchDocOf(state: StoredState, row: ArticleRow | EventRow): SearchDoc {
  const doc = docKey(state.topic, state.id);
  if (!state.visible) return { doc };
  const event = state.topic === 'event' ? (row as EventRow) : undefined;
  return {
    doc,
    shown: {
      url: event ? eventPath(row.slug) : articlePath(row.slug),
      title: row.title,
      date: event ? event.startsAt : (row as ArticleRow).publishedAt,
      summary: row.summary,
      text: [row.summary, event?.location ?? '', htmlText(row.body)].join(' '),
    },
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The words of a sanitized body: tags dropped, character references decoded. */
export function htmlText(html: string): string {
  return html.replace(/<[^>]*>/g, ' ').replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
  });
}

interface Posting {
  before?: number;
  after?: number;
}

/**
 * Updates the index for `docs` (each at most once) in `trx`, under the
 * journal lock; returns the files to journal. `files: false` (the full
 * rebuild, whose items touch every shard in every batch) updates the tables
 * only and leaves the files to renderSearchFiles, once, at its end.
 */
export async function indexDocs(
  trx: Knex.Transaction,
  docs: SearchDoc[],
  now: number,
  options: { files: boolean } = { files: true },
): Promise<RenderedPage[]> {
  if (docs.length === 0) return [];
  let count = Number((await trx('search_stats').where({ id: 1 }).first('docs')).docs);
  const previous = await previousDocs(
    trx,
    docs.map((d) => d.doc),
  );
  const changes = new Map<string, Map<number, Posting>>();
  const change = (term: string, doc: number, posting: Posting) => {
    if (!changes.has(term)) changes.set(term, new Map());
    changes.get(term)!.set(doc, { ...changes.get(term)!.get(doc), ...posting });
  };
  const files = new Set<number>();
  const docRows: Record<string, unknown>[] = [];
  const removedDocs: number[] = [];
  for (const d of docs) {
    const before = previous.get(d.doc);
    const after = d.shown ? termScores(d.shown.title, d.shown.text) : undefined;
    if (before) {
      count -= 1;
      for (const [term, score] of Object.entries(before.terms)) change(term, d.doc, { before: score });
    }
    if (after && d.shown) {
      count += 1;
      for (const [term, score] of after.scores) change(term, d.doc, { after: score });
      docRows.push({
        doc: d.doc,
        file: docsFileOf(d.doc),
        length: after.length,
        entry: docEntry(d.shown),
        terms: JSON.stringify(Object.fromEntries(after.scores)),
      });
    } else if (before) removedDocs.push(d.doc);
    if (before || after) files.add(docsFileOf(d.doc));
  }
  for (const byDoc of changes.values()) for (const [doc, p] of byDoc) if (p.before === p.after) byDoc.delete(doc);
  for (const [term, byDoc] of changes) if (byDoc.size === 0) changes.delete(term);
  await writePostings(trx, changes);
  for (const chunk of chunks(removedDocs, 500)) await trx('search_docs').whereIn('doc', chunk).delete();
  await insertRows(trx, 'search_docs', docRows, { key: ['doc'], update: ['file', 'length', 'entry', 'terms'] });
  await trx('search_stats').where({ id: 1 }).update({ docs: count });
  await updateTerms(trx, changes);
  if (!options.files) return [];
  return renderSearchFiles(trx, { shards: [...new Set([...changes.keys()].map(shardOf))], files: [...files] }, now);
}

/** The given term shards and metadata files rendered from the tables, and the root when any changed. */
export async function renderSearchFiles(
  trx: Knex.Transaction,
  which: { shards: number[]; files: number[] },
  now: number,
): Promise<RenderedPage[]> {
  const shards = await renderShards(trx, which.shards, now);
  const docFiles = await renderDocFiles(trx, which.files, now);
  if (shards.length === 0 && docFiles.length === 0) return [];
  const count = Number((await trx('search_stats').where({ id: 1 }).first('docs')).docs);
  return [...shards, ...docFiles, await renderRoot(trx, count, now)];
}

/** Every metadata file that has items or is live (to be deleted when it has none left), in order. */
export async function allDocFiles(db: Knex | Knex.Transaction): Promise<number[]> {
  const files = new Set((await db('search_docs').distinct('file')).map((r) => Number(r.file)));
  for (const r of await db('pages')
    .where('path', 'like', `${docsFilePath(0).replace(/0\.json$/, '')}%`)
    .select('path'))
    files.add(Number(/(\d+)\.json$/.exec(String(r.path))?.[1]));
  return [...files].filter((f) => Number.isInteger(f)).sort((a, b) => a - b);
}

async function previousDocs(
  trx: Knex.Transaction,
  docs: number[],
): Promise<Map<number, { terms: Record<string, number> }>> {
  const out = new Map<number, { terms: Record<string, number> }>();
  for (const chunk of chunks(docs, 500))
    for (const r of await trx('search_docs').whereIn('doc', chunk).select('doc', 'terms'))
      out.set(Number(r.doc), { terms: JSON.parse(String(r.terms)) as Record<string, number> });
  return out;
}

async function writePostings(trx: Knex.Transaction, changes: Map<string, Map<number, Posting>>): Promise<void> {
  const gone: { term: string; doc: number }[] = [];
  const rows: { term: string; doc: number; score: number }[] = [];
  for (const [term, byDoc] of changes)
    for (const [doc, p] of byDoc) {
      if (p.after === undefined) gone.push({ term, doc });
      else rows.push({ term, doc, score: p.after });
    }
  const byDoc = new Map<number, string[]>();
  for (const g of gone) byDoc.set(g.doc, [...(byDoc.get(g.doc) ?? []), g.term]);
  for (const [doc, terms] of byDoc)
    for (const chunk of chunks(terms, 500)) await trx('search_postings').where({ doc }).whereIn('term', chunk).delete();
  await insertRows(trx, 'search_postings', rows, { key: ['term', 'doc'], update: ['score'] });
}

/** Each changed word's document frequency and best postings ([doc, score, doc, score, …], best first). */
async function updateTerms(trx: Knex.Transaction, changes: Map<string, Map<number, Posting>>): Promise<void> {
  const rows: { term: string; shard: number; df: number; top: string }[] = [];
  const emptied: string[] = [];
  for (const chunk of chunks([...changes.keys()], 500)) {
    const stored = new Map(
      (await trx('search_terms').whereIn('term', chunk).select('term', 'df', 'top')).map((r) => [
        String(r.term),
        { df: Number(r.df), top: JSON.parse(String(r.top)) as number[] },
      ]),
    );
    for (const term of chunk) {
      const byDoc = changes.get(term)!;
      const was = stored.get(term) ?? { df: 0, top: [] };
      let df = was.df;
      for (const p of byDoc.values()) df += (p.after !== undefined ? 1 : 0) - (p.before !== undefined ? 1 : 0);
      if (df <= 0) {
        emptied.push(term);
        continue;
      }
      const postings: [number, number][] = [];
      for (let i = 0; i < was.top.length; i += 2)
        if (!byDoc.has(was.top[i])) postings.push([was.top[i], was.top[i + 1]]);
      for (const [doc, p] of byDoc) if (p.after !== undefined) postings.push([doc, p.after]);
      postings.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      // A posting left the best ones and others wait behind them: read the best again.
      const best =
        postings.length < TOP_POSTINGS && df > postings.length
          ? (
              await trx('search_postings')
                .where({ term })
                .orderBy([
                  { column: 'score', order: 'desc' },
                  { column: 'doc', order: 'asc' },
                ])
                .limit(TOP_POSTINGS)
                .select('doc', 'score')
            ).map((r): [number, number] => [Number(r.doc), Number(r.score)])
          : postings.slice(0, TOP_POSTINGS);
      rows.push({ term, shard: shardOf(term), df, top: JSON.stringify(best.flat()) });
    }
  }
  for (const chunk of chunks(emptied, 500)) await trx('search_terms').whereIn('term', chunk).delete();
  await insertRows(trx, 'search_terms', rows, { key: ['term'], update: ['df', 'top'] });
}

/** Term shard bodies: `{"term":[df, doc, score, …]}`, words in code-unit order, so equal content is equal bytes. */
export function termShardBody(terms: { term: string; df: number; top: string }[]): Buffer {
  const sorted = [...terms].sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
  const parts = sorted.map(
    (t) => `${JSON.stringify(t.term)}:[${t.df}${t.top.length > 2 ? `,${t.top.slice(1, -1)}` : ''}]`,
  );
  return Buffer.from(`{${parts.join(',')}}`);
}

/** The shards whose words changed, each under a new content-hashed path; the file it replaces is deleted. */
async function renderShards(trx: Knex.Transaction, shards: number[], now: number): Promise<RenderedPage[]> {
  const pages: RenderedPage[] = [];
  for (const chunk of chunks(
    shards.sort((a, b) => a - b),
    16,
  )) {
    const terms = new Map<number, { term: string; df: number; top: string }[]>();
    for (const r of await trx('search_terms').whereIn('shard', chunk).select('shard', 'term', 'df', 'top'))
      terms.set(Number(r.shard), [
        ...(terms.get(Number(r.shard)) ?? []),
        { term: String(r.term), df: Number(r.df), top: String(r.top) },
      ]);
    const live = new Map(
      (await trx('search_shards').whereIn('shard', chunk).select('shard', 'path')).map((r) => [
        Number(r.shard),
        String(r.path),
      ]),
    );
    for (const shard of chunk) {
      const old = live.get(shard);
      const rows = terms.get(shard) ?? [];
      let path: string | undefined;
      if (rows.length > 0) {
        const body = termShardBody(rows);
        const hash = sha256Hex(body).slice(0, 12);
        path = termShardPath(shard, hash);
        if (path === old) continue;
        pages.push({ path, kind: 'media', op: 'put', body, contentType: JSON_TYPE, lastModified: now });
        await insertRows(trx, 'search_shards', [{ shard, path, hash }], { key: ['shard'], update: ['path', 'hash'] });
      } else await trx('search_shards').where({ shard }).delete();
      // The file the previous root named: a reader holding that root reads the new one and asks again.
      if (old && old !== path)
        pages.push({ path: old, kind: 'media', op: 'delete', contentType: '', lastModified: now });
    }
  }
  return pages;
}

/** A metadata file: `{"doc":[url, title, date, summary]}`, `entry` being search_docs.entry (docEntry). */
export function docsFileBody(rows: { doc: number; entry: string }[]): Buffer {
  return Buffer.from(`{${rows.map((r) => `"${r.doc}":${r.entry}`).join(',')}}`);
}

/** search_docs.entry: what a result shows. */
export function docEntry(shown: NonNullable<SearchDoc['shown']>): string {
  const { url, title, date, summary } = shown;
  return JSON.stringify([url, title, date === null ? null : new Date(date).toISOString(), summary]);
}

/** Metadata files for the visible items of each file. */
async function renderDocFiles(trx: Knex.Transaction, files: number[], now: number): Promise<RenderedPage[]> {
  const pages: RenderedPage[] = [];
  for (const file of files.sort((a, b) => a - b)) {
    const rows = await trx('search_docs').where({ file }).orderBy('doc').select('doc', 'entry');
    const path = docsFilePath(file);
    if (rows.length === 0) {
      pages.push({ path, kind: 'index', op: 'delete', contentType: '', lastModified: now });
      continue;
    }
    const body = docsFileBody(rows.map((r) => ({ doc: Number(r.doc), entry: String(r.entry) })));
    pages.push({ path, kind: 'index', op: 'put', body, contentType: JSON_TYPE, lastModified: now });
  }
  return pages;
}

/** The root: how many items are indexed (for IDF) and the hash of every term shard ('' for an empty one). */
export function rootBody(docs: number, hashes: Map<number, string>): Buffer {
  const shards = Array.from({ length: TERM_SHARDS }, (_, i) => hashes.get(i) ?? '');
  return Buffer.from(JSON.stringify({ v: 1, docs, shards }));
}

async function renderRoot(trx: Knex.Transaction, docs: number, now: number): Promise<RenderedPage> {
  const hashes = new Map(
    (await trx('search_shards').select('shard', 'hash')).map((r) => [Number(r.shard), String(r.hash)]),
  );
  return {
    path: SEARCH_ROOT_PATH,
    kind: 'feed',
    op: 'put',
    body: rootBody(docs, hashes),
    contentType: JSON_TYPE,
    lastModified: now,
  };
}

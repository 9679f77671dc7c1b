// `GET /manifest`: every live page (path → hash and metadata) with the
// journal cursor it corresponds to, for bootstrapping and verifying mirrors
// (wire format in common/feed-format.ts). Streamed in keyset pages from one
// consistent snapshot, so memory is bounded however large the site is.
import type { KeyObject } from 'node:crypto';
import type { Response } from 'express';
import type { Knex } from 'knex';
import { variantsOfRow } from '../../common/content-coding';
import { dialectOf, type Database } from '../../common/db/database';
import {
  manifestHasher,
  manifestPageLine,
  signManifestEnd,
  type ManifestHead,
  type Op,
  type PageKind,
} from '../../common/feed-format';
import type { TrustBundle } from '../../common/trust/statements';

const PAGE_ROWS = 2000;

/** The whole manifest as lines, each ending in a newline (the last one signed). Bounded memory: one keyset page at a time. */
export async function* manifestLines(db: Database, signingKey: KeyObject, trust?: TrustBundle): AsyncGenerator<string> {
  const hasher = manifestHasher();
  // InnoDB REPEATABLE READ: cluster_state and every pages read below see the same snapshot,
  // so the cursor names exactly the journal position the page list reflects.
  // SQLite (embedded) has one connection: holding it for a long stream would starve the blob
  // requests of the very mirror reading the manifest. There, each keyset page is its own query and
  // pages changed after the cursor are left out (the feed after the cursor brings them).
  const mysql = dialectOf(db) === 'mysql';
  const trx: Knex.Transaction | Database = mysql ? await db.transaction({ isolationLevel: 'repeatable read' }) : db;
  try {
    const state = await trx('cluster_state').where({ id: 1 }).first('epoch', 'journal_head');
    const atCursor = (q: Knex.QueryBuilder) => (mysql ? q : q.where('seq', '<=', Number(state.journal_head)));
    const total = await atCursor(trx('pages').whereNot('op', 'delete')).count({ n: '*' }).first();
    const head: ManifestHead = {
      type: 'head',
      epoch: Number(state.epoch),
      cursor: Number(state.journal_head),
      pages: Number(total?.n ?? 0),
      ...(trust ? { trust } : {}),
    };
    const first = `${JSON.stringify(head)}\n`;
    hasher.update(first);
    yield first;
    let count = 0;
    let lastPath: string | undefined;
    for (;;) {
      const query = atCursor(trx('pages').whereNot('op', 'delete')).orderBy('path').limit(PAGE_ROWS);
      if (lastPath !== undefined) query.where('path', '>', lastPath);
      const rows = (await query) as Record<string, unknown>[];
      if (rows.length === 0) break;
      let chunk = '';
      for (const row of rows) {
        const variants = variantsOfRow(row);
        chunk += manifestPageLine({
          path: row.path as string,
          op: row.op as Extract<Op, 'put' | 'gone'>,
          sha256: row.sha256 as string,
          size: Number(row.size),
          contentType: row.content_type as string,
          lastModified: Number(row.last_modified),
          kind: row.kind as PageKind,
          seq: Number(row.seq),
          ...(variants ? { variants } : {}),
        });
      }
      count += rows.length;
      lastPath = rows[rows.length - 1].path as string;
      hasher.update(chunk);
      yield chunk;
      if (rows.length < PAGE_ROWS) break;
    }
    const end = { type: 'end', count, ...signManifestEnd(hasher.digest(), signingKey, head.epoch) };
    yield `${JSON.stringify(end)}\n`;
  } finally {
    if (mysql) await (trx as Knex.Transaction).commit().catch(() => undefined);
  }
}

export async function sendManifest(
  db: Database,
  signingKey: KeyObject,
  trust: TrustBundle,
  res: Response,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  for await (const chunk of manifestLines(db, signingKey, trust)) {
    if (res.destroyed) return;
    // Back-pressure: a slow mirror holds one page of rows, not the whole site.
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

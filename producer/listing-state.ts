// The listing index the index pages are read from (index_entries, with the
// per-month counts in index_buckets): replaced for a group of items at once,
// a few statements for the whole group rather than a few per item.
import type { Knex } from 'knex';
import { insertRows } from './bulk-insert';
import { chunks } from './change-journal';
import { entriesOf, StoredState } from './item-state';
import { adjustBuckets } from './site-queries';

/** Replaces the items' rows in the listing index and adjusts the count of every bucket they left or entered. */
export async function saveListingStates(trx: Knex.Transaction, states: StoredState[]): Promise<void> {
  const id = (m: { topic: string; item_id: number; index_key: string; bucket: string }) =>
    `${m.topic}\u0000${m.item_id}\u0000${m.index_key}\u0000${m.bucket}`;
  const old = new Map<string, { index_key: string; bucket: string }>();
  for (const topic of ['article', 'event'] as const) {
    const ids = states.filter((s) => s.topic === topic).map((s) => s.id);
    for (const chunk of chunks(ids, 500)) {
      const rows = await trx('index_entries')
        .where({ topic })
        .whereIn('item_id', chunk)
        .select('topic', 'item_id', 'index_key', 'bucket');
      for (const r of rows) old.set(id({ ...r, item_id: Number(r.item_id) }), r);
    }
  }
  const entries = states.flatMap((s) => entriesOf(s));
  const now = new Map(entries.map((e) => [id(e), e]));
  // Summed per bucket, and in key order so concurrent writers lock bucket rows in one order.
  const deltas = new Map<string, { key: string; bucket: string; delta: number }>();
  const bump = (key: string, bucket: string, delta: number) => {
    const k = `${key}\u0000${bucket}`;
    const d = deltas.get(k) ?? { key, bucket, delta: 0 };
    d.delta += delta;
    deltas.set(k, d);
  };
  for (const [k, r] of old) if (!now.has(k)) bump(r.index_key, r.bucket, -1);
  for (const [k, e] of now) if (!old.has(k)) bump(e.index_key, e.bucket, 1);
  const listed = new Set([...old.keys()].map((k) => k.split('\u0000', 2).join('\u0000')));
  for (const topic of ['article', 'event'] as const) {
    const ids = states.filter((s) => s.topic === topic && listed.has(`${topic}\u0000${s.id}`)).map((s) => s.id);
    for (const chunk of chunks(ids, 500))
      await trx('index_entries').where({ topic }).whereIn('item_id', chunk).delete();
  }
  if (entries.length) await insertRows(trx, 'index_entries', entries);
  await adjustBuckets(
    trx,
    [...deltas.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.bucket < b.bucket ? -1 : 1)),
  );
}

// Which saves a producer renders: it claims the outbox rows waiting at that
// moment (its job's and any others, up to a bound) for a lease it renews
// while it works. A producer killed mid-group stops renewing; the lease
// lapses, the relay dispatches the rows again (app/outbox/outbox-relay.ts)
// and any producer claims them: nothing is lost. An item another producer
// is rendering stays its: that producer claims the item's newer saves when
// it is done, so one item is rendered by one producer at a time. Leases are
// set and judged by the database's clock (common/db/db-time.ts), so
// producers on hosts whose clocks disagree agree on whose claim is live.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../common/db/database';
import { dbNowMs } from '../common/db/db-time';
import type { Topic } from './affected-pages';
import { chunks } from './change-journal';

/** How long a claim holds without renewal; renewed every third of it. */
export const CLAIM_LEASE_MS = 15_000;

/** One item of a claimed group: its outbox rows up to `upTo` are the group's. */
export interface ClaimedItem {
  topic: Topic;
  itemId: number;
  upTo: number;
}

export interface Claim {
  token: string;
  items: ClaimedItem[];
  /** Every outbox row claimed (marked done with the group's batch). */
  rows: number[];
  /** Each claimed row's item, `topic:id`. */
  ownerOf: Map<number, string>;
}

/** Claims up to `maxItems` items' waiting saves, oldest first; an empty claim when none are free. */
export async function claimGroup(db: Database, options: { maxItems: number; leaseMs?: number }): Promise<Claim> {
  const { maxItems } = options;
  const token = randomUUID();
  const free = (q: ReturnType<Database>) =>
    q.whereNull('done_at').where((w) => w.whereNull('claimed_until').orWhere('claimed_until', '<', dbNowMs(db)));
  const candidates: { id: number; topic: string; item_id: number }[] = await free(db('outbox'))
    .orderBy('id')
    .limit(maxItems * 4)
    .select('id', 'topic', 'item_id');
  if (candidates.length === 0) return { token, items: [], rows: [], ownerOf: new Map() };
  const key = (r: { topic: string; item_id: number | string }) => `${r.topic}:${Number(r.item_id)}`;
  const wanted = new Set<string>();
  for (const r of candidates) if (wanted.size < maxItems || wanted.has(key(r))) wanted.add(key(r));
  // Items another producer holds a live claim on stay with it.
  const busy = new Set(
    (
      await db('outbox')
        .whereNull('done_at')
        .where('claimed_until', '>=', dbNowMs(db))
        .whereIn('item_id', [...new Set(candidates.map((r) => Number(r.item_id)))])
        .select('topic', 'item_id')
    ).map(key),
  );
  const chosen = [...wanted].filter((k) => !busy.has(k));
  if (chosen.length === 0) return { token, items: [], rows: [], ownerOf: new Map() };
  // Every waiting save of a chosen item, not only those among the candidates: one group renders an item once.
  const pending: { id: number; topic: string; item_id: number }[] = await free(db('outbox'))
    .whereIn('item_id', [...new Set(chosen.map((k) => Number(k.slice(k.indexOf(':') + 1))))])
    .select('id', 'topic', 'item_id');
  const ids = pending.filter((r) => chosen.includes(key(r))).map((r) => Number(r.id));
  // Row by row atomic: of two producers claiming one row, the second finds it claimed and skips it.
  for (const chunk of chunks(ids, 500))
    await free(db('outbox').whereIn('id', chunk)).update({
      claimed_by: token,
      claimed_until: dbNowMs(db, options.leaseMs ?? CLAIM_LEASE_MS),
    });
  const mine: { id: number; topic: string; item_id: number }[] = [];
  for (const chunk of chunks(ids, 500))
    mine.push(
      ...(await db('outbox')
        .whereIn('id', chunk)
        .where({ claimed_by: token })
        .whereNull('done_at')
        .select('id', 'topic', 'item_id')),
    );
  const items = new Map<string, ClaimedItem>();
  for (const r of mine) {
    const item = items.get(key(r)) ?? { topic: r.topic as Topic, itemId: Number(r.item_id), upTo: 0 };
    item.upTo = Math.max(item.upTo, Number(r.id));
    items.set(key(r), item);
  }
  return {
    token,
    items: [...items.values()],
    rows: mine.map((r) => Number(r.id)).sort((a, b) => a - b),
    ownerOf: new Map(mine.map((r) => [Number(r.id), key(r)])),
  };
}

/** Keeps the claim alive while the group renders; the returned function stops renewing. */
export function renewWhileWorking(db: Database, claim: Claim, leaseMs = CLAIM_LEASE_MS) {
  const timer = setInterval(() => {
    void renew(db, claim, leaseMs).catch(() => undefined);
  }, leaseMs / 3);
  timer.unref();
  return () => clearInterval(timer);
}

async function renew(db: Database, claim: Claim, leaseMs: number): Promise<void> {
  for (const chunk of chunks(claim.rows, 500))
    await db('outbox')
      .whereIn('id', chunk)
      .where({ claimed_by: claim.token })
      .whereNull('done_at')
      .update({ claimed_until: dbNowMs(db, leaseMs) });
}

/** Gives the rows back at once (a transient failure: the job is retried and claims them again). */
export async function releaseClaim(db: Database, claim: Claim): Promise<void> {
  for (const chunk of chunks(claim.rows, 500))
    await db('outbox')
      .whereIn('id', chunk)
      .where({ claimed_by: claim.token })
      .whereNull('done_at')
      .update({ claimed_by: null, claimed_until: null });
}

/**
 * Closes the saves of `done` items (journaled by this batch as current, or
 * already listed at a newer version), only while they are still this claim's;
 * the other claimed rows are given back to be claimed again. Closing every
 * claimed row lost saves: a producer whose lease lapsed closed the rows
 * another producer had claimed since and had listed after it, whose page it
 * did not journal; if that producer died, nothing rendered the item again.
 * The rows of failed items are left to their failure report (render-job.ts).
 * Returns the number of saves closed.
 */
export async function settleClaim(
  trx: Knex.Transaction,
  claim: Claim,
  done: Set<string>,
  failed: Set<string>,
  at: number,
): Promise<number> {
  const owner = (id: number) => claim.ownerOf.get(id) ?? '';
  const closing = claim.rows.filter((id) => done.has(owner(id)));
  const releasing = claim.rows.filter((id) => !done.has(owner(id)) && !failed.has(owner(id)));
  let closed = 0;
  for (const chunk of chunks(closing, 500))
    closed += Number(
      await trx('outbox')
        .whereIn('id', chunk)
        .where({ claimed_by: claim.token })
        .whereNull('done_at')
        .update({ done_at: at }),
    );
  for (const chunk of chunks(releasing, 500))
    await trx('outbox')
      .whereIn('id', chunk)
      .where({ claimed_by: claim.token })
      .whereNull('done_at')
      .update({ claimed_by: null, claimed_until: null });
  return closed;
}

// `hyperstatic purge --path /news/SLUG --reason "court order 123"`: an
// operator's takedown. The item is hidden through the moderation service
// (status, revision and outbox row in one transaction, like a moderator's
// hide), then, under the journal lock like any producer batch, its page
// becomes a tombstone and every body it ever had is purged
// (producer/takedown.ts), with the audit row in the same transaction. The
// render the hide owes finds the page already gone and re-renders only the
// listings. Bad input changes nothing.
import os from 'node:os';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import { loadConfig, redisTarget, RedisTarget } from '../../common/config';
import type { Database } from '../../common/db/database';
import { isSafePublicPath } from '../../common/feed-format';
import type { Renderer } from '../../producer/renderer';
import { withDatabase } from '../cli-support';

export const REASON_MAX = 2000;

export interface TakedownInput {
  path: string;
  reason: string;
  actor: string;
}

export interface TakedownResult {
  path: string;
  item?: { topic: 'article' | 'event'; id: number };
  /** Journal head after the takedown; undefined when the journal did not change. */
  head?: number;
  purged: string[];
  takedownId: number;
}

/** Refused input: the CLI prints the message and exits 1, having changed nothing. */
export class TakedownInputError extends Error {
  readonly code = 'HS_TAKEDOWN_BAD_INPUT';
}

const ITEM_PATH = /^\/(news|event)\/([^/]+)$/;

export async function takeDown(
  deps: { db: Database; renderer: Renderer; now?: () => number },
  input: TakedownInput,
): Promise<TakedownResult> {
  const { db, renderer, now = Date.now } = deps;
  const reason = input.reason.trim();
  if (reason === '') throw new TakedownInputError('--reason is required: say why (it is kept in the takedown audit)');
  if (reason.length > REASON_MAX) throw new TakedownInputError(`--reason is longer than ${REASON_MAX} characters`);
  if (!isSafePublicPath(input.path))
    throw new TakedownInputError(`--path must be a public path such as /news/SLUG, got ${JSON.stringify(input.path)}`);
  const match = ITEM_PATH.exec(input.path);
  const page = await db('pages').where({ path: input.path }).first('op', 'kind');
  if (!page || page.op === 'delete')
    throw new TakedownInputError(`no page at ${input.path}: nothing is published there (check the path)`);
  if (!match || page.kind !== 'article')
    throw new TakedownInputError(
      `${input.path} is not an article or event page (/news/SLUG, /event/SLUG): only item pages can be taken down`,
    );
  const topic = match[1] === 'news' ? 'article' : 'event';
  const table = topic === 'article' ? 'articles' : 'events';
  // A former address of a renamed item (app/content/slug-redirects.ts) names that item: taking it down
  // hides the item, so its current page and every former address become tombstones together.
  const former = await db('slug_redirects').where({ topic, slug: match[2] }).first('item_id');
  const row = await db(table)
    .where(former ? { id: former.item_id } : { slug: match[2] })
    .first('id', 'status');
  const item = row ? ({ topic, id: Number(row.id) } as const) : undefined;
  // A deleted item is already a tombstone and takes no more saves (app/content/item-service.ts): only its page is purged.
  if (item && row.status !== 'hidden' && row.status !== 'deleted') await hide(db, item, `takedown: ${reason}`, now);
  return writeTakedown({ db, renderer, now }, { ...input, reason }, item);
}

/** The same hide a moderator does: status, revision and the owed render commit together. */
async function hide(
  db: Database,
  item: { topic: 'article' | 'event'; id: number },
  reason: string,
  now: () => number,
): Promise<void> {
  const { ITEM_KINDS, serviceOf } =
    require('../../app/content/item-kinds') as typeof import('../../app/content/item-kinds');
  const { createItemService } =
    require('../../app/content/item-service') as typeof import('../../app/content/item-service');
  const { withRevisions } =
    require('../../app/content/item-revisions') as typeof import('../../app/content/item-revisions');
  const items = ITEM_KINDS.map((kind) => withRevisions(createItemService(kind, { db, now }), db, now));
  await serviceOf(items, item.topic).update(
    item.id,
    { status: 'hidden' },
    { actor: { userId: null, action: 'hide', reason: reason.slice(0, 500) } },
  );
}

/** The tombstone, the purge and the audit row: one transaction under the journal lock. */
async function writeTakedown(
  deps: { db: Database; renderer: Renderer; now: () => number },
  input: TakedownInput,
  item: TakedownResult['item'],
): Promise<TakedownResult> {
  const { lockJournal, writePages } =
    require('../../producer/change-journal') as typeof import('../../producer/change-journal');
  const { purgeRemovedPages } = require('../../producer/takedown') as typeof import('../../producer/takedown');
  const { renderItem } = require('../../producer/page-renderer') as typeof import('../../producer/page-renderer');
  const at = deps.now();
  return deps.db.transaction(async (trx: Knex.Transaction) => {
    const lock = await lockJournal(trx);
    const start = lock.head;
    const slug = ITEM_PATH.exec(input.path)?.[2] as string;
    const tombstone = await renderItem(
      { db: trx, renderer: deps.renderer, now: at },
      item?.topic ?? (input.path.startsWith('/news/') ? 'article' : 'event'),
      undefined,
      slug,
      false,
    );
    // A clock of its own, taken like a listing step's (render-group.ts): every group that read the
    // item before the hide holds an older clock, so its visible page (or a page borrowed from its
    // staged copy, cleared here) never replaces the tombstone. The clock as read from this
    // transaction's snapshot could equal such a group's and the takedown was briefly undone.
    await trx('render_clock').where({ id: 1 }).increment('clock', 1);
    const clock = Number((await trx('render_clock').where({ id: 1 }).first('clock'))?.clock);
    if (item)
      await trx('render_state')
        .where({ topic: item.topic, item_id: item.id })
        .update({ staged_path: null, staged_body: null, staged_modified: null });
    let purged: string[] = [];
    if (tombstone) purged = (await writePages(trx, lock, [{ ...tombstone, clock }], at)).purged;
    // Already a tombstone (hidden earlier, or rendered since the hide): purge what its history still holds.
    if (lock.head === start) purged = (await purgeRemovedPages(trx, lock, lock.head + 1, [input.path], at)).purged;
    const head = lock.head === start ? undefined : lock.head;
    const [id] = await trx('takedowns').insert({
      path: input.path,
      topic: item?.topic ?? null,
      item_id: item?.id ?? null,
      reason: input.reason,
      actor: input.actor,
      seq: lock.head,
      purged: purged.length,
      created_at: at,
    });
    return { path: input.path, item, head, purged, takedownId: Number(id) };
  });
}

export function register(program: Command, out: { write(text: string): void } = process.stdout): void {
  program
    .command('purge')
    .description(
      'Take an article or event page down for good: hide the item, make the path a 410 tombstone and purge every body it ever served (and media only it showed) from the origin, the journal, mirrors and proxies. Recorded with the reason in the takedown audit.',
    )
    .requiredOption('--path <path>', 'the public path, e.g. /news/SLUG or /event/SLUG')
    .option('--reason <text>', 'why (court order, legal request…); required, kept in the audit')
    .option('--by <name>', 'who asks for it, for the audit (default: the operating-system user)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { path: string; reason?: string; by?: string; json?: boolean }) => {
      const config = loadConfig();
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      const { createRenderer, siteInfoOf } =
        require('../../producer/renderer') as typeof import('../../producer/renderer');
      const actor = (flags.by ?? os.userInfo().username).trim().slice(0, 200) || 'unknown';
      const result = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        return takeDown(
          { db, renderer: createRenderer(siteInfoOf(config)) },
          { path: flags.path, reason: flags.reason ?? '', actor },
        );
      });
      const redis = redisTarget(config);
      if (result.head !== undefined && redis) await announce(redis, config.redisPrefix, result.head);
      out.write(
        flags.json
          ? `${JSON.stringify(result)}\n`
          : `took down ${result.path}: ${result.purged.length} blob(s) purged${result.head === undefined ? '' : `, journal head ${result.head}`} (takedown #${result.takedownId})\n`,
      );
    });
}

/** Wakes the origin's feeds at once; without Redis (or if it is down) they find the batch on their 5 s re-check. */
export async function announce(redis: RedisTarget, prefix: string, head: number): Promise<void> {
  const { createRedisNotifier } =
    require('../../common/journal-notifier') as typeof import('../../common/journal-notifier');
  const { createLogger } = require('../../common/logger') as typeof import('../../common/logger');
  const notifier = createRedisNotifier(redis, createLogger('silent', 'purge'), prefix);
  await notifier.notify(head);
  await notifier.close();
}

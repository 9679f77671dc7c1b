// `hyperstatic status`: the whole cluster on one screen (docs/operations.md, "Monitoring"): database
// nodes and lag, render queue depth, journal head, each mirror's lag (from the
// reports mirrors send the origin) and each proxy's hit ratio (from its
// /metrics), and the render jobs that failed for good (a template or data
// error, not retried) whose item has not rendered since. Anything
// unreachable is shown as such; the command still answers.
import type { Command } from 'commander';
import { Config, loadConfig } from '../../common/config';
import { createDatabase, Database, dialectOf } from '../../common/db/database';
import { probeAll } from '../../common/db/node-status';
import { formatTable } from '../text-table';
import { clusterAccess, nodeRows, NodeRow, nodeTable } from './db';

export interface ProxyStatus {
  url: string;
  reachable: boolean;
  hits?: number;
  misses?: number;
  stale?: number;
  hitRatio?: number | null;
  error?: string;
}

export interface MirrorRow {
  name: string;
  url: string;
  cursor: number;
  epoch: number;
  lagEntries: number;
  lagSeconds: number;
  connected: boolean;
  reportAgeSeconds: number;
  /**
   * Whether its copy is vouched for by a signed heartbeat now (docs/trust.md):
   * `fresh`, `frozen` (the newest heartbeat it reported has expired, which is
   * also what a mirror that stopped reporting turns into), or `unknown` (it
   * never reported one: not upgraded, or never reached the origin).
   */
  freshness: 'fresh' | 'frozen' | 'unknown';
}

/** A render job that failed for good (template or data error) and whose item has not rendered successfully since. */
export interface FailedRender {
  topic: string;
  itemId: number;
  /** The item's slug, or null when its row is gone. */
  slug: string | null;
  /** The template that failed, when the error names one. */
  template: string | null;
  error: string;
  failedAt: string;
}

export interface ClusterStatus {
  database: { primary: string; epoch: number; nodes: NodeRow[] } | { embedded: string };
  queue: { pendingRenders: number; oldestPendingSeconds: number | null } | { error: string };
  journal: { head: number; epoch: number } | { error: string };
  mirrors: MirrorRow[] | { error: string };
  proxies: ProxyStatus[];
  /** Always filled by clusterStatus; optional so a screen can be formatted from a partial picture. */
  failedRenders?: { unresolved: number; latest: FailedRender[] } | { error: string };
}

/**
 * Unresolved render failures (render_failures rows with no later successful
 * render of the item in render_state), newest first: the total and the latest `limit`.
 */
export async function failedRenders(db: Database, limit = 10): Promise<{ unresolved: number; latest: FailedRender[] }> {
  const unresolved = () =>
    db('render_failures')
      .leftJoin('render_state', (j) =>
        j.on('render_state.topic', 'render_failures.topic').andOn('render_state.item_id', 'render_failures.item_id'),
      )
      .where((q) =>
        q
          .whereNull('render_state.rendered_at')
          .orWhere('render_state.rendered_at', '<', db.ref('render_failures.failed_at')),
      );
  const [{ n }] = await unresolved().count({ n: '*' });
  const rows = await unresolved()
    .orderBy('render_failures.id', 'desc')
    .limit(limit)
    .select('render_failures.topic', 'render_failures.item_id', 'render_failures.message', 'render_failures.failed_at');
  const slugs = new Map<string, string>();
  for (const [topic, table] of [
    ['article', 'articles'],
    ['event', 'events'],
  ] as const) {
    const ids = rows.filter((r) => r.topic === topic).map((r) => Number(r.item_id));
    if (ids.length)
      for (const r of await db(table).whereIn('id', ids).select('id', 'slug'))
        slugs.set(`${topic}:${r.id}`, String(r.slug));
  }
  return {
    unresolved: Number(n),
    latest: rows.map((r) => ({
      topic: String(r.topic),
      itemId: Number(r.item_id),
      slug: slugs.get(`${r.topic}:${r.item_id}`) ?? null,
      template: /template (\S+) failed/.exec(String(r.message))?.[1] ?? null,
      error: String(r.message),
      failedAt: new Date(Number(r.failed_at)).toISOString(),
    })),
  };
}

/** Sums the samples of one metric in Prometheus text format. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/**
 * One proxy's hit ratio from its /metrics: on its operator listener
 * (PROXY_INTERNAL_PORT), or on its public port with PROXY_ADMIN_TOKEN, which
 * is sent whenever it is set (docs/design.md, "Operator endpoints").
 */
async function proxyStatus(url: string, adminToken: string, timeoutMs: number): Promise<ProxyStatus> {
  try {
    const res = await fetch(`${url}/metrics`, {
      headers: adminToken ? { authorization: `Bearer ${adminToken}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      const hint =
        res.status === 404
          ? ': name the proxy operator listener (PROXY_INTERNAL_PORT) in STATUS_PROXY_URLS, or set PROXY_ADMIN_TOKEN'
          : '';
      return { url, reachable: false, error: `/metrics answered ${res.status}${hint}` };
    }
    const text = await res.text();
    const hits = metricSum(text, 'hyperstatic_proxy_cache_hits_total') ?? 0;
    const misses = metricSum(text, 'hyperstatic_proxy_cache_misses_total') ?? 0;
    const stale = metricSum(text, 'hyperstatic_proxy_stale_served_total') ?? 0;
    const total = hits + misses + stale;
    return { url, reachable: true, hits, misses, stale, hitRatio: total === 0 ? null : (hits + stale) / total };
  } catch (error) {
    return { url, reachable: false, error: (error as Error).message };
  }
}

async function attempt<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function freshnessAt(freshUntil: unknown, now: number): MirrorRow['freshness'] {
  if (freshUntil === null || freshUntil === undefined) return 'unknown';
  return now > Number(freshUntil) ? 'frozen' : 'fresh';
}

export async function clusterStatus(config: Config, now = Date.now()): Promise<ClusterStatus> {
  const embedded = config.databaseNodes.length === 0 && dialectOf(config.databaseUrl) === 'sqlite';
  let database: ClusterStatus['database'];
  let primaryUrl = config.databaseUrl;
  if (embedded) database = { embedded: config.databaseUrl };
  else {
    const access = clusterAccess(config);
    database = nodeRows(access, await probeAll(access.nodes, access.admin));
    const name = database.primary;
    primaryUrl = access.nodes.find((n) => n.name === name)?.url ?? primaryUrl;
  }
  const proxies = Promise.all(config.statusProxyUrls.map((u) => proxyStatus(u, config.proxyAdminToken, 2000)));
  const db: Database = createDatabase(primaryUrl, { poolMax: 2 });
  try {
    const queue = await attempt(async () => {
      const [row] = await db('outbox').whereNull('done_at').count({ n: '*' }).min({ oldest: 'created_at' });
      return {
        pendingRenders: Number(row.n),
        oldestPendingSeconds: row.oldest == null ? null : Math.max(0, (now - Number(row.oldest)) / 1000),
      };
    });
    const journal = await attempt(async () => {
      const row = await db('cluster_state').where({ id: 1 }).first('journal_head', 'epoch');
      return { head: Number(row.journal_head), epoch: Number(row.epoch) };
    });
    // mirror_status is filled by mirrors' reports (app/feed); an origin without it shows none.
    const mirrors = await attempt(async () =>
      ((await db('mirror_status').orderBy('name')) as Record<string, unknown>[]).map((r) => ({
        name: String(r.name),
        url: String(r.url ?? ''),
        cursor: Number(r.cursor),
        epoch: Number(r.epoch),
        lagEntries: Number(r.lag_entries),
        lagSeconds: Number(r.lag_seconds),
        connected: Boolean(r.connected),
        reportAgeSeconds: Math.max(0, (now - Number(r.reported_at)) / 1000),
        freshness: freshnessAt(r.fresh_until, now),
      })),
    );
    const failed = await attempt(() => failedRenders(db));
    return { database, queue, journal, mirrors, proxies: await proxies, failedRenders: failed };
  } finally {
    await db.destroy();
  }
}

export function formatStatus(s: ClusterStatus): string {
  const parts: string[] = [];
  if ('embedded' in s.database) parts.push(`DATABASE  embedded ${s.database.embedded}`);
  else parts.push(`DATABASE  primary ${s.database.primary}, epoch ${s.database.epoch}\n${nodeTable(s.database.nodes)}`);
  parts.push(
    'error' in s.queue
      ? `QUEUE     unavailable: ${s.queue.error}`
      : `QUEUE     ${s.queue.pendingRenders} render(s) pending${s.queue.oldestPendingSeconds === null ? '' : `, oldest ${s.queue.oldestPendingSeconds.toFixed(1)} s`}`,
  );
  parts.push(
    'error' in s.journal
      ? `JOURNAL   unavailable: ${s.journal.error}`
      : `JOURNAL   head ${s.journal.head}, epoch ${s.journal.epoch}`,
  );
  if ('error' in s.mirrors) parts.push(`MIRRORS   no reports (${s.mirrors.error})`);
  else if (s.mirrors.length === 0) parts.push('MIRRORS   none has reported');
  else {
    parts.push(
      `MIRRORS\n${formatTable(
        ['MIRROR', 'CURSOR', 'EPOCH', 'LAG entries', 'LAG s', 'CONNECTED', 'FRESH', 'REPORT AGE s', 'URL'],
        s.mirrors.map((m) => [
          m.name,
          String(m.cursor),
          String(m.epoch),
          String(m.lagEntries),
          m.lagSeconds.toFixed(1),
          m.connected ? 'yes' : 'NO',
          m.freshness === 'frozen' ? 'FROZEN' : m.freshness,
          m.reportAgeSeconds.toFixed(0),
          m.url,
        ]),
      )}`,
    );
  }
  if (s.proxies.length === 0) parts.push('PROXIES   none configured (STATUS_PROXY_URLS)');
  else {
    parts.push(
      `PROXIES\n${formatTable(
        ['PROXY', 'HIT RATIO', 'HITS', 'STALE', 'MISSES', 'ERROR'],
        s.proxies.map((p) => [
          p.url,
          p.hitRatio == null ? '-' : `${(p.hitRatio * 100).toFixed(1)}%`,
          String(p.hits ?? '-'),
          String(p.stale ?? '-'),
          String(p.misses ?? '-'),
          p.error ?? '',
        ]),
      )}`,
    );
  }
  if (!s.failedRenders) return parts.join('\n\n');
  if ('error' in s.failedRenders) parts.push(`FAILED RENDERS  unavailable: ${s.failedRenders.error}`);
  else if (s.failedRenders.unresolved === 0) parts.push('FAILED RENDERS  none');
  else {
    const { unresolved, latest } = s.failedRenders;
    parts.push(
      `FAILED RENDERS  ${unresolved} unresolved (not retried; fix the template or the item, then save it again)${unresolved > latest.length ? `, latest ${latest.length}:` : ''}\n${formatTable(
        ['ITEM', 'SLUG', 'TEMPLATE', 'FAILED AT', 'ERROR'],
        latest.map((f) => [
          `${f.topic} ${f.itemId}`,
          f.slug ?? '(deleted)',
          f.template ?? '-',
          f.failedAt,
          f.error.replace(/\s+/g, ' ').slice(0, 120),
        ]),
      )}`,
    );
  }
  return parts.join('\n\n');
}

export function register(program: Command): void {
  program
    .command('status')
    .description(
      "The whole cluster on one screen: database nodes and lag, queue depth, journal head, mirrors' lag, proxies' hit ratio, failed renders",
    )
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const status = await clusterStatus(loadConfig());
      process.stdout.write(`${flags.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
    });
}

// `hyperstatic status`: the whole cluster on one screen (docs/operations.md, "Monitoring"): database
// nodes and lag, render queue depth, journal head, each mirror's lag (from the
// reports mirrors send the origin), each process's own /readyz, each proxy's
// hit ratio (from its /metrics), and the render jobs that failed for good (a
// template or data error, not retried) whose item has not rendered since.
// Anything unreachable is shown as such and the command still answers; it
// exits 1 when something is down, frozen, unknown or lagging (status-health.ts).
import type { Command } from 'commander';
import { Config, ConfigError, loadConfig } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import { probeAll } from '../../common/db/node-status';
import { formatTable } from '../text-table';
import { clusterAccess, nodeRows, nodeTable } from './db';
import {
  ClusterStatus,
  Facts,
  FailedRender,
  judge,
  MirrorRow,
  mirrorState,
  summaryLine,
  Thresholds,
} from './status-health';
import { isEmbedded, probeProcess, probeTargets, proxyStatus } from './status-probes';
import { renderQueueFigures, renderQueueText } from './status-backlog';

export type { ClusterStatus, FailedRender, MirrorRow } from './status-health';

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

/** Each mirror's last report, judged by its age; a mirror whose status credential was revoked is retired. */
async function mirrorRows(db: Database, now: number, t: Thresholds): Promise<MirrorRow[]> {
  const rows = (await db('mirror_status').orderBy('name')) as Record<string, unknown>[];
  const revoked = new Set(
    ((await db('mirror_credentials').whereNotNull('revoked_at').select('name')) as { name: string }[]).map((r) =>
      String(r.name),
    ),
  );
  return rows.map((r) => {
    const row = {
      name: String(r.name),
      url: String(r.url ?? ''),
      cursor: Number(r.cursor),
      epoch: Number(r.epoch),
      lagEntries: Number(r.lag_entries),
      lagSeconds: Number(r.lag_seconds),
      connected: Boolean(r.connected),
      reportAgeSeconds: Math.max(0, (now - Number(r.reported_at)) / 1000),
      freshness: freshnessAt(r.fresh_until, now),
    };
    return { ...row, state: mirrorState(row, t, revoked.has(row.name)) };
  });
}

/** Gathers every fact (database, processes and proxies at once) and judges them against the thresholds. */
export async function clusterStatus(config: Config, now = Date.now()): Promise<ClusterStatus> {
  const thresholds = { staleSeconds: config.statusStaleSeconds, lagSeconds: config.statusLagSeconds };
  const targets = probeTargets(config);
  const processes = Promise.all(targets.map((t) => probeProcess(t, config)));
  const proxies = Promise.all(
    targets
      .filter((t) => t.kind === 'proxy')
      .map((t) => proxyStatus(t.url, config.proxyAdminToken, config.statusTimeoutMs)),
  );
  const renderQueue = renderQueueFigures(targets, config.statusTimeoutMs);
  let database: ClusterStatus['database'];
  let primaryUrl = config.databaseUrl;
  if (isEmbedded(config)) database = { embedded: config.databaseUrl };
  else {
    const access = clusterAccess(config);
    database = nodeRows(access, await probeAll(access.nodes, access.admin));
    const name = database.primary;
    primaryUrl = access.nodes.find((n) => n.name === name)?.url ?? primaryUrl;
  }
  const db: Database = createDatabase(primaryUrl, { poolMax: 2 });
  try {
    const queue = await attempt(async () => {
      const [row] = await db('outbox').whereNull('done_at').count({ n: '*' }).min({ oldest: 'created_at' });
      return {
        pendingRenders: Number(row.n),
        oldestPendingSeconds: row.oldest == null ? null : Math.max(0, (now - Number(row.oldest)) / 1000),
        ...(await renderQueue),
      };
    });
    const journal = await attempt(async () => {
      const row = await db('cluster_state').where({ id: 1 }).first('journal_head', 'epoch');
      return { head: Number(row.journal_head), epoch: Number(row.epoch) };
    });
    const mirrors = await attempt(() => mirrorRows(db, now, thresholds));
    const failed = await attempt(() => failedRenders(db));
    const facts: Facts = {
      checkedAt: new Date(now).toISOString(),
      thresholds,
      database,
      queue,
      journal,
      mirrors,
      processes: await processes,
      proxies: await proxies,
      failedRenders: failed,
    };
    return judge(facts);
  } finally {
    await db.destroy();
  }
}

const MIRROR_STATE_TEXT: Record<MirrorRow['state'], string> = {
  ok: 'ok',
  unknown: 'UNKNOWN',
  frozen: 'FROZEN',
  disconnected: 'DISCONNECTED',
  lagging: 'LAGGING',
  retired: 'retired',
};

function mirrorTable(mirrors: MirrorRow[]): string {
  return formatTable(
    ['MIRROR', 'STATE', 'CURSOR', 'EPOCH', 'LAG entries', 'LAG s', 'CONNECTED', 'FRESH', 'REPORT AGE s', 'URL'],
    mirrors.map((m) => {
      // A report past the stale threshold says nothing about now: its connection, lag and freshness are shown as unknown.
      const known = m.state !== 'unknown';
      return [
        m.name,
        MIRROR_STATE_TEXT[m.state],
        String(m.cursor),
        String(m.epoch),
        known ? String(m.lagEntries) : '?',
        known ? m.lagSeconds.toFixed(1) : '?',
        !known ? '?' : m.connected ? 'yes' : 'NO',
        !known ? '?' : m.freshness === 'frozen' ? 'FROZEN' : m.freshness,
        m.reportAgeSeconds.toFixed(0),
        m.url,
      ];
    }),
  );
}

function processTable(s: ClusterStatus): string {
  if (s.processes.length === 0)
    return 'PROCESSES none configured (STATUS_APP_URLS, STATUS_PRODUCER_URLS, STATUS_MIRROR_URLS, STATUS_PROXY_URLS)';
  return `PROCESSES\n${formatTable(
    ['KIND', 'URL', '/readyz', 'MS', 'DETAIL'],
    s.processes.map((p) => [
      p.kind,
      p.url,
      p.state === 'ready' ? 'ready' : p.state === 'down' ? 'DOWN' : 'NOT READY',
      p.ms === undefined ? '-' : String(p.ms),
      p.error ?? '',
    ]),
  )}`;
}

function proxyTable(s: ClusterStatus): string {
  if (s.proxies.length === 0) return 'PROXIES   none configured (STATUS_PROXY_URLS)';
  return `PROXIES\n${formatTable(
    ['PROXY', 'HIT RATIO', 'HITS', 'STALE', 'MISSES', 'ERROR'],
    s.proxies.map((p) => [
      p.url,
      p.hitRatio == null ? '-' : `${(p.hitRatio * 100).toFixed(1)}%`,
      String(p.hits ?? '-'),
      String(p.stale ?? '-'),
      String(p.misses ?? '-'),
      p.error ?? '',
    ]),
  )}`;
}

function failedRenderSection(f: ClusterStatus['failedRenders']): string {
  if ('error' in f) return `FAILED RENDERS  unavailable: ${f.error}`;
  if (f.unresolved === 0) return 'FAILED RENDERS  none';
  const { unresolved, latest } = f;
  return `FAILED RENDERS  ${unresolved} unresolved (not retried; fix the template or the item, then save it again)${unresolved > latest.length ? `, latest ${latest.length}:` : ''}\n${formatTable(
    ['ITEM', 'SLUG', 'TEMPLATE', 'FAILED AT', 'ERROR'],
    latest.map((r) => [
      `${r.topic} ${r.itemId}`,
      r.slug ?? '(deleted)',
      r.template ?? '-',
      r.failedAt,
      r.error.replace(/\s+/g, ' ').slice(0, 120),
    ]),
  )}`;
}

/** The screen: the verdict first (one line), then each part. */
export function formatStatus(s: ClusterStatus): string {
  const parts: string[] = [`STATUS    ${summaryLine(s)}\n          checked ${s.checkedAt}`];
  if ('embedded' in s.database) parts.push(`DATABASE  embedded ${s.database.embedded}`);
  else parts.push(`DATABASE  primary ${s.database.primary}, epoch ${s.database.epoch}\n${nodeTable(s.database.nodes)}`);
  parts.push(
    'error' in s.queue
      ? `QUEUE     unavailable: ${s.queue.error}`
      : `QUEUE     ${s.queue.pendingRenders} render(s) pending${s.queue.oldestPendingSeconds === null ? '' : `, oldest ${s.queue.oldestPendingSeconds.toFixed(1)} s`}; ${renderQueueText(s.queue)}`,
  );
  parts.push(
    'error' in s.journal
      ? `JOURNAL   unavailable: ${s.journal.error}`
      : `JOURNAL   head ${s.journal.head}, epoch ${s.journal.epoch}`,
  );
  if ('error' in s.mirrors) parts.push(`MIRRORS   no reports (${s.mirrors.error})`);
  else if (s.mirrors.length === 0) parts.push('MIRRORS   none has reported');
  else parts.push(`MIRRORS\n${mirrorTable(s.mirrors)}`);
  parts.push(processTable(s), proxyTable(s), failedRenderSection(s.failedRenders));
  return parts.join('\n\n');
}

/** Exit status: 0 healthy, 1 a problem (or the status could not be gathered), 2 a configuration error. */
async function runStatus(flags: { json?: boolean }): Promise<number> {
  try {
    const status = await clusterStatus(loadConfig());
    process.stdout.write(`${flags.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
    return status.healthy ? 0 : 1;
  } catch (error) {
    if (!flags.json) throw error;
    const config = error instanceof ConfigError;
    process.stdout.write(
      `${JSON.stringify({ healthy: false, error: (error as Error).message, ...(config ? { variable: error.variable } : {}) }, null, 2)}\n`,
    );
    return config ? 2 : 1;
  }
}

export function register(program: Command): void {
  program
    .command('status')
    .description(
      "The whole cluster on one screen: database nodes and lag, queue depth, journal head, mirrors' lag, each process's /readyz, proxies' hit ratio, failed renders; exits 1 when something is down, unknown or lagging",
    )
    .option('--json', 'print JSON (errors too)')
    .action(async (flags: { json?: boolean }) => {
      process.exitCode = await runStatus(flags);
    });
}

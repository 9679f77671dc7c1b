// Chaos run (issues 7 and 22): 16 writers publish articles with unique
// titles through the API while a planned switchover happens; then the new
// primary is killed with SIGKILL at a random moment and the operator follows
// the runbook through the real CLI: `db status`, `db promote` of the most
// advanced replica. Writing carries on; then the killed node is started
// again and brought back: semi-sync trials run `db rejoin`; async trials
// first force a loss (the replicas' I/O threads stop just before the kill,
// so the dying primary acknowledges saves no replica has), list it with
// `db diverged --json`, re-apply it with `db reapply --yes`, then rejoin.
// Every acknowledged (201) save is looked for on the final primary and on
// the mirror. Last, fresh clusters are built by the runbook's commands only.
// The operator's commands run the compiled build (NODE_ENV=production).
//   npm run bench -- failover
//   CHAOS_SEMI_TRIALS=1 CHAOS_ASYNC_TRIALS=1 CHAOS_FRESH_CLUSTERS=1 CHAOS_WRITERS=4 npm run bench -- failover   (quick)
import { randomUUID } from 'node:crypto';
import { promote } from '../app/db/promote';
import { articlePath } from '../common/site-paths';
import { startFailoverSite, type FailoverSite, type SaveOutcome } from '../test/integration/failover-site';
import { percentile, report, Row } from './report';
import { buildForOperator, operator, operatorEnv, outcome, type OperatorStep } from './support/chaos-operator';
import { buildFreshCluster, type FreshClusterResult } from './support/fresh-cluster';

const count = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const WRITERS = count('CHAOS_WRITERS', 16);
const SEMI_TRIALS = count('CHAOS_SEMI_TRIALS', 10);
const ASYNC_TRIALS = count('CHAOS_ASYNC_TRIALS', 3);
const FRESH_CLUSTERS = count('CHAOS_FRESH_CLUSTERS', 1);
/** How long the async trials' replicas stop receiving before the kill: the window whose saves only the dying primary holds. */
const LOSS_WINDOW_MS = count('CHAOS_LOSS_WINDOW_MS', 300);
/** The production default of DATABASE_TOPOLOGY_POLL_MS: how late app and producer notice a promotion. */
const POLL_MS = 500;
const SAVE_TIMEOUT_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

interface Event extends SaveOutcome {
  answeredAt: number;
}

/**
 * Time from `promoteStart` to the first acknowledged save that was sent
 * after `safeFrom` (the fence, or the start when the primary is dead): such
 * a save cannot have been committed by the old primary.
 */
function timeToPublish(events: Event[], promoteStart: number, safeFrom: number): number {
  const acks = events
    .filter((e) => e.kind === 'acknowledged' && e.at >= safeFrom)
    .sort((a, b) => a.answeredAt - b.answeredAt);
  return acks.length ? acks[0].answeredAt - promoteStart : NaN;
}

interface TrialResult {
  mode: 'semi-sync' | 'async';
  trial: number;
  acked: number;
  /** Acknowledged saves missing on the final primary at the end (after any re-apply). */
  lost: number;
  /** … and right after the promotion, before the killed node came back. */
  lostAtPromotion: number;
  duplicated: number;
  indeterminate: number;
  notOnMirror: number;
  diverged: string;
  reapply: string;
  rejoin: string;
  promoteToAckMs: number;
  killToAckMs: number;
  statusCliMs: number;
  promoteCliMs: number;
  plannedToAckMs: number;
}

interface Saves {
  titles: Map<string, { acked?: SaveOutcome; attempts: number }>;
  events: Event[];
}

/** What the final primary holds of the writers' titles: lost (acknowledged, absent), duplicated, indeterminate. */
async function tally(site: FailoverSite, node: string, saves: Saves) {
  const rows: { title: string }[] = await site
    .node(node)
    .query("SELECT title FROM hyperstatic.articles WHERE title LIKE 'chaos %'");
  const present = new Map<string, number>();
  for (const r of rows) present.set(r.title, (present.get(r.title) ?? 0) + 1);
  let acked = 0;
  let lost = 0;
  let indeterminate = 0;
  for (const [title, entry] of saves.titles) {
    if (entry.acked) {
      acked++;
      if (!present.has(title)) lost++;
    } else indeterminate++;
  }
  return { acked, lost, indeterminate, duplicated: [...present.values()].filter((n) => n > 1).length, present };
}

/** Waits until every render is done and the mirror holds the journal's head, then counts acknowledged pages it lacks. */
async function notOnMirror(site: FailoverSite, node: string, saves: Saves, present: Map<string, number>) {
  const primary = site.node(node);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [{ n }] = await primary.query('SELECT COUNT(*) AS n FROM hyperstatic.outbox WHERE done_at IS NULL');
    const [{ head }] = await primary.query('SELECT journal_head AS head FROM hyperstatic.cluster_state WHERE id = 1');
    if (Number(n) === 0 && site.mirror.cursor() >= Number(head)) break;
    if (Date.now() > deadline) {
      process.stderr.write(
        `mirror did not catch up in 60 s: ${n} render(s) waiting, journal head ${head}, mirror at ${site.mirror.cursor()}\n`,
      );
      break;
    }
    await sleep(200);
  }
  let missing = 0;
  for (const [title, entry] of saves.titles) {
    if (!entry.acked || !present.has(title)) continue;
    // By title: a re-applied save is a new article with its own slug.
    const [row]: { slug: string }[] = await primary.query(
      'SELECT slug FROM hyperstatic.articles WHERE title = ? LIMIT 1',
      [title],
    );
    const url = row ? articlePath(row.slug) : (entry.acked.url ?? '');
    const res = await fetch(`${site.mirror.url}${url}`).catch(() => undefined);
    const body = res ? await res.text() : '';
    if (res?.status !== 200 || !body.includes(title)) missing++;
  }
  return missing;
}

function writers(site: FailoverSite, mode: string, trial: number, saves: Saves, running: () => boolean) {
  const writer = async (w: number) => {
    for (let n = 0; running(); n++) {
      const title = `chaos ${mode} t${trial} w${w} n${n} ${randomUUID().slice(0, 8)}`;
      const key = randomUUID();
      const entry: { acked?: SaveOutcome; attempts: number } = { attempts: 0 };
      saves.titles.set(title, entry);
      // A careful client: retry a 503 or an unanswered save with the same Idempotency-Key.
      while (running() && !entry.acked) {
        entry.attempts++;
        const result = await site.saveOnce(title, { key, timeoutMs: SAVE_TIMEOUT_MS });
        saves.events.push({ ...result, answeredAt: Date.now() });
        if (result.kind === 'acknowledged') entry.acked = result;
        else if (result.kind === 'refused' && result.status !== 503)
          throw new Error(`${title}: refused with ${result.status}`);
        else await sleep(50);
      }
      await sleep(20);
    }
  };
  return Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
}

/** `db diverged --json`: how many items, and how many the API had acknowledged. */
function divergedSummary(step: OperatorStep): string {
  if (step.code !== 0) return outcome(step);
  try {
    const view = JSON.parse(step.stdout) as { items?: { acknowledged?: boolean }[] };
    const items = view.items ?? [];
    return `${items.length} item(s), ${items.filter((i) => i.acknowledged).length} acknowledged`;
  } catch {
    return `unparsable JSON: ${step.stdout.slice(0, 80)}`;
  }
}

async function runTrial(mode: 'semi-sync' | 'async', trial: number): Promise<TrialResult> {
  const site = await startFailoverSite({ semiSync: mode === 'semi-sync', pollMs: POLL_MS });
  const op = operator(operatorEnv(site.access));
  const saves: Saves = { titles: new Map(), events: [] };
  let running = true;
  try {
    const writing = writers(site, mode, trial, saves, () => running);
    await sleep(between(500, 1500));
    const plannedStart = Date.now();
    const planned = await promote(site.access, 'replica1');
    await sleep(between(1000, 2500));
    if (mode === 'async') {
      // A replica far away or cut off: what the primary acknowledges now exists only on it.
      await Promise.all(['primary', 'replica2'].map((n) => site.node(n).query('STOP SLAVE IO_THREAD')));
      await sleep(LOSS_WINDOW_MS);
    }
    const killedAt = Date.now();
    await site.node('replica1').kill('SIGKILL');
    const { step: status, candidate } = await op.mostAdvancedReplica();
    if (!candidate) throw new Error(`db status found no candidate: ${outcome(status)}`);
    const promoted = await op.run('db', 'promote', candidate);
    if (promoted.code !== 0) process.stderr.write(`trial ${mode} ${trial}: promote: ${outcome(promoted)}\n`);
    await sleep(2000);
    running = false;
    await writing;
    const atPromotion = await tally(site, candidate, saves);

    // The killed primary comes back.
    await site.node('replica1').start();
    let diverged: OperatorStep | undefined;
    let reapply: OperatorStep | undefined;
    if (mode === 'async') {
      diverged = await op.run('db', 'diverged', 'replica1', '--json');
      reapply = await op.run('db', 'reapply', 'replica1', '--yes');
    }
    const rejoin = await op.run('db', 'rejoin', 'replica1');
    const final = await tally(site, candidate, saves);
    return {
      mode,
      trial,
      acked: final.acked,
      lost: final.lost,
      lostAtPromotion: atPromotion.lost,
      duplicated: final.duplicated,
      indeterminate: final.indeterminate,
      notOnMirror: await notOnMirror(site, candidate, saves, final.present),
      diverged: diverged ? divergedSummary(diverged) : '-',
      reapply: reapply ? outcome(reapply) : '-',
      rejoin: outcome(rejoin),
      promoteToAckMs: timeToPublish(saves.events, promoted.startedAt, promoted.startedAt),
      killToAckMs: timeToPublish(saves.events, killedAt, killedAt),
      statusCliMs: status.ms,
      promoteCliMs: promoted.ms,
      plannedToAckMs: timeToPublish(saves.events, plannedStart, plannedStart + (planned.timeline.fenced ?? 0)),
    };
  } finally {
    running = false;
    await site.close();
  }
}

async function main(): Promise<void> {
  buildForOperator();
  const results: TrialResult[] = [];
  for (const [mode, trials] of [
    ['semi-sync', SEMI_TRIALS],
    ['async', ASYNC_TRIALS],
  ] as const) {
    for (let t = 1; t <= trials; t++) {
      const r = await runTrial(mode, t);
      results.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  }
  const fresh: FreshClusterResult[] = [];
  for (let n = 1; n <= FRESH_CLUSTERS; n++) {
    const r = await buildFreshCluster(n);
    fresh.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  const summary: Row[] = (['semi-sync', 'async'] as const).map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    const sum = (k: keyof TrialResult) => rs.reduce((a, r) => a + Number(r[k]), 0);
    const p = (k: keyof TrialResult, q: number) => percentile(rs.map((r) => Number(r[k])).filter(Number.isFinite), q);
    return {
      mode,
      trials: rs.length,
      acked: sum('acked'),
      lostAtPromotion: sum('lostAtPromotion'),
      lost: sum('lost'),
      duplicated: sum('duplicated'),
      notOnMirror: sum('notOnMirror'),
      rejoinOk: rs.filter((r) => r.rejoin === 'ok').length,
      reapplyOk: rs.filter((r) => r.reapply === 'ok').length,
      promoteToAckP50: p('promoteToAckMs', 50),
      promoteToAckMax: p('promoteToAckMs', 100),
      killToAckP50: p('killToAckMs', 50),
      killToAckMax: p('killToAckMs', 100),
    };
  });
  const table = (r: TrialResult): Row => ({
    mode: r.mode,
    trial: r.trial,
    acked: r.acked,
    lost: r.lost,
    lostAtPromotion: r.lostAtPromotion,
    duplicated: r.duplicated,
    notOnMirror: r.notOnMirror,
    rejoin: r.rejoin,
    'promote→ack ms': r.promoteToAckMs,
    'kill→ack ms': r.killToAckMs,
    diverged: r.diverged,
    reapply: r.reapply,
  });
  report(
    'failover',
    `Chaos failover: ${WRITERS} writers, planned switchover, kill -9 of the primary, runbook through the CLI (db status, db promote), then the killed node brought back (poll ${POLL_MS} ms); times in ms`,
    results.map(table),
    { summary, trials: results, freshClusters: fresh },
  );
  report('failover-summary', 'Per mode', summary);
  if (fresh.length)
    report(
      'failover-fresh',
      'A cluster from nothing by the runbook (ms per command)',
      fresh.map((f) => ({ ...f })),
    );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

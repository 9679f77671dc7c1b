// Chaos run (issue 7): 16 writers publish articles with unique titles through
// the API while a planned switchover happens and then the new primary is
// killed with SIGKILL at a random moment and the most advanced replica is
// promoted; writing carries on. Every acknowledged (201) save is recorded and
// looked for on the final primary and on the mirror afterwards.
// Semi-sync (AFTER_SYNC) and async replication are run separately.
//   npm run bench -- failover            (CHAOS_SEMI_TRIALS=10, CHAOS_ASYNC_TRIALS=4)
import { randomUUID } from 'node:crypto';
import { probeAll } from '../common/db/node-status';
import { promote } from '../app/db/promote';
import { currentPrimary, heldGtid } from '../app/db/promotion-plan';
import { gtidDistance } from '../common/db/gtid';
import { startFailoverSite, type FailoverSite, type SaveOutcome } from '../test/integration/failover-site';
import { percentile, report, Row } from './report';

const WRITERS = Number(process.env.CHAOS_WRITERS ?? 16);
const SEMI_TRIALS = Number(process.env.CHAOS_SEMI_TRIALS ?? 10);
const ASYNC_TRIALS = Number(process.env.CHAOS_ASYNC_TRIALS ?? 4);
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
  attempts: number;
  acknowledged: number;
  lost: number;
  indeterminate: number;
  indeterminatePresent: number;
  duplicates: number;
  notRendered: number;
  notOnMirror: number;
  mirrorCursorAtEnd: number;
  plannedPromoteMs: number;
  plannedToPublishMs: number;
  emergencyPromoteMs: number;
  emergencyToPublishMs: number;
  killedAfterMs: number;
  plannedSteps: string;
  emergencySteps: string;
}

/** Most advanced reachable replica: what an operator reads off `hyperstatic db status`. */
async function bestCandidate(site: FailoverSite): Promise<string> {
  const statuses = await probeAll(site.access.nodes, site.access.admin);
  const { name: primary } = currentPrimary(site.access.nodes, statuses);
  const replicas = statuses.filter((s) => s.reachable && s.name !== primary);
  replicas.sort((a, b) => gtidDistance(heldGtid(b), heldGtid(a)) - gtidDistance(heldGtid(a), heldGtid(b)));
  return replicas[0].name;
}

async function runTrial(mode: 'semi-sync' | 'async', trial: number): Promise<TrialResult> {
  const site = await startFailoverSite({ semiSync: mode === 'semi-sync', pollMs: POLL_MS });
  const events: Event[] = [];
  const titles = new Map<string, { acked?: SaveOutcome; attempts: number }>();
  let running = true;
  try {
    const writer = async (w: number) => {
      for (let n = 0; running; n++) {
        const title = `chaos ${mode} t${trial} w${w} n${n} ${randomUUID().slice(0, 8)}`;
        const key = randomUUID();
        const entry: { acked?: SaveOutcome; attempts: number } = { attempts: 0 };
        titles.set(title, entry);
        // A careful client: retry a 503 or an unanswered save with the same Idempotency-Key.
        while (running && !entry.acked) {
          entry.attempts++;
          const outcome = await site.saveOnce(title, { key, timeoutMs: SAVE_TIMEOUT_MS });
          events.push({ ...outcome, answeredAt: Date.now() });
          if (outcome.kind === 'acknowledged') entry.acked = outcome;
          else if (outcome.kind === 'refused' && outcome.status !== 503)
            throw new Error(`${title}: refused with ${outcome.status}`);
          else await sleep(50);
        }
        await sleep(20);
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    await sleep(between(500, 1500));
    const plannedStart = Date.now();
    const planned = await promote(site.access, 'replica1');
    await sleep(between(1000, 2500));
    const killedAt = Date.now();
    await site.node('replica1').kill('SIGKILL');
    const candidate = await bestCandidate(site);
    const emergencyStart = Date.now();
    const emergency = await promote(site.access, candidate);
    await sleep(2000);
    running = false;
    await Promise.all(writers);

    // What survived: the final primary is the truth.
    const finalPrimary = site.node(candidate);
    const rows: { id: number; title: string }[] = await finalPrimary.query(
      "SELECT id, title FROM hyperstatic.articles WHERE title LIKE 'chaos %'",
    );
    const present = new Map<string, number>();
    for (const r of rows) present.set(r.title, (present.get(r.title) ?? 0) + 1);
    let acknowledged = 0;
    let lost = 0;
    let indeterminate = 0;
    let indeterminatePresent = 0;
    for (const [title, entry] of titles) {
      if (entry.acked) {
        acknowledged++;
        if (!present.has(title)) lost++;
      } else {
        indeterminate++;
        if (present.has(title)) indeterminatePresent++;
      }
    }
    const duplicates = [...present.values()].filter((n) => n > 1).length;

    // Every acknowledged article rendered (its page journaled on the final
    // primary) and on the mirror.
    const deadline = Date.now() + 60_000;
    let mirrorDeadline = Infinity;
    for (;;) {
      const [{ n }] = await finalPrimary.query('SELECT COUNT(*) AS n FROM hyperstatic.outbox WHERE done_at IS NULL');
      const [{ head }] = await finalPrimary.query(
        'SELECT journal_head AS head FROM hyperstatic.cluster_state WHERE id = 1',
      );
      const cursor = site.mirror.cursor();
      if (Number(n) === 0 && cursor >= Number(head)) break;
      if (Number(n) === 0) mirrorDeadline = Math.min(mirrorDeadline, Date.now() + 15_000);
      if (Date.now() > Math.min(deadline, mirrorDeadline)) {
        process.stderr.write(
          `trial ${mode} ${trial}: not converged: ${n} render(s) pending, journal head ${head}, mirror cursor ${cursor}\n`,
        );
        break;
      }
      await sleep(200);
    }
    const rendered = new Set<string>(
      ((await finalPrimary.query("SELECT path FROM hyperstatic.pages WHERE op = 'put'")) as { path: string }[]).map(
        (r) => r.path,
      ),
    );
    let notRendered = 0;
    let notOnMirror = 0;
    for (const [title, entry] of titles) {
      if (!entry.acked || !present.has(title)) continue;
      if (!rendered.has(entry.acked.url!)) notRendered++;
      const res = await fetch(`${site.mirror.url}${entry.acked.url}`);
      const body = await res.text();
      if (res.status !== 200 || !body.includes(title)) notOnMirror++;
    }

    return {
      mode,
      trial,
      attempts: events.length,
      acknowledged,
      lost,
      indeterminate,
      indeterminatePresent,
      duplicates,
      notRendered,
      notOnMirror,
      mirrorCursorAtEnd: site.mirror.cursor(),
      plannedPromoteMs: planned.durationMs,
      plannedToPublishMs: timeToPublish(events, plannedStart, plannedStart + (planned.timeline.fenced ?? 0)),
      emergencyPromoteMs: emergency.durationMs,
      emergencyToPublishMs: timeToPublish(events, emergencyStart, emergencyStart),
      plannedSteps: JSON.stringify(planned.timeline),
      emergencySteps: JSON.stringify(emergency.timeline),
      killedAfterMs: killedAt - plannedStart,
    };
  } finally {
    running = false;
    await site.close();
  }
}

async function main(): Promise<void> {
  // The mirror's apply pipeline can still touch its closed store after a
  // site is shut down (a mirrors/ shutdown race); that must not end the run.
  process.on('uncaughtException', (error) => {
    if (/database connection is not open/.test(error.message))
      process.stderr.write(`ignored after shutdown: ${error.message}\n`);
    else {
      console.error(error);
      process.exit(1);
    }
  });
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
  const rows: Row[] = results.map((r) => ({ ...r }));
  const summary: Row[] = (['semi-sync', 'async'] as const).map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    const sum = (k: keyof TrialResult) => rs.reduce((a, r) => a + Number(r[k]), 0);
    const p = (k: keyof TrialResult, q: number) => percentile(rs.map((r) => Number(r[k])).filter(Number.isFinite), q);
    return {
      mode,
      trials: rs.length,
      acknowledged: sum('acknowledged'),
      lost: sum('lost'),
      indeterminate: sum('indeterminate'),
      indeterminatePresent: sum('indeterminatePresent'),
      duplicates: sum('duplicates'),
      notRendered: sum('notRendered'),
      notOnMirror: sum('notOnMirror'),
      mirrorsStuck: rs.filter((r) => r.notOnMirror > 0).length,
      plannedToPublishP50: p('plannedToPublishMs', 50),
      plannedToPublishMax: p('plannedToPublishMs', 100),
      emergencyToPublishP50: p('emergencyToPublishMs', 50),
      emergencyToPublishMax: p('emergencyToPublishMs', 100),
    };
  });
  report(
    'failover',
    `Chaos failover: ${WRITERS} writers, planned switchover then kill -9 of the primary and promotion (poll ${POLL_MS} ms); times in ms`,
    summary,
    { trials: rows },
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

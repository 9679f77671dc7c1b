// What `hyperstatic status` found, and the judgement on it: every fact has an
// age, a fact older than STATUS_STALE_SECONDS says nothing about now
// ("unknown", never "healthy"), and anything down, frozen, unknown or behind
// by more than STATUS_LAG_SECONDS is a problem that makes the command exit
// non-zero, so it can serve as a monitoring check (docs/operations.md,
// "Monitoring"). Pure: the caller gathers, this decides.
import type { NodeRow } from './db';
import type { RenderQueueFigures } from './status-backlog';
import type { ProcessProbe, ProxyStatus } from './status-probes';

export interface Thresholds {
  staleSeconds: number;
  lagSeconds: number;
}

/**
 * `ok`; `unknown` (its last report is older than the stale threshold, so
 * what it said no longer counts); `frozen` (its signed heartbeat lapsed);
 * `disconnected` (it reported losing the feed); `lagging` (behind by more
 * than the lag threshold); `retired` (its status credential was revoked:
 * shown, never a problem).
 */
export type MirrorState = 'ok' | 'unknown' | 'frozen' | 'disconnected' | 'lagging' | 'retired';

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
  /** The verdict on this row; the other fields are what its last report said, `reportAgeSeconds` ago. */
  state: MirrorState;
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
  /** When the facts were gathered (ISO 8601). */
  checkedAt: string;
  thresholds: Thresholds;
  /** False when `problems` is not empty; the command then exits 1. */
  healthy: boolean;
  /** One short sentence per thing that is down, frozen, unknown or lagging. */
  problems: string[];
  database: { primary: string; epoch: number; nodes: NodeRow[] } | { embedded: string };
  /** Saves waiting to render (the outbox) and, from the processes' /metrics, the render queue and pages per save. */
  queue: ({ pendingRenders: number; oldestPendingSeconds: number | null } & RenderQueueFigures) | { error: string };
  journal: { head: number; epoch: number } | { error: string };
  mirrors: MirrorRow[] | { error: string };
  /** Each process's own /readyz, asked just now. */
  processes: ProcessProbe[];
  proxies: ProxyStatus[];
  failedRenders: { unresolved: number; latest: FailedRender[] } | { error: string };
}

export type Facts = Omit<ClusterStatus, 'healthy' | 'problems'>;

export function mirrorState(m: Omit<MirrorRow, 'state'>, t: Thresholds, retired: boolean): MirrorState {
  if (retired) return 'retired';
  if (m.reportAgeSeconds > t.staleSeconds) return 'unknown';
  if (m.freshness === 'frozen') return 'frozen';
  if (!m.connected) return 'disconnected';
  if (m.lagSeconds > t.lagSeconds) return 'lagging';
  return 'ok';
}

function mirrorProblem(m: MirrorRow, t: Thresholds): string | undefined {
  const name = `mirror ${m.name}`;
  switch (m.state) {
    case 'unknown':
      return `${name} unknown: last report ${m.reportAgeSeconds.toFixed(0)} s old (over ${t.staleSeconds} s)`;
    case 'frozen':
      return `${name} frozen: its signed heartbeat lapsed`;
    case 'disconnected':
      return `${name} disconnected from the feed`;
    case 'lagging':
      return `${name} lagging ${m.lagSeconds.toFixed(0)} s (over ${t.lagSeconds} s)`;
    default:
      return undefined;
  }
}

function nodeProblem(n: NodeRow, t: Thresholds): string | undefined {
  if (!n.reachable) return `database node ${n.name} down${n.error ? `: ${n.error}` : ''}`;
  if (n.role !== 'replica') return undefined;
  if (n.lagSeconds === null) return `database node ${n.name} not replicating (${n.replicating ?? 'stopped'})`;
  if (n.lagSeconds > t.lagSeconds) return `database node ${n.name} lagging ${n.lagSeconds} s (over ${t.lagSeconds} s)`;
  return undefined;
}

/** Everything wrong in `facts`, one sentence each, in screen order. */
export function problemsOf(facts: Facts): string[] {
  const t = facts.thresholds;
  const out: string[] = [];
  if ('nodes' in facts.database) for (const n of facts.database.nodes) push(out, nodeProblem(n, t));
  if ('error' in facts.queue) out.push(`queue unavailable: ${facts.queue.error}`);
  else if ((facts.queue.oldestPendingSeconds ?? 0) > t.lagSeconds)
    out.push(`oldest pending render ${facts.queue.oldestPendingSeconds!.toFixed(0)} s old (over ${t.lagSeconds} s)`);
  if ('error' in facts.journal) out.push(`journal unavailable: ${facts.journal.error}`);
  if ('error' in facts.mirrors) out.push(`mirror reports unavailable: ${facts.mirrors.error}`);
  else for (const m of facts.mirrors) push(out, mirrorProblem(m, t));
  for (const p of facts.processes)
    if (p.state !== 'ready') out.push(`${p.kind} ${p.url} ${p.state === 'down' ? 'down' : 'not ready'}: ${p.error}`);
  if ('error' in facts.failedRenders) out.push(`failed renders unavailable: ${facts.failedRenders.error}`);
  else if (facts.failedRenders.unresolved > 0)
    out.push(`${facts.failedRenders.unresolved} failed render(s) unresolved`);
  return out;
}

export function judge(facts: Facts): ClusterStatus {
  const problems = problemsOf(facts);
  return { ...facts, healthy: problems.length === 0, problems };
}

/** The one line a monitoring system shows: `ok` or what is wrong. */
export function summaryLine(s: ClusterStatus): string {
  if (s.healthy) {
    const mirrors = 'error' in s.mirrors ? 0 : s.mirrors.length;
    return `ok: ${s.processes.length} process(es) ready, ${mirrors} mirror report(s) current (stale after ${s.thresholds.staleSeconds} s, lagging after ${s.thresholds.lagSeconds} s)`;
  }
  return `${s.problems.length} problem(s): ${s.problems.join('; ')}`;
}

function push(out: string[], problem: string | undefined): void {
  if (problem) out.push(problem);
}

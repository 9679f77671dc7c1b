// The operator of the failover chaos bench: every step is the real
// `bin/hyperstatic.js` in its own process, as the runbook has a person type
// it (docs/operations.md, Runbook), so the figures include the CLI's own
// start-up and a command that does not exist yet fails here as it would
// for a person. It runs the compiled build (NODE_ENV=production), as an
// installed site does: buildForOperator() makes it first.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { FailoverSite } from '../../test/integration/failover-site';
import { runCli, type CliRun } from '../../test/support/cli';

export interface OperatorStep extends CliRun {
  args: string[];
  ms: number;
  startedAt: number;
}

export interface Operator {
  run(...args: string[]): Promise<OperatorStep>;
  /** `db status --json`, then the reachable non-primary node with the most advanced received GTID. */
  mostAdvancedReplica(): Promise<{ step: OperatorStep; candidate: string | undefined }>;
}

export interface StatusView {
  primary: string;
  epoch: number;
  nodes: { name: string; role: string; reachable: boolean; gtidReceived: string | null; semiSync: string | null }[];
}

/** The highest sequence number per domain, summed: enough to rank the replicas of one primary. */
function seqSum(gtid: string | null): number {
  return (gtid ?? '')
    .split(',')
    .filter(Boolean)
    .reduce((sum, g) => sum + Number(g.split('-')[2] ?? 0), 0);
}

/** `npm run build`: the operator's commands run from dist/, as in production. */
export function buildForOperator(): void {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'build.js')], { stdio: 'inherit' });
}

export function operatorEnv(access: FailoverSite['access']): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATABASE_URL: access.nodes[0].url,
    DATABASE_NODES: access.nodes.map((n) => `${n.name}=${n.url}`).join(','),
    DATABASE_ADMIN_USER: access.admin.user,
    DATABASE_ADMIN_PASSWORD: access.admin.password,
    DATABASE_REPLICATION_USER: access.replication.user,
    DATABASE_REPLICATION_PASSWORD: access.replication.password,
  };
}

export function operator(env: NodeJS.ProcessEnv): Operator {
  const run = async (...args: string[]): Promise<OperatorStep> => {
    const startedAt = Date.now();
    const result = await runCli(args, { env });
    return { ...result, args, startedAt, ms: Date.now() - startedAt };
  };
  return {
    run,
    async mostAdvancedReplica() {
      const step = await run('db', 'status', '--json');
      if (step.code !== 0) return { step, candidate: undefined };
      const view = JSON.parse(step.stdout) as StatusView;
      const replicas = view.nodes.filter((n) => n.reachable && n.name !== view.primary);
      replicas.sort((a, b) => seqSum(b.gtidReceived) - seqSum(a.gtidReceived));
      return { step, candidate: replicas[0]?.name };
    },
  };
}

/** One line for the table: `ok`, or the exit code and the line that says why (a refusal's first reason). */
export function outcome(step: OperatorStep | undefined): string {
  if (!step) return 'not run';
  if (step.code === 0) return 'ok';
  const lines = `${step.stderr}\n${step.stdout}`
    .split('\n')
    .map((l) => l.trim().replace(/^hyperstatic:\s*/, ''))
    .filter(Boolean);
  const why = lines.find((l) => l.startsWith('- '))?.slice(2) ?? lines[0] ?? 'no message';
  return `exit ${step.code}: ${why.slice(0, 160)}`;
}

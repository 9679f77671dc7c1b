// A three-node cluster built from nothing by the runbook's commands only
// (docs/operations.md, "From nothing to a three-node cluster"): three empty
// servers with the runbook's MariaDB config, an operator account typed on
// each, then bootstrap, migrate, setup-replica twice, status and the first
// editor account, each through the real CLI. Part of the failover bench.
import { startMariaDBNodes } from '../../test/harness/mariadb';
import { operator, outcome, type OperatorStep, type StatusView } from './chaos-operator';

const ADMIN = { user: 'hs_admin', password: 'bench-admin-password' };
const APP = { user: 'hyperstatic', password: 'bench-app-password' };

export interface FreshClusterResult {
  run: number;
  ok: string;
  steps: string;
  totalMs: number;
  primary: string;
  semiSync: string;
}

export async function buildFreshCluster(run: number): Promise<FreshClusterResult> {
  const bare = await startMariaDBNodes(3);
  try {
    for (const node of bare.nodes) {
      await node.query(`CREATE USER '${ADMIN.user}'@'%' IDENTIFIED BY '${ADMIN.password}'`);
      await node.query(`GRANT ALL PRIVILEGES ON *.* TO '${ADMIN.user}'@'%' WITH GRANT OPTION`);
    }
    const url = (port: number) => `mysql://${APP.user}:${APP.password}@127.0.0.1:${port}/hyperstatic`;
    const op = operator({
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      DATABASE_URL: url(bare.nodes[0].port),
      DATABASE_NODES: bare.nodes.map((n) => `${n.name}=${url(n.port)}`).join(','),
      DATABASE_ADMIN_USER: ADMIN.user,
      DATABASE_ADMIN_PASSWORD: ADMIN.password,
      DATABASE_REPLICATION_USER: 'repl',
      DATABASE_REPLICATION_PASSWORD: 'bench-repl-password',
    });
    const runbook = [
      ['db', 'bootstrap', 'db1'],
      ['db', 'migrate'],
      ['db', 'setup-replica', 'db2', '--semi-sync'],
      ['db', 'setup-replica', 'db3', '--semi-sync'],
      ['db', 'status', '--json'],
      ['user', 'add', 'admin', '--role', 'admin'],
    ];
    const steps: OperatorStep[] = [];
    for (const args of runbook) {
      const step = await op.run(...args);
      steps.push(step);
      if (step.code !== 0) break;
    }
    const status = steps.find((s) => s.args[1] === 'status' && s.code === 0);
    const view = status ? (JSON.parse(status.stdout) as StatusView) : undefined;
    const healthy =
      view?.primary === 'db1' &&
      /^source ON, 2 replica/.test(view.nodes[0].semiSync ?? '') &&
      view.nodes.slice(1).every((n) => n.role === 'replica' && n.semiSync === 'replica ON');
    const failed = steps.find((s) => s.code !== 0);
    return {
      run,
      ok: failed ? `${failed.args.join(' ')}: ${outcome(failed)}` : healthy ? 'ok' : 'commands ok, status unexpected',
      steps: steps.map((s) => `${s.args.slice(0, 2).join(' ')} ${s.ms}`).join('; '),
      totalMs: steps.reduce((sum, s) => sum + s.ms, 0),
      primary: view?.primary ?? '-',
      semiSync: view ? view.nodes.map((n) => `${n.name}: ${n.semiSync}`).join('; ') : '-',
    };
  } finally {
    await bare.stop();
  }
}

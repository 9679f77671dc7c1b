// `hyperstatic db bootstrap NODE`: flags to a call of app/db/bootstrap.ts,
// its result to text. Registered by db.ts under `hyperstatic db`.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../common/config';
import { bootstrap } from '../../app/db/bootstrap';
import type { ClusterAccess } from '../../app/db/promote';

export function registerBootstrap(
  db: Command,
  deps: { clusterAccess: (config: Config) => ClusterAccess; out: (line: string) => void },
): void {
  const { out } = deps;
  db.command('bootstrap')
    .description(
      'Open NODE as the first primary of a new cluster: create the database and the app and replication accounts, apply the migrations, record NODE as primary, make it writable. Refused on a node that belongs to a cluster (a topology record anywhere, replication, another writable node, content)',
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--dry-run', 'run the checks and print the steps; change nothing')
    .action(async (node: string, flags: { dryRun?: boolean }) => {
      const access = deps.clusterAccess(loadConfig());
      const result = await bootstrap(access, node, { dryRun: flags.dryRun, log: (l) => out(`  ${l}`) });
      if (!result.executed) {
        out(`Plan: bootstrap ${node}`);
        result.plan.steps.forEach((s, i) => out(`  ${i + 1}. ${s}`));
        out('Safe to bootstrap: run again without --dry-run.');
        return;
      }
      const others = access.nodes.filter((n) => n.name !== node).map((n) => n.name);
      out(`${node} is the primary of a new cluster (epoch ${result.epoch}, GTID ${result.gtid || 'none'})`);
      if (others.length) out(`next: ${others.map((n) => `hyperstatic db setup-replica ${n} --semi-sync`).join('; ')}`);
    });
}

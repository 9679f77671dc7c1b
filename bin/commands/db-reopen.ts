// `hyperstatic db reopen NODE`: flags to a call of app/db/reopen.ts, its
// result to text. Registered by db.ts under `hyperstatic db`.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../common/config';
import type { ClusterAccess } from '../../app/db/promote';
import { reopen } from '../../app/db/reopen';

export function registerReopen(
  db: Command,
  deps: { clusterAccess: (config: Config) => ClusterAccess; out: (line: string) => void },
): void {
  const { out } = deps;
  db.command('reopen')
    .description(
      'Make the recorded primary NODE writable again after it restarted with no failover (every node starts read_only = 1). Refused unless NODE is the primary the topology record names, no other node is writable or holds transactions NODE lacks, and every node can be asked',
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--dry-run', 'run the checks and print the steps; change nothing')
    .option('--ignore-unreachable', 'reopen although some nodes cannot be asked (only if you know none was promoted)')
    .action(async (node: string, flags: { dryRun?: boolean; ignoreUnreachable?: boolean }) => {
      const access = deps.clusterAccess(loadConfig());
      const result = await reopen(access, node, {
        dryRun: flags.dryRun,
        ignoreUnreachable: flags.ignoreUnreachable,
        log: (l) => out(`  ${l}`),
      });
      for (const w of result.plan.warnings) out(`warning: ${w}`);
      if (!result.executed) {
        out(`Plan: reopen ${node}`);
        result.plan.steps.forEach((s, i) => out(`  ${i + 1}. ${s}`));
        out('Safe to reopen: run again without --dry-run.');
        return;
      }
      out(`${node} is the writable primary again (epoch ${result.plan.epoch})`);
    });
}

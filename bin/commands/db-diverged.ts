// `hyperstatic db rejoin | diverged | reapply`: bringing a returned old
// primary back. `diverged` lists what it holds that the cluster lacks, as
// content; `reapply` saves the acknowledged part again on the primary;
// `rejoin` discards the rest and makes it a replica. The work is in
// app/db/rejoin.ts, diverged.ts and reapply.ts.
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import { createDatabase } from '../../common/db/database';
import { withCredentials } from '../../common/db/topology';
import type { DivergenceReport } from '../../app/db/diverged';
import { describeItem, discardBlockers } from '../../app/db/divergence';
import { QUIET_KNEX } from '../cli-support';
import { clusterAccess, withPrimary } from './db';

const out = (s: string) => process.stdout.write(`${s}\n`);

/** The JSON of `db diverged --json` (docs/operations.md, "CLI reference"). */
function reportJson(report: DivergenceReport) {
  return {
    node: report.node,
    primary: report.primary,
    gtids: report.gtids,
    acknowledgement: report.acknowledgement,
    items: report.items.map((i) => ({
      kind: i.kind,
      id: i.id,
      slug: i.slug,
      title: i.title,
      change: i.change,
      by: i.by,
      at: i.at,
      acknowledged: i.acknowledged,
      onPrimary: i.onPrimary,
      reapplied: i.reapplied,
      gtids: i.gtids,
    })),
  };
}

function printReport(report: DivergenceReport, verb: string): void {
  if (report.gtids.length === 0) {
    out(`${report.node} holds nothing ${report.primary} lacks`);
    return;
  }
  out(
    `${report.node} holds ${report.gtids.length} transaction(s) ${report.primary} lacks (${report.gtids.join(', ')}); ${verb}:`,
  );
  for (const item of report.items) out(`  - ${describeItem(item)}`);
  if (report.items.length === 0) out('  (no content: rendered pages, journal and session rows only)');
  out(`  acknowledged? ${report.acknowledgement}`);
}

export function register(program: Command): void {
  const db = program.commands.find((c) => c.name() === 'db');
  if (!db) throw new Error('register the db commands first');

  db.command('rejoin')
    .description(
      'Turn a returned old primary (or any node that is not the primary) into a replica of the primary, discarding what it holds that the cluster lacks when no client was told it succeeded',
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--dry-run', 'print what would be discarded and whether the rejoin is safe; change nothing')
    .option(
      '--force',
      'rejoin even if that discards acknowledged changes (or, with schema changes, keep them unreplicated)',
    )
    .action(async (node: string, flags: { dryRun?: boolean; force?: boolean }) => {
      const { rejoinNode } = require('../../app/db/rejoin') as typeof import('../../app/db/rejoin');
      const access = clusterAccess(loadConfig());
      const result = await rejoinNode(access, node, { ...flags, log: (l) => out(`  ${l}`) });
      if (!flags.dryRun) {
        out(
          `${node} rejoined as a replica of ${result.primary}${result.discarded.length ? ` (discarded ${result.discarded.join(', ')})` : ''}`,
        );
        return;
      }
      printReport(result.report, 'rejoin discards them');
      const { lost, undoable } = discardBlockers(result.report.items);
      if (lost.length > 0 || !undoable) {
        out(
          lost.length > 0
            ? `Refused unless --force: ${lost.length} acknowledged change(s) would be lost; run \`hyperstatic db reapply ${node} --yes\` first.`
            : 'Refused unless --force: schema changes cannot be undone from the binlog.',
        );
        process.exitCode = 1;
      } else out(`Safe to rejoin ${node} as a replica of ${result.primary}: run again without --dry-run.`);
    });

  db.command('diverged')
    .description(
      'List what NODE holds that the primary lacks, as content: articles, events, media, settings, by whom, when, and whether a client was told they succeeded',
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--json', 'print JSON')
    .action(async (node: string, flags: { json?: boolean }) => {
      const { findDivergence } = require('../../app/db/diverged') as typeof import('../../app/db/diverged');
      const report = await findDivergence(clusterAccess(loadConfig()), node);
      if (flags.json) out(JSON.stringify(reportJson(report), null, 2));
      else printReport(report, '`db rejoin` discards them, `db reapply` saves the acknowledged ones again');
    });

  db.command('reapply')
    .description(
      'Save again on the primary, as new saves with revisions, the acknowledged changes only NODE holds (before rejoining it); a second run saves nothing twice',
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--yes', 'do it (without: print what would be re-applied)')
    .option('--json', 'print JSON')
    .action(reapplyNode);
}

async function reapplyNode(node: string, flags: { yes?: boolean; json?: boolean }): Promise<void> {
  const { reapply } = require('../../app/db/reapply') as typeof import('../../app/db/reapply');
  const config = loadConfig();
  const access = clusterAccess(config);
  const spec = access.nodes.find((n) => n.name === node);
  if (!spec)
    throw new Error(`unknown node "${node}"; the configured nodes are ${access.nodes.map((n) => n.name).join(', ')}`);
  const nodeDb = createDatabase(withCredentials(spec.url, access.admin.user, access.admin.password), {
    log: QUIET_KNEX,
    poolMax: 1,
  });
  try {
    const result = await withPrimary(config, (primary) =>
      reapply(access, node, { primary, node: nodeDb }, { dryRun: !flags.yes, log: flags.json ? undefined : out }),
    );
    if (flags.json) {
      out(
        JSON.stringify(
          {
            node,
            executed: result.executed,
            applied: result.applied.map((a) => ({
              kind: a.item.kind,
              from: a.item.id,
              title: a.item.title,
              id: a.id,
              url: a.url,
            })),
            skipped: result.skipped.map((s) => ({ kind: s.item.kind, id: s.item.id, title: s.item.title, why: s.why })),
          },
          null,
          2,
        ),
      );
      return;
    }
    const verb = result.executed ? 'Re-applied' : 'Would re-apply';
    out(`${verb} ${result.applied.length} change(s) from ${node} on the primary:`);
    for (const a of result.applied)
      out(`  - ${describeItem(a.item)}${a.id !== undefined ? ` -> ${a.item.kind} ${a.id} ${a.url ?? ''}` : ''}`);
    for (const s of result.skipped) out(`  skipped ${s.item.kind} ${s.item.id}: ${s.why}`);
    if (!result.executed && result.applied.length > 0) out('Run again with --yes to save them.');
  } finally {
    await nodeDb.destroy();
  }
}

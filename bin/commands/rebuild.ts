// `hyperstatic rebuild`: regenerate the whole public site from the database.
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import type { RebuildProgress } from '../../producer/rebuild';
import { withDatabase } from '../cli-support';

export function register(program: Command): void {
  program
    .command('rebuild')
    .description('Regenerate every public page from the database in bounded memory; journals only pages whose bytes changed. Interrupt with Ctrl-C and run again to resume.')
    .option('--restart', 'start over instead of resuming an unfinished rebuild')
    .option('--batch-size <n>', 'items per batch (and per journal batch)', '500')
    .option('--json', 'print a JSON summary (pages, pages/s, peak RSS) as the last line')
    .action(async (flags: { restart?: boolean; batchSize: string; json?: boolean }) => {
      const batchSize = Number(flags.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw new Error(`--batch-size must be an integer from 1 to 5000, got ${JSON.stringify(flags.batchSize)}`);
      const config = loadConfig();
      const controller = new AbortController();
      const interrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\ninterrupting after the current batch (Ctrl-C again to quit at once)…\n');
        controller.abort();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      const progress = progressReporter(process.stderr);
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      const { rebuild } = require('../../producer/rebuild') as typeof import('../../producer/rebuild');
      const { createRenderer } = require('../../producer/renderer') as typeof import('../../producer/renderer');
      const result = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        return rebuild({
          db,
          renderer: createRenderer({ name: config.siteName, publicUrl: config.publicUrl }),
          batchSize,
          restart: flags.restart,
          signal: controller.signal,
          onProgress: progress.update,
        });
      });
      progress.done();
      const rate = result.seconds > 0 ? result.pages / result.seconds : 0;
      const peakRssMb = process.resourceUsage().maxRSS / 1024;
      process.stdout.write(
        result.completed
          ? `rebuilt ${result.pages} pages (${result.written} changed) in ${result.seconds.toFixed(1)} s: ${rate.toFixed(0)} pages/s, peak RSS ${peakRssMb.toFixed(0)} MB${result.resumed ? ' (resumed)' : ''}\n`
          : `interrupted after ${result.pages} pages; run \`hyperstatic rebuild\` again to resume\n`,
      );
      // CPU seconds of this process: steadier than wall time on a shared machine.
      const usage = process.resourceUsage();
      const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, pagesPerSecond: rate, peakRssMb, cpuSeconds })}\n`);
      process.exitCode = result.completed ? 0 : 130;
    });
}

/** A one-line progress bar on a terminal; a plain log line every 5 s otherwise. */
export function progressReporter(out: NodeJS.WriteStream) {
  const tty = Boolean(out.isTTY);
  let lastLog = 0;
  let last: RebuildProgress | undefined;
  const line = (p: RebuildProgress) => {
    const fraction = p.total > 0 ? Math.min(1, p.pages / p.total) : 0;
    const eta = Number.isFinite(p.etaSeconds) ? `${Math.ceil(p.etaSeconds)} s` : '?';
    return `${p.phase.padEnd(8)} ${(fraction * 100).toFixed(1).padStart(5)}%  ${p.pages}/${p.total} pages  ${p.written} changed  ${p.pagesPerSecond.toFixed(0)} pages/s  ETA ${eta}`;
  };
  return {
    update(p: RebuildProgress) {
      last = p;
      if (tty) {
        const width = 24;
        const filled = Math.round(width * Math.min(1, p.total > 0 ? p.pages / p.total : 0));
        out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line(p)}\x1b[K`);
      } else if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        out.write(`rebuild: ${line(p)}\n`);
      }
    },
    done() {
      if (tty && last) out.write('\n');
    },
  };
}

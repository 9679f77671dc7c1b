// `hyperstatic rebuild`: regenerate the whole public site from the database.
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import type { RebuildProgress } from '../../producer/rebuild';
import { withDatabase } from '../cli-support';

export function register(program: Command): void {
  program
    .command('rebuild')
    .description(
      'Regenerate every public page from the database in bounded memory; journals only pages whose bytes changed. Interrupt with Ctrl-C and run again to resume.',
    )
    .option('--restart', 'start over instead of resuming an unfinished rebuild')
    .option('--batch-size <n>', 'items per batch (and per journal batch)', '500')
    .option('--json', 'print a JSON summary (pages, pages/s, peak RSS) as the last line')
    .action(async (flags: { restart?: boolean; batchSize: string; json?: boolean }) => {
      const batchSize = Number(flags.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000)
        throw new Error(`--batch-size must be an integer from 1 to 5000, got ${JSON.stringify(flags.batchSize)}`);
      const config = loadConfig();
      const controller = new AbortController();
      const progress = progressReporter(process.stderr);
      const interrupt = interruptHandler(controller, progress, process.stderr);
      process.on('SIGINT', interrupt.handle);
      process.on('SIGTERM', interrupt.handle);
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      const { rebuild } = require('../../producer/rebuild') as typeof import('../../producer/rebuild');
      const { createRenderer } = require('../../producer/renderer') as typeof import('../../producer/renderer');
      // The bar is closed (and the cursor shown again) before any error is printed.
      const result = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        return rebuild({
          db,
          renderer: createRenderer({
            name: config.siteName,
            publicUrl: config.publicUrl,
            language: config.siteLanguage,
          }),
          batchSize,
          restart: flags.restart,
          signal: controller.signal,
          onProgress: progress.update,
        }).finally(interrupt.finished);
      }).finally(() => progress.done());
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
      if (flags.json)
        process.stdout.write(`${JSON.stringify({ ...result, pagesPerSecond: rate, peakRssMb, cpuSeconds })}\n`);
      process.exitCode = result.completed ? 0 : 130;
    });
}

/**
 * Ctrl-C during a rebuild: the first stops it after the current batch, the
 * second quits at once. Once the rebuild has returned there is nothing left to
 * interrupt, so a Ctrl-C that arrives as it finishes says nothing (it used to
 * print "interrupting…" after the success line) and the process exits as it was going to.
 */
export function interruptHandler(
  controller: AbortController,
  progress: { done(): void },
  out: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
) {
  let finished = false;
  return {
    handle() {
      if (finished) return;
      if (controller.signal.aborted) {
        progress.done();
        exit(130);
        return;
      }
      out.write('\ninterrupting after the current batch (Ctrl-C again to quit at once)…\n');
      controller.abort();
    },
    finished() {
      finished = true;
    },
  };
}

/** A progress bar (cli-progress) on a terminal; a plain log line every 5 s otherwise (systemd, CI, a pipe). */
export function progressReporter(
  out: NodeJS.WritableStream & { isTTY?: boolean },
  options: { intervalMs?: number } = {},
) {
  const intervalMs = options.intervalMs ?? 5000;
  const payload = (p: RebuildProgress) => ({
    phase: p.phase.padEnd(8),
    changed: p.written,
    rate: p.pagesPerSecond.toFixed(0),
    remaining: Number.isFinite(p.etaSeconds) ? `${Math.ceil(p.etaSeconds)} s` : '?',
  });
  if (out.isTTY) {
    // Loaded here: every command's start (a failover's `db promote` too) would carry it otherwise.
    const { Presets, SingleBar } = require('cli-progress') as typeof import('cli-progress');
    const bar = new SingleBar(
      {
        format:
          'rebuild [{bar}] {percentage}% {phase} {value}/{total} pages | {changed} changed | {rate} pages/s | ETA {remaining}',
        stream: out,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(p: RebuildProgress) {
        if (!started) bar.start(p.total, p.pages, payload(p));
        else {
          bar.setTotal(p.total);
          bar.update(p.pages, payload(p));
        }
        started = true;
      },
      done() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let lastLog = 0;
  return {
    update(p: RebuildProgress) {
      if (Date.now() - lastLog < intervalMs) return;
      lastLog = Date.now();
      const v = payload(p);
      const percent = p.total > 0 ? ((100 * Math.min(p.pages, p.total)) / p.total).toFixed(1) : '0.0';
      out.write(
        `rebuild: ${v.phase} ${percent.padStart(5)}%  ${p.pages}/${p.total} pages  ${v.changed} changed  ${v.rate} pages/s  ETA ${v.remaining}\n`,
      );
    },
    done() {},
  };
}

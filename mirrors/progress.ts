// Progress of long mirror operations (bootstrap, verify): a bar on a
// terminal, a log line every few seconds otherwise (systemd, containers).
import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from '../common/logger';

export interface Progress {
  setTotal(total: number): void;
  increment(by: number): void;
  stop(): void;
}

export function createProgress(
  label: string,
  logger: Logger,
  options: { tty?: boolean; intervalMs?: number } = {},
): Progress {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  let total = 0;
  let done = 0;
  if (tty) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} pages | {eta_formatted} left`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(0, 0);
    return {
      setTotal: (n) => bar.setTotal(n),
      increment: (by) => bar.increment(by),
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.intervalMs ?? 5000;
  const started = Date.now();
  let lastLog = started;
  return {
    setTotal(n) {
      total = n;
      logger.info({ total }, `${label}: starting`);
    },
    increment(by) {
      done += by;
      if (Date.now() - lastLog >= intervalMs) {
        lastLog = Date.now();
        logger.info({ done, total, perSecond: Math.round(done / ((lastLog - started) / 1000)) }, `${label}: progress`);
      }
    },
    stop() {
      logger.info({ done, total, seconds: (Date.now() - started) / 1000 }, `${label}: finished`);
    },
  };
}

// Structured JSON logs (pino) to stdout; one child logger per component.
// Levels are written by name ("level":"info"), so a person reading the
// journal and a log shipper matching on it need no table of pino's numbers.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';

export type Logger = pino.Logger;

// One stdout destination per process, shared by every component's logger:
// separate ones would each buffer on their own and interleave out of order.
let stdout: pino.DestinationStream | undefined;

function destination(): pino.DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

/**
 * A component's logger, to stdout; `to: 'stderr'` for a command whose stdout
 * is its answer (`hyperstatic token create` prints the token alone).
 */
export function createLogger(level: string, component: string, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino(
    {
      level,
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    to === 'stdout' ? destination() : pino.destination({ dest: 2, sync: true }),
  );
}

/** Writes text for a person to stdout after every log line written so far (whatever LOG_LEVEL is). */
export function writeAfterLogs(text: string): void {
  destination().write(text);
}

let cachedVersion: string | undefined;

/**
 * This build's version, from the package.json above this file (found by
 * walking up, so the same code works from the sources and from a compiled copy).
 */
export function hyperstaticVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hyperstatic' && pkg.version) {
        cachedVersion = pkg.version;
        break;
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  return cachedVersion;
}

/** The one line every component logs once it listens: its role, its port and the version running. */
export function logStarted(
  logger: Logger,
  role: string,
  details: { readonly url?: string } & Record<string, unknown>,
  message: string,
): void {
  const port = details.url ? Number(new URL(details.url).port) : undefined;
  logger.info({ role, port, version: hyperstaticVersion(), ...details }, message);
}

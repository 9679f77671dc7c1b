// Reports this mirror's sync state to the origin (`POST /mirror-status`) on
// a timer, so operators see every mirror's lag in one place. A failed report
// is logged at debug and retried next round: reporting must never disturb
// syncing.
import { MIRROR_STATUS_PATH } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { SyncSnapshot } from './sync-status';

export interface StatusReporter {
  /** Sends one report now (to the first origin that accepts it). */
  reportNow(): Promise<void>;
  close(): void;
}

/** The report's JSON body (app/feed/mirror-status.ts parses it). */
function reportBody(name: string, url: string, s: SyncSnapshot, freshUntil: number | undefined): object {
  return {
    name,
    url,
    cursor: s.cursor,
    epoch: s.epoch,
    head: s.head,
    lagEntries: Math.max(0, s.head - s.cursor),
    lagSeconds: s.lagSeconds,
    connected: s.connected,
    source: s.source,
    lastError: s.lastError,
    freshUntil: freshUntil ?? null,
  };
}

export function startStatusReporter(options: {
  name: string;
  url: string;
  origins: string[];
  token: string;
  intervalMs: number;
  snapshot: () => SyncSnapshot;
  /** Until when the newest trusted heartbeat vouches for the copy (ms), if any. */
  freshUntil?: () => number | undefined;
  logger: Logger;
}): StatusReporter {
  const { logger } = options;
  let closed = false;
  let refusedBefore = false;

  async function reportNow(): Promise<void> {
    const body = JSON.stringify(reportBody(options.name, options.url, options.snapshot(), options.freshUntil?.()));
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const errors: string[] = [];
    for (const origin of options.origins) {
      try {
        const res = await fetch(`${origin}${MIRROR_STATUS_PATH}`, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(5000),
        });
        if (res.status === 204) {
          await res.body?.cancel().catch(() => undefined);
          refusedBefore = false;
          return;
        }
        const reason =
          res.status === 401 || res.status === 403
            ? ((await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined)?.error
                ?.message
            : undefined;
        if (reason === undefined) await res.body?.cancel().catch(() => undefined);
        else if (!refusedBefore) {
          // A wrong or revoked MIRROR_STATUS_TOKEN needs an operator: say so once, not every interval.
          refusedBefore = true;
          logger.warn(
            { origin, status: res.status, reason },
            "the origin refused this mirror's status report; check MIRROR_NAME and MIRROR_STATUS_TOKEN",
          );
        }
        errors.push(`${origin}: ${res.status}${reason ? ` ${reason}` : ''}`);
      } catch (error) {
        errors.push(`${origin}: ${(error as Error).message}`);
      }
    }
    throw new Error(`status report refused: ${errors.join('; ')}`);
  }

  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          if (closed) return;
          reportNow().catch((error: unknown) =>
            logger.debug({ err: (error as Error).message }, 'mirror status report failed'),
          );
        }, options.intervalMs)
      : undefined;
  timer?.unref();
  return {
    reportNow,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

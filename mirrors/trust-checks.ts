// The feed follower's trust hooks for a mirror (docs/trust.md): statements
// are absorbed one by one, the hello's and every heartbeat's signature and
// epoch are checked, and so is every batch's signature. Anything refused is
// logged and counted by what and why, and drops the source (the follower
// rotates to the next); nothing refused changes what the mirror stores.
import type { FollowFeedOptions } from '../common/feed-client';
import { verifyBatchTrust } from '../common/feed-format';
import type { Logger } from '../common/logger';
import { parseHeartbeat, TrustError } from '../common/trust/statements';
import type { TrustState } from '../common/trust/trust-state';
import type { FeedHub } from './feed-hub';
import { absorbTrust } from './manifest-sync';
import type { MirrorMetrics } from './metrics';

type TrustHooks = Pick<FollowFeedOptions, 'epochFloor' | 'onTrust' | 'verifyHello' | 'onHeartbeat' | 'verify'>;

export function trustChecks(deps: {
  trust: TrustState;
  /** This mirror's own feed: it relays new statements and the newest heartbeat to its followers. */
  hub: FeedHub;
  metrics: MirrorMetrics;
  logger: Logger;
  /** Drops the current connection (a revocation may concern the server followed now). */
  restart: (reason: Error) => void;
  /** A key was just revoked: the caller checks whether the copy already holds what it signed. */
  onRevoked?: (key: string) => void;
}): TrustHooks {
  const { trust, hub, metrics, logger } = deps;

  /** Counts and logs a refusal, then rethrows it so the follower drops the source. */
  function refuse(what: string, source: string, error: unknown): never {
    const reason = error instanceof TrustError ? error.reason : 'malformed';
    metrics.trustRefusals.inc({ what, reason });
    if (what === 'batch') metrics.signatureRejections.inc();
    logger.error({ source, what, reason, err: (error as Error).message }, `refused a ${what}: not trusted`);
    throw error;
  }

  /** A checked heartbeat: relayed to this mirror's followers when it is the newest; returns its epoch. */
  function takeHeartbeat(raw: unknown, source: string, what: 'hello' | 'heartbeat'): number {
    try {
      // A hello without a heartbeat is `hello {"epoch":99}` as a forger sends it: unsigned, not malformed.
      if (raw === undefined) throw new TrustError('unsigned', `the ${what} carries no signed heartbeat`);
      const heartbeat = parseHeartbeat(raw);
      if (trust.acceptHeartbeat(heartbeat).latest) hub.publishHeartbeat(heartbeat);
      return heartbeat.epoch;
    } catch (error) {
      return refuse(what, source, error);
    }
  }

  return {
    epochFloor: () => trust.highestEpoch(),
    onTrust: (bundle, source) => {
      let added;
      try {
        added = absorbTrust(trust, bundle, logger, (reason) =>
          metrics.trustRefusals.inc({ what: 'statement', reason }),
        );
      } catch (error) {
        metrics.trustRefusals.inc({ what: 'statement', reason: 'malformed' });
        logger.warn({ source, err: (error as Error).message }, 'refused a malformed trust bundle');
        return;
      }
      if (added.length === 0) return;
      hub.publishTrust(trust.bundle());
      // A new revocation may concern the very server followed now: reconnect and check again.
      const revoked = added.filter((s) => s.statement.type === 'revocation');
      for (const r of revoked) deps.onRevoked?.(r.statement.key);
      if (revoked.length > 0) deps.restart(new Error('a key was revoked'));
    },
    verifyHello: (hello, source) => takeHeartbeat(hello.heartbeat, source, 'hello'),
    onHeartbeat: (raw, source) => takeHeartbeat(raw, source, 'heartbeat'),
    verify: (batch) => {
      try {
        verifyBatchTrust(batch, trust);
      } catch (error) {
        refuse('batch', `batch ${batch.batch}`, error);
      }
    },
  };
}

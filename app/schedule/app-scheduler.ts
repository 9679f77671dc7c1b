// The origin app's scheduler, wired from its configuration: bull delayed
// jobs when Redis is configured (they survive this process), an in-process
// timer otherwise (the embedded mode; re-armed from the database on start).
import { Config, redisTarget } from '../../common/config';
import type { Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import type { EditorialItems } from '../content/item-kinds';
import type { OutboxRelay } from '../outbox/outbox-relay';
import { createTimerAlarm } from './alarm';
import { createBullAlarm } from './bull-alarm';
import { newsAgeOut } from './news-age-out';
import { Scheduler, startScheduler } from './scheduler';

export function startAppScheduler(
  config: Config,
  deps: { db: Database; items: EditorialItems; logger: Logger; now: () => number; relay: OutboxRelay },
): Scheduler {
  const redis = redisTarget(config);
  const { relay, ...rest } = deps;
  return startScheduler({
    ...rest,
    // Applied changes wake the relay once, after the whole instant is written.
    onApplied: () => relay.wake(),
    holdDispatch: (work) => relay.hold(work),
    alarm: redis ? createBullAlarm(redis, deps.logger, config.redisPrefix, deps.now) : createTimerAlarm(deps.now),
    recheckMs: config.scheduleRecheckMs,
    sources: [newsAgeOut(deps.db)],
  });
}

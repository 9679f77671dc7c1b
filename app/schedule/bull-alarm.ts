// The production alarm: bull delayed jobs on Redis, so a scheduled instant
// survives the restart of any one app process and is served by whichever
// app takes the job. One job per instant (its id is the instant), so every
// app arming the same instant adds it once. The job carries nothing: the
// database says what is due (app/schedule/alarm.ts).
import Queue from 'bull';
import type Redis from 'ioredis';
import type { Logger } from '../../common/logger';
import { connectRedis, endRedis, RedisConnection } from '../../common/redis';
import type { Alarm } from './alarm';

const ADD_TIMEOUT_MS = 3000;
/** How long close() waits for bull's own close: with Redis down it never ends, and a stop must. */
const CLOSE_GRACE_MS = 1000;

export function createBullAlarm(
  redis: RedisConnection,
  logger: Logger,
  prefix: string,
  now: () => number,
): Alarm & { queue: Queue.Queue } {
  // Every client bull asked for: one made once close() began is ended at once (as the render queue does).
  const clients: { type: string; client: Redis }[] = [];
  let closing = false;
  const queue = new Queue(`${prefix}-schedule`, {
    createClient(type) {
      const options =
        type === 'client' ? { maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null, enableReadyCheck: false };
      const client = connectRedis(redis, { ...options, retryStrategy: (times) => Math.min(times * 200, 2000) });
      client.on('error', (error) => logger.debug({ err: error, type }, 'redis connection error'));
      clients.push({ type, client });
      if (closing) queueMicrotask(() => endRedis(client));
      return client;
    },
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
  });
  queue.on('error', (error) => logger.warn({ err: error }, 'schedule queue error'));
  return {
    queue,
    async set(at) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis did not take the schedule job within ${ADD_TIMEOUT_MS} ms`)),
          ADD_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([queue.add({}, { jobId: `at-${at}`, delay: Math.max(0, at - now()) }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    start(onAlarm) {
      // bull names its blocking connection in a promise it never catches (see common/queue/bull-queue.ts,
      // process()): a stop right after start-up would crash the process with "Connection is closed.".
      const named = queue as unknown as { setWorkerName(): Promise<unknown> };
      const setWorkerName = named.setWorkerName.bind(queue);
      named.setWorkerName = () => setWorkerName().catch(() => undefined);
      queue
        .process(1, () => onAlarm())
        .catch((error: unknown) => {
          logger.debug({ err: error }, 'schedule queue stopped taking jobs');
        });
    },
    async close() {
      closing = true;
      // As the render queue does (common/queue/bull-queue.ts): dropping the
      // blocking client ends its BRPOPLPUSH now rather than after bull's 5 s drain delay.
      for (const { type, client } of clients) if (type === 'bclient') endRedis(client);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        queue.close().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(timer);
      for (const { client } of clients) endRedis(client);
    },
  };
}

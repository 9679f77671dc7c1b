// The production render queue: bull on Redis.
import Queue from 'bull';
import type { RedisOptions } from 'ioredis';
import type { Logger } from '../logger';
import { connectRedis, RedisConnection } from '../redis';
import { isUnrecoverable, jobId, RenderJob, RenderQueue, RETRY_ATTEMPTS, RETRY_BASE_DELAY_MS } from './render-queue';

const ENQUEUE_TIMEOUT_MS = 3000;
const CONNECT_WAIT_MS = 1000;

export function createBullQueue(redis: RedisConnection, logger: Logger, prefix = 'hyperstatic'): RenderQueue {
  const queue = new Queue<RenderJob>(`${prefix}-render`, {
    createClient(type) {
      // bull's blocking and subscriber clients must retry forever. The command
      // client keeps ioredis' offline queue (with it disabled, ioredis 5 and
      // bull's pipelines never recover after Redis restarts), but enqueue()
      // refuses to add to it while Redis is away: the outbox keeps the work
      // and the relay retries, so an outage costs no memory here.
      const options: RedisOptions =
        type === 'client' ? { maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null, enableReadyCheck: false };
      const client = connectRedis(redis, { ...options, retryStrategy: (times) => Math.min(times * 200, 2000) });
      client.on('error', (error) => logger.debug({ err: error, type }, 'redis connection error'));
      return client;
    },
    // A producer killed mid-job (SIGKILL, power loss) stops renewing its job
    // lock; another producer takes the job over once the lock lapses. Render
    // jobs are short, so a short lock gives the work back within ~15 s.
    settings: { lockDuration: 10_000, lockRenewTime: 3_000, stalledInterval: 5_000, maxStalledCount: 5 },
    defaultJobOptions: {
      attempts: RETRY_ATTEMPTS,
      backoff: { type: 'exponential', delay: RETRY_BASE_DELAY_MS },
      removeOnComplete: true,
      removeOnFail: 1000,
    },
  });
  queue.on('error', (error) => logger.warn({ err: error }, 'render queue error'));
  queue.on('failed', (job, error) => {
    const final = isUnrecoverable(error) || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger[final ? 'error' : 'warn'](
      { err: error, job: job.data, attempt: job.attemptsMade },
      final ? 'render job failed for good' : 'render job failed, will retry',
    );
  });

  /** Waits briefly for the command connection; fails at once rather than queueing offline. */
  async function connected(): Promise<void> {
    const client = queue.client;
    if (client.status === 'ready') return;
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => client.once('ready', (onReady = resolve)));
    // The relay retries every second through an outage: never leave a listener behind.
    await withTimeout(ready, CONNECT_WAIT_MS, `Redis is not connected (${client.status})`).finally(() =>
      client.off('ready', onReady),
    );
  }

  return {
    async enqueue(jobs) {
      if (jobs.length === 0) return;
      await connected();
      await withTimeout(
        queue.addBulk(jobs.map((data) => ({ data, opts: { jobId: jobId(data) } }))),
        ENQUEUE_TIMEOUT_MS,
        'Redis did not accept the render jobs',
      );
    },
    process(concurrency, handler) {
      void queue.process(concurrency, async (job) => {
        try {
          await handler(job.data);
        } catch (error) {
          // bullmq's UnrecoverableError, by hand: no further attempts.
          if (isUnrecoverable(error)) await job.discard();
          throw error;
        }
      });
    },
    async depth() {
      const counts = await withTimeout(queue.getJobCounts(), ENQUEUE_TIMEOUT_MS, 'Redis did not answer');
      return counts.waiting + counts.active + counts.delayed;
    },
    async ping() {
      if (queue.client.status !== 'ready') throw new Error(`Redis is not connected (${queue.client.status})`);
      await withTimeout(queue.client.ping(), ENQUEUE_TIMEOUT_MS, 'Redis did not answer PING');
    },
    async close() {
      await queue.close();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

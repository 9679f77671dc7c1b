// The production render queue: bull on Redis.
import Queue from 'bull';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from '../logger';
import { connectRedis, endRedis, RedisConnection } from '../redis';

// bull's Lua scripts' argument builders: not in its typings, stable across bull 4.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bullScripts = require('bull/lib/scripts') as { retryJobArgs(job: Queue.Job, ignoreLock: boolean): string[] };
import { isUnrecoverable, jobId, RenderJob, RenderQueue, RETRY_ATTEMPTS, RETRY_BASE_DELAY_MS } from './render-queue';

const ENQUEUE_TIMEOUT_MS = 3000;
const CONNECT_WAIT_MS = 1000;
/** How long close() lets renders in flight finish before giving them back (docs/operations.md, "Stopping"). */
export const JOB_GRACE_MS = 1000;

/**
 * bull's blocking and subscriber clients must retry forever. The command
 * client keeps ioredis' offline queue (with it disabled, ioredis 5 and
 * bull's pipelines never recover after Redis restarts), but enqueue()
 * refuses to add to it while Redis is away: the outbox keeps the work
 * and the relay retries, so an outage costs no memory here.
 */
function clientOptions(type: string): RedisOptions {
  const options: RedisOptions =
    type === 'client' ? { maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null, enableReadyCheck: false };
  return { ...options, retryStrategy: (times) => Math.min(times * 200, 2000) };
}

export function createBullQueue(redis: RedisConnection, logger: Logger, prefix = 'hyperstatic'): RenderQueue {
  // bull closes only the clients it made itself: with createClient they are
  // ours to end, and an open one (its blocking client reconnects while bull
  // pauses) kept app and producer alive after SIGTERM until the 15 s guard.
  // Every client bull asked for, by type: bull may ask again for one it
  // lost, and a client made once close() began is ended at once (a stop
  // right after start-up otherwise left one open until the 15 s guard).
  const clients: { type: string; client: Redis }[] = [];
  // Jobs this process is rendering now, so close() can give back those that outlast the grace.
  const running = new Set<Queue.Job<RenderJob>>();
  // Set once close() begins: a failure of the start-up chain after that is the stop itself.
  const stopping = { value: false };
  const queue = new Queue<RenderJob>(`${prefix}-render`, {
    createClient(type) {
      const client = connectRedis(redis, clientOptions(type));
      client.on('error', (error) => logger.debug({ err: error, type }, 'redis connection error'));
      clients.push({ type, client });
      if (stopping.value) queueMicrotask(() => endRedis(client));
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
      // bull names its blocking connection (CLIENT SETNAME) in a promise it
      // never catches (bull/lib/queue.js, setHandler): a stop during start-up
      // then crashed the process with "Connection is closed.".
      const named = queue as unknown as { setWorkerName(): Promise<unknown> };
      const setWorkerName = named.setWorkerName.bind(queue);
      named.setWorkerName = () => setWorkerName().catch(() => undefined);
      const processing = queue.process(concurrency, async (job) => {
        running.add(job);
        try {
          await handler(job.data);
        } catch (error) {
          // bullmq's UnrecoverableError, by hand: no further attempts.
          if (isUnrecoverable(error)) await job.discard();
          throw error;
        } finally {
          running.delete(job);
        }
      });
      // bull's start-up chain behind process() fails when a stop ends the
      // clients under it; uncaught, that rejection crashed a producer stopped
      // right after start-up (issue 22 item 6). Only a failure while running is news.
      processing.catch((error: unknown) => {
        if (!stopping.value) logger.error({ err: error }, 'render queue stopped taking jobs');
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
    close() {
      stopping.value = true;
      return closeQueue(queue, clients, running);
    },
  };
}

/** Stops taking jobs, lets renders in flight finish for JOB_GRACE_MS, gives back the rest, and ends every connection. */
async function closeQueue(
  queue: Queue.Queue<RenderJob>,
  clients: { type: string; client: Redis }[],
  running: Set<Queue.Job<RenderJob>>,
): Promise<void> {
  // A close that fails (a client ended under it) has still stopped the queue.
  const closed = queue.close().catch(() => undefined);
  // bull ends its blocking BRPOPLPUSH (up to drainDelay, 5 s) with a QUIT
  // that waits 500 ms behind it; dropping the connection ends it now. A job
  // the server moved to active as the connection dropped has no lock: the
  // stalled-job check of any producer (or of the next start) puts it back.
  // bull then reconnects that client, once the renders in flight end, for
  // a queue that is only paused: a closing one needs no connection.
  for (const { type, client } of clients) if (type === 'bclient') endRedis(client);
  const disconnectAll = () => {
    for (const { client } of clients) endRedis(client);
  };
  if (!(await settlesWithin(closed, JOB_GRACE_MS))) await giveBack([...running]);
  disconnectAll();
  // A render given back may still end (its database work was blocked) and bull
  // makes its clients lazily: whatever bull opens or reopens until its close ends is ended too.
  void closed.finally(disconnectAll);
}

/**
 * A render that outlasts the shutdown grace goes back to the wait list with
 * its lock released (bull's own retry script, no attempt counted),
 * so another producer renders it now rather than after the lock lapses.
 * Renders are idempotent: one that still completes here only repeats hashes.
 */
async function giveBack(jobs: Queue.Job<RenderJob>[]): Promise<void> {
  await Promise.all(
    jobs.map(async (job) => {
      const client = job.queue.client as unknown as { retryJob(args: string[]): Promise<number> };
      await client.retryJob(bullScripts.retryJobArgs(job, false)).catch(() => undefined);
    }),
  );
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
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

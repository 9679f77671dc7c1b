// The embedded mode's in-process render queue: same contract as bull
// (dedupe by job id, bounded concurrency, exponential backoff, no retry of
// unrecoverable errors), nothing to install.
import type { Logger } from '../logger';
import {
  isUnrecoverable,
  jobId,
  RenderHandler,
  RenderJob,
  RenderQueue,
  RETRY_ATTEMPTS,
  RETRY_BASE_DELAY_MS,
} from './render-queue';

export function createMemoryQueue(logger: Logger): RenderQueue {
  const waiting = new Map<string, { job: RenderJob; attempt: number }>();
  const active = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let handler: RenderHandler | undefined;
  let concurrency = 1;
  let closed = false;

  function pump(): void {
    if (!handler || closed) return;
    for (const [id, item] of waiting) {
      if (active.size >= concurrency) return;
      if (active.has(id)) continue;
      waiting.delete(id);
      active.add(id);
      void run(id, item);
    }
  }

  async function run(id: string, item: { job: RenderJob; attempt: number }): Promise<void> {
    try {
      await handler!(item.job);
    } catch (error) {
      if (isUnrecoverable(error) || item.attempt + 1 >= RETRY_ATTEMPTS) {
        logger.error({ err: error, job: item.job, attempts: item.attempt + 1 }, 'render job failed for good');
      } else if (!closed) {
        const delay = RETRY_BASE_DELAY_MS * 2 ** item.attempt;
        logger.warn({ err: error, job: item.job, retryInMs: delay }, 'render job failed, will retry');
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!waiting.has(id)) waiting.set(id, { job: item.job, attempt: item.attempt + 1 });
          pump();
        }, delay);
        timers.add(timer);
      }
    } finally {
      active.delete(id);
      pump();
    }
  }

  return {
    async enqueue(jobs) {
      for (const job of jobs) {
        const id = jobId(job);
        if (!waiting.has(id) && !active.has(id)) waiting.set(id, { job, attempt: 0 });
      }
      pump();
    },
    process(n, h) {
      concurrency = n;
      handler = h;
      pump();
    },
    async depth() {
      return waiting.size + active.size;
    },
    async ping() {},
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      // A render cut short here is not lost: its outbox rows stay without done_at,
      // and the relay dispatches them again (app/outbox/outbox-relay.ts, REDISPATCH_AFTER_MS).
      const deadline = Date.now() + 1000;
      while (active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

// The seam between the app's outbox relay and the producer: a queue of
// render jobs. bull on Redis in production; an in-process queue in the
// embedded mode. Both dedupe by job id, retry transient failures with
// exponential backoff and never retry an unrecoverable one.
export interface RenderJob {
  topic: 'article' | 'event';
  itemId: number;
  /** Highest outbox row this job covers; the job id, so re-dispatch of the same rows collapses. */
  outboxId: number;
}

export type RenderHandler = (job: RenderJob) => Promise<void>;

export interface RenderQueue {
  enqueue(jobs: RenderJob[]): Promise<void>;
  process(concurrency: number, handler: RenderHandler): void;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  /** Throws when the queue's backing store is unreachable (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An error that retrying cannot fix (a template bug, bad data): reported, never retried. */
export class UnrecoverableJobError extends Error {
  readonly unrecoverable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableJobError';
  }
}

export function isUnrecoverable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { unrecoverable?: unknown }).unrecoverable === true;
}

export function jobId(job: RenderJob): string {
  return `${job.topic}:${job.itemId}:${job.outboxId}`;
}

export const RETRY_ATTEMPTS = 8;
export const RETRY_BASE_DELAY_MS = 500;

// Wakes the origin's feed when the producer commits journal entries, so
// mirrors get a push instead of waiting for a poll. Redis pub/sub between
// processes; an EventEmitter when everything runs in one process. A lost
// message only delays delivery until the feed's safety re-check.
import { EventEmitter, once } from 'node:events';
import type Redis from 'ioredis';
import type { Logger } from './logger';
import { connectRedis, endRedis, RedisConnection } from './redis';

const CONNECT_WAIT_MS = 1000;

export interface JournalNotifier {
  notify(head: number): Promise<void>;
  subscribe(listener: (head: number) => void): () => void;
  close(): Promise<void>;
}

export function createMemoryNotifier(): JournalNotifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async notify(head) {
      emitter.emit('head', head);
    },
    subscribe(listener) {
      emitter.on('head', listener);
      return () => emitter.off('head', listener);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

export function createRedisNotifier(redis: RedisConnection, logger: Logger, prefix = 'hyperstatic'): JournalNotifier {
  const CHANNEL = `${prefix}:journal`;
  const local = createMemoryNotifier();
  let publisher: Redis | undefined;
  let subscriber: Redis | undefined;
  // After close() nothing may make a client again: it would retry for ever and hold the process.
  let closed = false;
  const options = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };

  return {
    async notify(head) {
      if (closed) return;
      publisher ??= connectRedis(redis, options).on('error', (error) =>
        logger.debug({ err: error }, 'notifier redis error'),
      );
      try {
        // Without an offline queue a publish on a connection still opening
        // (the first one, or one re-asking the Sentinels after a failover)
        // fails at once: give it a moment, as bull-queue.ts does.
        if (publisher.status !== 'ready')
          await once(publisher, 'ready', { signal: AbortSignal.timeout(CONNECT_WAIT_MS) }).catch(() => undefined);
        await publisher.publish(CHANNEL, String(head));
      } catch (error) {
        logger.warn({ err: error }, 'could not announce journal head; mirrors get it on the next re-check');
      }
    },
    subscribe(listener) {
      if (!subscriber && !closed) {
        subscriber = connectRedis(redis, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
        subscriber.on('error', (error) => logger.debug({ err: error }, 'notifier redis error'));
        subscriber
          .subscribe(CHANNEL)
          .catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to journal announcements'));
        subscriber.on('message', (_channel: string, message: string) => void local.notify(Number(message)));
      }
      return local.subscribe(listener);
    },
    async close() {
      closed = true;
      await local.close();
      if (publisher) endRedis(publisher);
      if (subscriber) endRedis(subscriber);
    },
  };
}

// Wakes the origin's feed when the producer commits journal entries, so
// mirrors get a push instead of waiting for a poll. Redis pub/sub between
// processes; an EventEmitter when everything runs in one process. A lost
// message only delays delivery until the feed's safety re-check.
import { EventEmitter } from 'node:events';
import Redis from 'ioredis';
import type { Logger } from './logger';

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

export function createRedisNotifier(redisUrl: string, logger: Logger, prefix = 'hyperstatic'): JournalNotifier {
  const CHANNEL = `${prefix}:journal`;
  const local = createMemoryNotifier();
  let publisher: Redis | undefined;
  let subscriber: Redis | undefined;
  const options = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };

  return {
    async notify(head) {
      publisher ??= new Redis(redisUrl, options).on('error', (error) =>
        logger.debug({ err: error }, 'notifier redis error'),
      );
      try {
        await publisher.publish(CHANNEL, String(head));
      } catch (error) {
        logger.warn({ err: error }, 'could not announce journal head; mirrors get it on the next re-check');
      }
    },
    subscribe(listener) {
      if (!subscriber) {
        subscriber = new Redis(redisUrl, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
        subscriber.on('error', (error) => logger.debug({ err: error }, 'notifier redis error'));
        subscriber
          .subscribe(CHANNEL)
          .catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to journal announcements'));
        subscriber.on('message', (_channel: string, message: string) => void local.notify(Number(message)));
      }
      return local.subscribe(listener);
    },
    async close() {
      await local.close();
      publisher?.disconnect();
      subscriber?.disconnect();
    },
  };
}

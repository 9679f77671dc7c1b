// Opens an ioredis client for the configured Redis: a single server from
// REDIS_URL, or, with REDIS_SENTINELS, whichever server the Sentinels name as
// master. Every client the queue and the announcements make comes from here,
// so a failover moves all of them (docs/operations.md, "Redis high
// availability").
import Redis, { RedisOptions } from 'ioredis';
import type { RedisTarget } from './config';

/** A URL stands for itself; a RedisTarget may name Sentinels. */
export type RedisConnection = string | RedisTarget;

export function connectRedis(connection: RedisConnection, options: RedisOptions): Redis {
  const target = typeof connection === 'string' ? { url: connection } : connection;
  if (!target.sentinels || target.sentinels.length === 0) {
    if (!target.url) throw new Error('no Redis configured: set REDIS_URL or REDIS_SENTINELS');
    return new Redis(target.url, options);
  }
  return new Redis({ ...options, ...fromUrl(target.url), ...sentinelOptions(target) });
}

function sentinelOptions(target: RedisTarget): RedisOptions {
  return {
    sentinels: target.sentinels!.map(({ host, port }) => ({ host, port })),
    name: target.masterName ?? 'mymaster',
    sentinelPassword: target.sentinelPassword,
    // The Sentinels announce +switch-master on their pub/sub channel; without
    // listening for it a client keeps talking to the old master until the
    // Sentinels reconfigure it and it drops its clients.
    failoverDetector: true,
    // A write that reaches a demoted master (now a read-only replica) gets
    // READONLY: reconnect, asking the Sentinels for the new master, and resend.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
}

/** The master's credentials, database number and TLS from REDIS_URL; its host and port are the Sentinels' to give. */
function fromUrl(url: string | undefined): RedisOptions {
  if (!url) return {};
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: db ? Number(db) : undefined,
    // rediss: encrypts the connections to master and replicas; the Sentinels are asked in plain text.
    ...(parsed.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

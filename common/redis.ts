// Opens an ioredis client for the configured Redis: a single server from
// REDIS_URL, or, with REDIS_SENTINELS, whichever server the Sentinels name as
// master. Every client the queue and the announcements make comes from here,
// so a failover moves all of them (docs/operations.md, "Redis high
// availability").
import Redis, { RedisOptions } from 'ioredis';
import type { RedisTarget } from './config';

/** A URL stands for itself; a RedisTarget may name Sentinels. */
export type RedisConnection = string | RedisTarget;

/**
 * Ends a client for good, with its socket. A later connect() is a no-op:
 * bull calls connect() on its lazy clients whenever it needs one, also
 * during and after its close, which reopened a client already ended (the
 * 15 s shutdown guard). ioredis's disconnect() ends the socket and arms a
 * 2 s timer, not unref'd, that only the socket's close clears: a socket
 * still connecting held the process for it, so the socket is destroyed
 * here at once.
 */
const ended = new WeakSet<Redis>();

export function endRedis(client: Redis): void {
  client.connect = () => Promise.resolve();
  // A ready client's socket ends gracefully (what it wrote last is sent first); one still connecting is destroyed.
  const connecting = client.status !== 'ready' && client.status !== 'end';
  // Once only: a client disconnected while its ready check was in flight
  // still turns "ready" afterwards, and a second disconnect() on its
  // destroyed socket arms the 2 s timer with no close event left to clear it.
  if (!ended.has(client) && client.status !== 'end') client.disconnect();
  ended.add(client);
  if (!connecting) return;
  client.stream?.destroy();
  // While still connecting, the socket is the connector's only (and bull may have ended the client itself).
  (client as unknown as { connector?: { stream?: { destroy(): void } } }).connector?.stream?.destroy();
}

/**
 * How long a disconnected client's socket may take to close before ioredis
 * destroys it (its default, 2 s, on a timer that holds the process: bull
 * and ioredis disconnect a client mid-handshake in ways endRedis cannot all
 * reach, and a stop must end within 2 s). A close takes one round trip.
 */
const DISCONNECT_TIMEOUT_MS = 300;

export function connectRedis(connection: RedisConnection, options: RedisOptions): Redis {
  const target = typeof connection === 'string' ? { url: connection } : connection;
  options = { disconnectTimeout: DISCONNECT_TIMEOUT_MS, ...options };
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

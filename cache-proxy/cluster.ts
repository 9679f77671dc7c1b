// Multi-core mode (PROXY_WORKERS > 1): node:cluster workers share the port,
// each with its own cache. The primary alone follows the change feed and
// relays every eviction to every worker over IPC; a PURGE received by one
// worker is evicted there at once and relayed through the primary to the
// others. A worker that dies is replaced (with an empty cache, so it has
// missed nothing but the journal positions of recent evictions: it is told
// to fill every path from the newest position seen, catch-up.ts). SIGHUP to the primary (a certificate renewal) is relayed
// to every worker, each of which reads its certificates again.
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import type { Config } from '../common/config';
import { AggregatorRegistry } from 'prom-client';
import { createLogger, type Logger, logStarted } from '../common/logger';
import type { FeedFollower } from '../common/feed-client';
import type { EvictionSource } from './eviction';
import { followChanges } from './feed-eviction';
import type { PurgeMode } from './soft-purge';
import { graceLimits, startProxy, type RunningProxy } from './main';

/** Messages between the primary and its workers. */
export type ClusterMessage =
  | { readonly hs: 'ready'; readonly url: string; readonly internalUrl?: string; readonly tlsUrl?: string }
  | {
      readonly hs: 'evict';
      readonly path: string;
      readonly source: EvictionSource;
      readonly mode?: PurgeMode;
      readonly position?: number;
      /** The change removed the page: no answer from before it may be served (catch-up.ts). */
      readonly gone?: boolean;
    }
  | { readonly hs: 'evict-all'; readonly source: EvictionSource; readonly position?: number }
  | { readonly hs: 'purged'; readonly path: string; readonly mode?: PurgeMode }
  | { readonly hs: 'metrics-request'; readonly id: number }
  | { readonly hs: 'metrics-reply'; readonly id: number; readonly text?: string; readonly error?: string }
  | { readonly hs: 'reload-tls' }
  | { readonly hs: 'shutdown' };

export const WORKER_CONFIG_ENV = 'HYPERSTATIC_PROXY_WORKER_CONFIG';

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && typeof (message as { hs?: unknown }).hs === 'string';
}

/** One process when PROXY_WORKERS is 1, else a primary and that many workers. */
export async function startProxyCluster(config: Config, options: { logger?: Logger } = {}): Promise<RunningProxy> {
  if (config.proxyWorkers <= 1) return startProxy(config, { ...options, ownsProcess: true });
  // Refused by the primary before any worker starts (and restarts) on it.
  graceLimits(config);
  return startPrimary(config, options.logger ?? createLogger(config.logLevel, 'cache-proxy'));
}

/** Workers run what their parent runs: the compiled build, or in development the TypeScript sources through tsx (bin/hyperstatic.js). */
function setupWorkers(): void {
  const compiled = path.extname(__filename) === '.js';
  cluster.setupPrimary({
    exec: path.join(__dirname, compiled ? 'worker.js' : 'worker.ts'),
    execArgv: compiled ? process.execArgv : ['--require', require.resolve('tsx/cjs')],
  });
}

async function startPrimary(config: Config, logger: Logger): Promise<RunningProxy> {
  setupWorkers();
  const workers = new Set<Worker>();
  // Sums every worker's registry (prom-client's own IPC) for whichever worker was scraped.
  const aggregator = new AggregatorRegistry();
  let closing = false;
  let listening: ReadyMessage = { hs: 'ready', url: '' };

  function broadcast(message: ClusterMessage, except?: Worker): void {
    for (const worker of workers) if (worker !== except && worker.isConnected()) worker.send(message);
  }
  const reloadTls = () => broadcast({ hs: 'reload-tls' });

  function fork(): Promise<Worker> {
    // Every worker asks for the same address and port (even port 0): node:cluster then hands them one shared socket.
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(config) });
    workers.add(worker);
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message)) return;
      if (message.hs === 'purged')
        broadcast({ hs: 'evict', path: message.path, source: 'purge', mode: message.mode }, worker);
      else if (message.hs === 'metrics-request') sendClusterMetrics(worker, message.id, aggregator);
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (closing) return;
      logger.error({ worker: worker.id, code, signal }, 'proxy worker died; starting another');
      fork().catch((error: unknown) => logger.error({ err: error }, 'could not replace a proxy worker'));
    });
    return whenReady(worker).then((ready) => {
      listening = ready;
      if (following.position > 0)
        worker.send({ hs: 'evict-all', source: 'feed', position: following.position } satisfies ClusterMessage);
      return worker;
    });
  }

  async function close(): Promise<void> {
    closing = true;
    process.off('SIGHUP', reloadTls);
    following.feed?.close();
    await Promise.all([...workers].map(stopWorker));
    await following.feed?.done;
  }

  const following: Following = { position: 0 };
  // Before the first fork: a SIGHUP (certbot's deploy hook, systemctl reload) while workers start must not end the primary.
  if (config.proxyTlsPort !== undefined) process.on('SIGHUP', reloadTls);
  try {
    // The first worker binds the port; the others then share it.
    await fork();
    await Promise.all(Array.from({ length: config.proxyWorkers - 1 }, () => fork()));
  } catch (error) {
    await close();
    throw error;
  }
  following.feed = relayChanges(config, logger, following, broadcast);
  logStarted(
    logger,
    'proxy',
    {
      url: listening.url,
      tlsUrl: listening.tlsUrl,
      internalUrl: listening.internalUrl,
      workers: config.proxyWorkers,
      feed: following.feed ? 'following (relayed to workers)' : 'off',
    },
    'cache proxy cluster listening',
  );

  return {
    name: 'cache-proxy',
    url: listening.url,
    tlsUrl: listening.tlsUrl,
    internalUrl: listening.internalUrl,
    reloadTls,
    evict(evicted, source = 'api', mode, position, gone) {
      broadcast({ hs: 'evict', path: evicted, source, mode, position, gone });
    },
    evictAll(source = 'api', position) {
      broadcast({ hs: 'evict-all', source, position });
    },
    close,
  };
}

type ReadyMessage = Extract<ClusterMessage, { hs: 'ready' }>;

/** The primary's feed follower, and the newest journal position it evicted at (a replacement worker's floor). */
interface Following {
  feed?: FeedFollower;
  position: number;
}

/** Follows the change feed and relays every eviction, with its journal position, to every worker. */
function relayChanges(
  config: Config,
  logger: Logger,
  following: Following,
  broadcast: (message: ClusterMessage) => void,
): FeedFollower | undefined {
  const seen = (position?: number) => {
    if (position !== undefined) following.position = Math.max(following.position, position);
  };
  return followChanges(config, logger, {
    evict: (path, mode, position, gone) => {
      seen(position);
      broadcast({ hs: 'evict', path, source: 'feed', mode, position, gone });
    },
    evictAll: (position) => {
      seen(position);
      broadcast({ hs: 'evict-all', source: 'feed', position });
    },
  });
}

/** The worker's 'ready' message, once it listens; a rejection if it exits first. */
function whenReady(worker: Worker): Promise<ReadyMessage> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`proxy worker exited with code ${code} before listening`));
    worker.once('exit', onExit);
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message) || message.hs !== 'ready') return;
      worker.off('exit', onExit);
      resolve(message);
    });
  });
}

/** Answers a worker's /metrics with every worker's registry, summed (prom-client's own IPC). */
function sendClusterMetrics(worker: Worker, id: number, aggregator: { clusterMetrics(): Promise<string> }): void {
  aggregator.clusterMetrics().then(
    (text) => worker.isConnected() && worker.send({ hs: 'metrics-reply', id, text } satisfies ClusterMessage),
    (error: unknown) =>
      worker.isConnected() && worker.send({ hs: 'metrics-reply', id, error: String(error) } satisfies ClusterMessage),
  );
}

/** Asks a worker to finish its requests and exit; one that has not gone after 5 s is killed. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (worker.isDead()) return resolve();
    worker.once('exit', () => resolve());
    if (worker.isConnected()) worker.send({ hs: 'shutdown' } satisfies ClusterMessage);
    setTimeout(() => worker.kill('SIGKILL'), 5000).unref();
  });
}

// Entry of one cluster worker (cluster.ts): a whole proxy with its own cache
// that leaves the change feed to the primary and applies the evictions the
// primary relays.
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../common/config';
import { createMetricsRegistry } from '../common/ops';
import { isClusterMessage, WORKER_CONFIG_ENV, type ClusterMessage } from './cluster';
import { startProxy } from './main';

async function run(): Promise<void> {
  const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '') as Config;
  const send = (message: ClusterMessage) => process.send?.(message);
  const registry = createMetricsRegistry('cache-proxy');
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's metric requests in this worker.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const clusterMetrics = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      send({ hs: 'metrics-request', id });
      setTimeout(() => {
        if (pending.delete(id)) reject(new Error('the primary did not answer for metrics'));
      }, 10_000).unref();
    });
  const proxy = await startProxy(config, {
    registry,
    clusterMetrics,
    ownsProcess: true,
    followFeed: false,
    broadcastPurge: (path, mode) => send({ hs: 'purged', path, mode }),
  });
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await proxy.close();
    process.exit(0);
  };
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.hs === 'evict') proxy.evict(message.path, message.source, message.mode, message.position, message.gone);
    else if (message.hs === 'evict-all') proxy.evictAll(message.source, message.position);
    else if (message.hs === 'reload-tls') proxy.reloadTls();
    else if (message.hs === 'metrics-reply') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.text !== undefined) waiter?.resolve(message.text);
      else waiter?.reject(new Error(message.error ?? 'no metrics'));
    } else if (message.hs === 'shutdown') void stop();
  });
  // The primary is gone: nobody relays evictions any more, so stop serving.
  process.once('disconnect', () => void stop());
  process.once('SIGTERM', () => void stop());
  // Ctrl-C reaches the whole process group: the primary shuts workers down in order, so they wait for it.
  process.on('SIGINT', () => undefined);
  send({ hs: 'ready', url: proxy.url, internalUrl: proxy.internalUrl, tlsUrl: proxy.tlsUrl });
}

run().catch((error: unknown) => {
  process.stderr.write(`proxy worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

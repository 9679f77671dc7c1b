// Entry of one cluster worker (cluster.ts): a whole proxy with its own cache
// that leaves the change feed to the primary and applies the evictions the
// primary relays.
import type { Config } from '../common/config';
import { isClusterMessage, WORKER_CONFIG_ENV, type ClusterMessage } from './cluster';
import { startProxy } from './main';

async function run(): Promise<void> {
  const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '') as Config;
  const send = (message: ClusterMessage) => process.send?.(message);
  const proxy = await startProxy(config, { followFeed: false, broadcastPurge: (path) => send({ hs: 'purged', path }) });
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await proxy.close();
    process.exit(0);
  };
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.hs === 'evict') proxy.evict(message.path, message.source);
    else if (message.hs === 'shutdown') void stop();
  });
  // The primary is gone: nobody relays evictions any more, so stop serving.
  process.once('disconnect', () => void stop());
  process.once('SIGTERM', () => void stop());
  // Ctrl-C reaches the whole process group: the primary shuts workers down in order, so they wait for it.
  process.on('SIGINT', () => undefined);
  send({ hs: 'ready', url: proxy.url });
}

run().catch((error: unknown) => {
  process.stderr.write(`proxy worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

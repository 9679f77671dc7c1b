// One MariaDB primary + replica and one Redis serve the whole `npm test` run
// (started by test/run.js for the files that need them, described to test
// files by environment variables); each test file takes its own database so
// files stay independent. Run a file on its own and the servers start here
// instead.
import path from 'node:path';
import { createDatabase, remoteNode, startMariaDBCluster, SqlNode } from './mariadb';
import { startRedis } from './redis';

export const MARIADB_ENV = 'HS_TEST_MARIADB';
export const REDIS_ENV = 'HS_TEST_REDIS_URL';
/** Set by test/run.js: for each shared server, the test files it was started for (absolute paths). */
export const SERVICES_ENV = 'HS_TEST_SERVICES';

type Service = 'mariadb' | 'redis';

/** The JSON in HS_TEST_MARIADB. */
export interface SharedMariaDBInfo {
  primary: { name: string; port: number; rootUrl: string };
  replicas: { name: string; port: number; rootUrl: string }[];
}

export interface SharedDatabase {
  readonly database: string;
  /** App-user URL (mysql://hyperstatic:…) on the primary. */
  readonly primaryUrl: string;
  /** App-user URL on the (first) replica. */
  readonly replicaUrl: string;
  drop(): Promise<void>;
}

export interface SharedCluster {
  primary: SqlNode;
  replicas: SqlNode[];
}

/** Used by test/run.js: start the shared servers asked for and describe them in env vars for the test processes. */
export async function startSharedServers(
  wanted: Record<Service, boolean> = { mariadb: true, redis: true },
): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const [cluster, redis] = await Promise.all([
    wanted.mariadb ? startMariaDBCluster({ replicas: 1 }) : undefined,
    wanted.redis ? startRedis() : undefined,
  ]);
  const describe = (n: { name: string; port: number; rootUrl(): string }) => ({
    name: n.name,
    port: n.port,
    rootUrl: n.rootUrl(),
  });
  const env: Record<string, string> = {};
  if (cluster) {
    const info: SharedMariaDBInfo = { primary: describe(cluster.primary), replicas: cluster.replicas.map(describe) };
    env[MARIADB_ENV] = JSON.stringify(info);
  }
  if (redis) env[REDIS_ENV] = redis.url;
  return {
    env,
    stop: async () => {
      await Promise.all([cluster?.stop(), redis?.stop()]);
    },
  };
}

/**
 * Under test/run.js, refuses a shared server to a test file that run.js did
 * not detect as needing it (its rule is at the top of test/run.js): otherwise
 * the file would pass only when run beside one that was detected.
 */
function assertDetected(service: Service, caller: string): void {
  const raw = process.env[SERVICES_ENV];
  if (raw === undefined) return;
  const file = path.resolve(process.argv[1] ?? '');
  const detected = (JSON.parse(raw) as Partial<Record<Service, string[]>>)[service] ?? [];
  if (detected.includes(file)) return;
  throw new Error(
    `${caller}() was called by ${path.relative(process.cwd(), file) || file}, but test/run.js did not detect ` +
      `that this file needs the shared ${service === 'mariadb' ? 'MariaDB' : 'Redis'}, so it did not start it for ` +
      `this file. Import ${caller} from test/harness/shared in the test file, or in a module it imports with a ` +
      `relative path (the rule is at the top of test/run.js).`,
  );
}

let clusterPromise: Promise<SharedCluster> | undefined;
let redisPromise: Promise<string> | undefined;

/** The shared cluster as root-capable nodes (for tests that inspect replication state). */
export function sharedCluster(): Promise<SharedCluster> {
  assertDetected('mariadb', 'sharedCluster');
  clusterPromise ??= (async () => {
    const raw = process.env[MARIADB_ENV];
    if (raw) {
      const info = JSON.parse(raw) as SharedMariaDBInfo;
      return {
        primary: remoteNode(info.primary.name, info.primary.port),
        replicas: info.replicas.map((r) => remoteNode(r.name, r.port)),
      };
    }
    // Started on demand and killed by cleanup.ts's exit hook when this process ends.
    const cluster = await startMariaDBCluster({ replicas: 1 });
    return { primary: cluster.primary, replicas: cluster.replicas };
  })();
  return clusterPromise;
}

/** A fresh, empty database on the shared primary, already replicated, reachable by the app user. */
export async function sharedDatabase(name = 'test'): Promise<SharedDatabase> {
  assertDetected('mariadb', 'sharedDatabase');
  const cluster = await sharedCluster();
  const db = await createDatabase(cluster, name);
  return { database: db.database, primaryUrl: db.primaryUrl, replicaUrl: db.replicaUrls[0], drop: db.drop };
}

/** The shared Redis. Tests that kill or flush Redis wholesale should call startRedis() instead. */
export function sharedRedisUrl(): Promise<string> {
  assertDetected('redis', 'sharedRedisUrl');
  redisPromise ??= (async () => {
    const url = process.env[REDIS_ENV];
    if (url) return url;
    const redis = await startRedis();
    return redis.url;
  })();
  return redisPromise;
}

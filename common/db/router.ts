// Read/write routing that follows promotions without a restart. primary()
// is one knex-shaped handle for the process's lifetime; underneath, a poll of
// every node's topology record and read_only decides which pool it uses.
// When the primary moves, the old pool is destroyed: its connections stay
// "healthy" and would fail every write with 1290 (read-only) forever.
// replica() serves reads that may be stale from a caught-up replica.
import { createDatabase, Database, dialectOf } from './database';
import type { Logger } from '../logger';
import { createRouterProbes, NodeView, SemiSyncView } from './router-probes';
import { authoritativeRecord, NodeSpec } from './topology';

export type { NodeView, SemiSyncView } from './router-probes';

export interface RouterState {
  primary: string;
  epoch: number;
  /** False while no node is both the recorded primary and writable (a failover in progress). */
  writable: boolean;
  nodes: NodeView[];
  /** The primary's semi-sync state, when it could be read. */
  semiSync?: SemiSyncView;
}

export interface DatabaseRouter {
  /** Writes and reads that must see the latest commit. */
  primary(): Database;
  /** Reads that may be stale (by up to maxReplicaLagSeconds): a replica when one is caught up, else the primary. */
  replica(): Database;
  state(): RouterState;
  /** Probes the nodes now (also done every pollMs); resolves with the new state. */
  refresh(): Promise<RouterState>;
  /** Calls back whenever the primary changes. */
  onChange(listener: (state: RouterState) => void): void;
  close(): Promise<void>;
}

export interface RouterOptions {
  nodes: readonly NodeSpec[];
  logger: Logger;
  pollMs?: number;
  poolMax?: number;
  maxReplicaLagSeconds?: number;
}

/** A knex-shaped handle whose every call goes to whatever `current()` returns at that moment. */
export function followingDatabase(current: () => Database): Database {
  const target = (() => undefined) as unknown as Database;
  return new Proxy(target, {
    apply: (_t, thisArg, args) => Reflect.apply(current() as unknown as (...a: unknown[]) => unknown, thisArg, args),
    get: (_t, prop) => {
      const db = current();
      const value = Reflect.get(db, prop, db);
      return typeof value === 'function' ? value.bind(db) : value;
    },
    has: (_t, prop) => Reflect.has(current(), prop),
  });
}

const RETIRE_AFTER_MS = 10_000;
/** How often the nodes are probed while no writable primary is known. */
const FAILOVER_POLL_MS = 100;

/** Where writes go, decided from one look at every node: the primary the newest topology record names. */
export function routerStateFrom(nodes: readonly NodeSpec[], views: NodeView[]): RouterState {
  const record = authoritativeRecord(views.map((v) => v.record));
  const primary = record?.primary ?? nodes[0].name;
  const pv = views.find((v) => v.name === primary);
  const writable = Boolean(pv?.reachable && pv.readOnly === false);
  return { primary, epoch: record?.epoch ?? 0, writable, nodes: views };
}

export function createDatabaseRouter(options: RouterOptions): DatabaseRouter {
  const { nodes, logger } = options;
  const pollMs = options.pollMs ?? 500;
  const maxLag = options.maxReplicaLagSeconds ?? 5;
  const single = nodes.length === 1;
  const pools = createPools(options);
  const probes = createRouterProbes(pollMs);
  const listeners: ((s: RouterState) => void)[] = [];
  let state: RouterState = {
    primary: nodes[0].name,
    epoch: 0,
    writable: true,
    nodes: nodes.map((n) => ({ name: n.name, reachable: true })),
  };
  let replicaName: string | undefined;
  let closed = false;
  const spec = (name: string) => nodes.find((n) => n.name === name)!;

  async function refresh(): Promise<RouterState> {
    if (single || closed) return state;
    const next = routerStateFrom(nodes, await Promise.all(nodes.map(probes.look)));
    const previous = state;
    state = next;
    if (previous.primary !== next.primary) {
      logger.warn(
        { from: previous.primary, to: next.primary, epoch: next.epoch },
        'database primary changed; switching pools',
      );
      pools.retire(previous.primary);
      for (const l of listeners) l(next);
    } else if (previous.writable !== next.writable) {
      logger.warn(
        { primary: next.primary, writable: next.writable },
        next.writable ? 'database primary is writable again' : 'database primary is not writable (fenced or down)',
      );
    }
    // Every replica's lag (for hyperstatic_db_replica_lag_seconds); the first
    // caught-up one serves stale reads, re-chosen each poll.
    const replicas = next.nodes.filter((v) => v.name !== next.primary && v.reachable && v.readOnly !== false);
    for (const v of replicas) v.lagSeconds = await probes.lagOf(spec(v.name), spec(next.primary));
    replicaName = replicas.find((v) => v.lagSeconds != null && v.lagSeconds <= maxLag)?.name;
    if (next.nodes.find((v) => v.name === next.primary)?.reachable)
      next.semiSync = await probes.semiSync(spec(next.primary));
    return next;
  }

  // The poll runs every pollMs while the primary is writable and every
  // FAILOVER_POLL_MS while it is not (down, fenced, or a promotion under
  // way), so the first write after `db promote` waits a tenth of a second
  // for the router, not a whole poll period.
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<unknown> | undefined;
  const schedule = () => {
    if (closed || single) return;
    timer = setTimeout(poll, state.writable ? pollMs : Math.min(pollMs, FAILOVER_POLL_MS));
    timer.unref();
  };
  const poll = () => {
    polling = refresh()
      .catch((error) => logger.warn({ err: error }, 'topology poll failed'))
      .finally(() => {
        polling = undefined;
        schedule();
      });
  };
  schedule();

  const primaryDb = followingDatabase(() => pools.get(state.primary));
  const replicaDb = followingDatabase(() => pools.get(replicaName ?? state.primary));
  return {
    primary: () => primaryDb,
    replica: () => replicaDb,
    state: () => state,
    refresh,
    onChange: (l) => void listeners.push(l),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await polling;
      probes.close();
      await pools.close();
    },
  };
}

/** One connection pool per node, made on first use; a retired pool is destroyed a little later. */
function createPools(options: RouterOptions) {
  const { nodes, logger } = options;
  const pools = new Map<string, Database>();
  const retiring = new Set<Database>();
  return {
    get(name: string): Database {
      let db = pools.get(name);
      if (!db) {
        // Connection errors are expected while a node is fenced or down; the
        // requests that meet them are answered 503 and logged there.
        const log = {
          warn: (m: string) => logger.debug({ node: name }, m),
          error: (m: string) => logger.warn({ node: name }, m),
          deprecate: () => undefined,
          debug: () => undefined,
        };
        db = createDatabase(nodes.find((n) => n.name === name)!.url, { poolMax: options.poolMax, log, logger });
        pools.set(name, db);
      }
      return db;
    },
    retire(name: string): void {
      const old = pools.get(name);
      pools.delete(name);
      // New queries go to the new primary at once. The old pool is destroyed
      // a little later: destroying it now would abort requests waiting for a
      // connection with a bare "aborted"; on the fenced or dead node they fail
      // with 1290 or a connection error, which callers answer as 503.
      if (old) {
        const timer = setTimeout(() => void old.destroy().catch(() => undefined), RETIRE_AFTER_MS);
        timer.unref();
        retiring.add(old);
      }
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values(), ...retiring].map((db) => db.destroy().catch(() => undefined)));
      pools.clear();
    },
  };
}

/** The router for a process's configuration: one node (DATABASE_URL, SQLite included) or DATABASE_NODES. */
export async function routerFor(
  config: { databaseUrl: string; databaseNodes?: readonly NodeSpec[]; databaseTopologyPollMs?: number },
  logger: Logger,
): Promise<DatabaseRouter> {
  const nodes =
    config.databaseNodes && config.databaseNodes.length > 0
      ? config.databaseNodes
      : [{ name: 'primary', url: config.databaseUrl }];
  if (nodes.length > 1 && nodes.some((n) => dialectOf(n.url) === 'sqlite'))
    throw new Error('DATABASE_NODES: SQLite cannot be replicated; list MariaDB/MySQL nodes only');
  const router = createDatabaseRouter({ nodes, logger, pollMs: config.databaseTopologyPollMs });
  await router.refresh();
  return router;
}

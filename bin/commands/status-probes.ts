// What `hyperstatic status` asks each process directly (docs/operations.md,
// "Monitoring"): its /readyz, and a proxy's /metrics for the hit ratio. A
// process that does not answer within STATUS_TIMEOUT_MS is down, whatever the
// database last heard from it: a frozen (SIGSTOPped) process still accepts
// connections, so only the deadline tells it apart from a slow one.
import type { Config } from '../../common/config';
import { dialectOf } from '../../common/db/database';

export type ProcessKind = 'app' | 'producer' | 'mirror' | 'proxy';

export interface ProbeTarget {
  kind: ProcessKind;
  url: string;
}

export interface ProcessProbe extends ProbeTarget {
  /** `ready`: /readyz answered 200; `not ready`: it answered otherwise; `down`: no answer in time. */
  state: 'ready' | 'not ready' | 'down';
  /** How long /readyz took, when it answered. */
  ms?: number;
  /** Each readiness check's result as the process gave it (`ok`, `failing`, or the error on an operator listener). */
  checks?: Record<string, string>;
  error?: string;
}

export interface ProxyStatus {
  url: string;
  reachable: boolean;
  hits?: number;
  misses?: number;
  stale?: number;
  hitRatio?: number | null;
  error?: string;
}

export function isEmbedded(config: Config): boolean {
  return config.databaseNodes.length === 0 && dialectOf(config.databaseUrl) === 'sqlite';
}

/** A listener's bind address as a place to connect to: a wildcard means this machine. */
function reachableHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The processes to probe: the STATUS_*_URLS lists, and in the embedded mode
 * (`hyperstatic all`: SQLite, no DATABASE_NODES) the embedded app, mirror and
 * proxy on the ports this configuration gives them, for each kind whose list
 * is empty. The embedded producer runs inside that process with no port of
 * its own; the app's /readyz answers for the database and queue it shares.
 */
export function probeTargets(config: Config): ProbeTarget[] {
  const embedded = isEmbedded(config);
  const host = reachableHost(config.bindHost);
  const internal = reachableHost(config.internalBindHost);
  const own = (port: number | undefined, internalPort: number | undefined): string[] => {
    if (!embedded) return [];
    if (internalPort !== undefined) return [`http://${internal}:${internalPort}`];
    return port === undefined ? [] : [`http://${host}:${port}`];
  };
  const lists: [ProcessKind, string[], string[]][] = [
    ['app', config.statusAppUrls, own(config.appPort, undefined)],
    ['producer', config.statusProducerUrls, []],
    ['mirror', config.statusMirrorUrls, own(config.mirrorPort, config.mirrorInternalPort)],
    ['proxy', config.statusProxyUrls, own(config.proxyPort, config.proxyInternalPort)],
  ];
  return lists.flatMap(([kind, listed, derived]) => (listed.length ? listed : derived).map((url) => ({ kind, url })));
}

/** The bearer token that opens a process's operator endpoints on a public port, where the config has one. */
function tokenFor(kind: ProcessKind, config: Config): string {
  if (kind === 'mirror') return config.mirrorAdminToken;
  if (kind === 'proxy') return config.proxyAdminToken;
  return '';
}

function headers(token: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Asks one process's /readyz; never throws. */
export async function probeProcess(target: ProbeTarget, config: Config): Promise<ProcessProbe> {
  const started = Date.now();
  try {
    const res = await fetch(`${target.url}/readyz`, {
      headers: headers(tokenFor(target.kind, config)),
      signal: AbortSignal.timeout(config.statusTimeoutMs),
    });
    const text = await res.text();
    const ms = Date.now() - started;
    let checks: Record<string, string> | undefined;
    try {
      checks = (JSON.parse(text) as { checks?: Record<string, string> }).checks;
    } catch {
      // not our /readyz: the status code alone says it
    }
    if (res.ok) return { ...target, state: 'ready', ms, ...(checks ? { checks } : {}) };
    const failing = checks ? Object.entries(checks).filter(([, v]) => v !== 'ok') : [];
    const error = failing.length
      ? failing.map(([name, v]) => `${name}: ${v}`).join('; ')
      : `/readyz answered ${res.status}`;
    return { ...target, state: 'not ready', ms, ...(checks ? { checks } : {}), error };
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS failure, a refused port) is its cause.
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError'
        ? `no answer within ${config.statusTimeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ...target, state: 'down', error: reason };
  }
}

/** Sums the samples of one metric in Prometheus text format. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/**
 * One proxy's hit ratio from its /metrics: on its operator listener
 * (PROXY_INTERNAL_PORT), or on its public port with PROXY_ADMIN_TOKEN, which
 * is sent whenever it is set (docs/design.md, "Operator endpoints").
 */
export async function proxyStatus(url: string, adminToken: string, timeoutMs: number): Promise<ProxyStatus> {
  try {
    const res = await fetch(`${url}/metrics`, { headers: headers(adminToken), signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      const hint =
        res.status === 404
          ? ': name the proxy operator listener (PROXY_INTERNAL_PORT) in STATUS_PROXY_URLS, or set PROXY_ADMIN_TOKEN'
          : '';
      return { url, reachable: false, error: `/metrics answered ${res.status}${hint}` };
    }
    const text = await res.text();
    const hits = metricSum(text, 'hyperstatic_proxy_cache_hits_total') ?? 0;
    const misses = metricSum(text, 'hyperstatic_proxy_cache_misses_total') ?? 0;
    const stale = metricSum(text, 'hyperstatic_proxy_stale_served_total') ?? 0;
    const total = hits + misses + stale;
    return { url, reachable: true, hits, misses, stale, hitRatio: total === 0 ? null : (hits + stale) / total };
  } catch (error) {
    const e = error as Error;
    return { url, reachable: false, error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.message };
  }
}

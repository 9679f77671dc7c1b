// /healthz (alive), /readyz (dependencies reachable) and /metrics
// (Prometheus) for every process, as one plain node:http handler that
// express mounts as middleware too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<void>;

export interface Ops {
  readonly registry: Registry;
  /** Answers the ops endpoints; returns false for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createOps(registry: Registry, checks: Record<string, ReadinessCheck>): Ops {
  async function readiness(res: ServerResponse): Promise<void> {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          results[name] = 'ok';
        } catch (error) {
          ready = false;
          results[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    sendJson(res, ready ? 200 : 503, { ready, checks: results });
  }

  return {
    registry,
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const pathname = (req.url ?? '/').split('?')[0];
      if (pathname === '/healthz') {
        sendJson(res, 200, { alive: true });
        return true;
      }
      if (pathname === '/readyz') {
        void readiness(res);
        return true;
      }
      if (pathname === '/metrics') {
        registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
            res.end(body);
          },
          (error: unknown) => sendJson(res, 500, { error: String(error) }),
        );
        return true;
      }
      return false;
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

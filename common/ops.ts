// /healthz (alive), /readyz (dependencies reachable) and /metrics
// (Prometheus) for every process, as one plain node:http handler that
// express mounts as middleware too. A public port of the reader tier (mirror,
// proxy) answers only the public part: /healthz, and /readyz without the
// failing check's error text (common/operator-access.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<void>;

export interface Ops {
  readonly registry: Registry;
  /** Answers the ops endpoints; returns false for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * What a reader may see: /healthz, and /readyz naming each check `ok` or
   * `failing` (an error text can name an upstream's address); false for any
   * other request, /metrics included.
   */
  handlePublic(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createOps(registry: Registry, checks: Record<string, ReadinessCheck>): Ops {
  async function readiness(res: ServerResponse, detail: boolean): Promise<void> {
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          results[name] = 'ok';
        } catch (error) {
          ready = false;
          if (!detail) results[name] = 'failing';
          else results[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    sendJson(res, ready ? 200 : 503, { ready, checks: results });
  }

  function health(req: IncomingMessage, res: ServerResponse, detail: boolean): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === '/healthz') {
      sendJson(res, 200, { alive: true });
      return true;
    }
    if (pathname === '/readyz') {
      void readiness(res, detail);
      return true;
    }
    return false;
  }

  return {
    registry,
    handlePublic: (req, res) => health(req, res, false),
    handle(req, res) {
      if (health(req, res, true)) return true;
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const pathname = (req.url ?? '/').split('?')[0];
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

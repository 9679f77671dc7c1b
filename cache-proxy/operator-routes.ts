// The proxy's own endpoints: /healthz and /readyz for anyone (readiness
// without error text), /metrics and readiness details only for an operator:
// on the operator listener (PROXY_INTERNAL_PORT) or with PROXY_ADMIN_TOKEN on
// the public port (docs/design.md, "Operator endpoints").
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, localUrl } from '../common/listen';
import { sendJson, type Ops } from '../common/ops';
import { formatCacheStatus } from './cache-status';

export interface OperatorDeps {
  readonly ops: Ops;
  /** In cluster mode: every worker's metrics, summed by the primary, so one scrape sees the whole proxy. */
  readonly clusterMetrics?: () => Promise<string>;
}

/** Answers /healthz, /readyz and, for an operator, /metrics; false when the request is for none of them. */
export function serveOps(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  operator: boolean,
  deps: OperatorDeps,
): boolean {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return false;
  if (path === '/metrics') {
    if (!operator) return false;
    if (!deps.clusterMetrics) return deps.ops.handle(req, res);
    res.setHeader('cache-status', formatCacheStatus({ fwd: 'bypass', detail: 'ops' }));
    deps.clusterMetrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(head ? undefined : text);
      },
      (error: unknown) => sendJson(res, 500, { error: String(error) }),
    );
    return true;
  }
  if (path !== '/healthz' && path !== '/readyz') return false;
  res.setHeader('cache-status', formatCacheStatus({ fwd: 'bypass', detail: 'ops' }));
  return operator ? deps.ops.handle(req, res) : deps.ops.handlePublic(req, res);
}

export interface OperatorListener {
  readonly url: string;
  close(): Promise<void>;
}

/** The operator listener: the proxy's own endpoints with details, and a 404 for anything else (no page is proxied here). */
export async function listenOperator(deps: OperatorDeps, port: number, host: string): Promise<OperatorListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!serveOps(req, res, path, true, deps)) sendJson(res, 404, { error: 'not an operator endpoint' });
  });
  const address = await listen(server, {
    port,
    host,
    component: "cache proxy's operator listener",
    portVariable: 'PROXY_INTERNAL_PORT',
  });
  return {
    url: localUrl(address),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The plain-HTTP listener when PROXY_HTTP_REDIRECT is on: every request is
// sent to the same host and path over HTTPS, and nothing is served from the
// cache in the clear. The one exception is an ACME http-01 challenge
// (RFC 8555 §8.3), answered from PROXY_ACME_WEBROOT so that
// `certbot --webroot` can renew the certificate the HTTPS listener serves
// (docs/operations.md, "TLS certificates").
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { listen, localUrl } from '../common/listen';
import { formatCacheStatus } from './cache-status';

/** A Host value: a DNS name, an IPv4 address or a bracketed IPv6 one, with an optional port (RFC 9110 §7.2). */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::\d{1,5})?$/i;
/** RFC 8555 §8.3: the token is base64url, and the file name is the token. */
const ACME_CHALLENGE = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/;

/**
 * Where to send a request: https:// on the same host (its port replaced by
 * the HTTPS one, omitted when 443) and the same path and query. Undefined
 * when the Host is missing or malformed, so no redirect can point anywhere
 * the reader did not ask for.
 */
export function redirectLocation(host: string | undefined, target: string, httpsPort: number): string | undefined {
  if (host === undefined || !HOST.test(host)) return undefined;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    // Absolute form (RFC 9112 §3.2.2): only its path and query count; the Host header names the site.
    try {
      const url = new URL(target);
      pathAndQuery = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  if (pathAndQuery.startsWith('//') || /[\s\0]/.test(pathAndQuery)) return undefined;
  return `https://${name.toLowerCase()}${httpsPort === 443 ? '' : `:${httpsPort}`}${pathAndQuery}`;
}

export interface RedirectListener {
  readonly url: string;
  close(): Promise<void>;
}

export async function listenRedirect(options: {
  port: number;
  host: string;
  httpsPort: number;
  acmeWebroot: string;
}): Promise<RedirectListener> {
  const server = http.createServer({ headersTimeout: 20_000, requestTimeout: 30_000 }, (req, res) =>
    redirect(req, res, options),
  );
  const address = await listen(server, {
    port: options.port,
    host: options.host,
    component: 'cache proxy (HTTP redirect)',
    portVariable: 'PROXY_PORT',
  });
  return {
    url: localUrl(address),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

function redirect(req: IncomingMessage, res: ServerResponse, options: { httpsPort: number; acmeWebroot: string }) {
  const target = req.url ?? '/';
  const challenge = ACME_CHALLENGE.exec(target);
  if (challenge && options.acmeWebroot !== '' && (req.method === 'GET' || req.method === 'HEAD')) {
    serveChallenge(res, path.join(options.acmeWebroot, '.well-known', 'acme-challenge', challenge[1]), req.method);
    return;
  }
  const location = redirectLocation(req.headers.host, target, options.httpsPort);
  if (location === undefined) {
    send(res, 400, { 'content-type': 'text/plain; charset=utf-8' }, 'This request needs a valid Host header.\n');
    return;
  }
  // RFC 9110 §15.4.2 / RFC 9110 §15.4.9: 301 may turn a POST into a GET; 308 keeps the method and body.
  const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
  send(
    res,
    status,
    { location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=3600' },
    req.method === 'HEAD' ? '' : `Moved to ${location}\n`,
  );
}

function serveChallenge(res: ServerResponse, file: string, method: string): void {
  fs.readFile(file, (error, body) => {
    if (error) {
      send(
        res,
        404,
        { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        'No such challenge.\n',
      );
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': body.length,
      'cache-control': 'no-store',
      'cache-status': formatCacheStatus({ fwd: 'bypass' }),
    });
    res.end(method === 'HEAD' ? undefined : body);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, {
    ...headers,
    'content-length': Buffer.byteLength(body),
    'cache-status': formatCacheStatus({ fwd: 'bypass', detail: 'redirect' }),
  });
  res.end(body);
}

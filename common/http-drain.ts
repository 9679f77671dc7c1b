// Stopping an HTTP server without losing a request in flight
// (docs/operations.md, "Stopping a process"). A save being handled finishes
// and is answered (with `Connection: close`); a request that arrives once the
// stop has begun (on a kept-alive connection: the listener takes no new ones)
// gets 503 with Retry-After; idle keep-alive sockets close at once. One still
// unanswered when the grace ends gets 503 saying its outcome is unknown (a
// retry with the same Idempotency-Key is safe either way), and every
// connection is then closed: a process never waits on a client.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

export interface Drain {
  /** Wraps the server's request listener: counts requests in flight, refuses new ones once draining. */
  handler(listener: RequestListener): RequestListener;
  /** Stops accepting, lets requests in flight finish for up to graceMs, then closes every connection. */
  close(server: Server, graceMs: number): Promise<void>;
}

const REFUSED = JSON.stringify({
  error: { code: 'HS_STOPPING', message: 'this server is stopping; nothing was done, retry shortly' },
});
const UNFINISHED = JSON.stringify({
  error: {
    code: 'HS_STOPPING',
    message: 'this server stopped before the request finished; retry it (with the same Idempotency-Key)',
  },
});
/** How long the last answers get to reach the socket before every connection is cut. */
const FLUSH_MS = 100;

function answer503(res: ServerResponse, body: string): void {
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1', connection: 'close' });
  res.end(body);
}

function waitFor(done: (resolve: () => void) => void, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    done(resolve);
  }).finally(() => clearTimeout(timer));
}

export function createDrain(): Drain {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  let settled: (() => void) | undefined;

  return {
    handler(listener) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (draining) return answer503(res, REFUSED);
        inFlight.add(res);
        res.once('close', () => {
          inFlight.delete(res);
          if (inFlight.size === 0) settled?.();
        });
        listener(req, res);
      };
    },
    async close(server, graceMs) {
      draining = true;
      // The answer to a request in flight closes its connection, so the client opens a new one elsewhere.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight.size > 0) await waitFor((resolve) => (settled = resolve), graceMs);
      if (inFlight.size > 0) {
        // A handler that answers later finds its response ended; express drops that answer.
        for (const res of inFlight) if (res.headersSent) res.destroy();
        for (const res of inFlight) if (!res.destroyed) answer503(res, UNFINISHED);
        await waitFor((resolve) => (settled = resolve), FLUSH_MS);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

// `GET /feed` on a mirror: the change feed it relays (feed-hub.ts) for feed
// clients, while a published page at `/feed` (say, RSS) still reaches browsers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FEED_PATH } from '../common/feed-format';
import type { FeedHub } from './feed-hub';
import { sendText } from './file-responses';
import type { MirrorStore } from './mirror-store';

/** Whether a request for `/feed` wants the change feed rather than a published page at that path. */
export function wantsChangeFeed(req: IncomingMessage, query: string, store: MirrorStore): boolean {
  if (String(req.headers.accept ?? '').includes('text/event-stream')) return true;
  if (new URLSearchParams(query).has('after') || req.headers['last-event-id'] !== undefined) return true;
  return store.lookup(FEED_PATH) === undefined;
}

/** Starts the event stream after `?after=` or `Last-Event-ID` (a reconnecting EventSource). */
export function serveFeed(req: IncomingMessage, res: ServerResponse, query: string, hub: FeedHub): void {
  const params = new URLSearchParams(query);
  const raw = params.get('after') ?? headerValue(req, 'last-event-id') ?? '0';
  if (!/^\d{1,15}$/.test(raw)) {
    sendText(res, 400, 'Bad request: after must be a non-negative integer\n');
    return;
  }
  hub.serve(req, res, Number(raw));
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

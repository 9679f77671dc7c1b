// What both HTTP surfaces (the JSON API and the editor UI) read from a
// request the same way: path ids and the client's address.
import type { Request } from 'express';
import { BadRequestError } from '../errors';

/**
 * A path id: a positive integer, or a 400 naming `field`. `label` is how the
 * message names it ("the article id" in the JSON API, "revision" in the editor).
 */
export function parseId(raw: unknown, field = 'id', label = field): number {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,9}$/.test(raw))
    throw new BadRequestError(`${label} must be a positive integer`, field);
  return Number(raw);
}

/**
 * The client's address: the rate limits' and anonymous idempotency keys'
 * scope. express's req.ip, so X-Forwarded-For counts only from the proxies
 * TRUST_PROXY names (app/server.ts); by default it is the peer's address.
 */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

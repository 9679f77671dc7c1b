// Who may reach a process's operator endpoints (docs/design.md, "Trust
// model" → "Operator endpoints"): /metrics and everything under /_mirror/
// answer only on an operator listener (MIRROR_INTERNAL_PORT,
// PROXY_INTERNAL_PORT) or to a request carrying the admin bearer token.
// Anywhere else they are indistinguishable from a path that does not exist.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Every mirror operator endpoint lives under this prefix, today's and future ones. */
export const MIRROR_OPERATOR_PREFIX = '/_mirror';

/** Paths a reader must never reach on a public port: /metrics and /_mirror, /_mirror/…; `path` is decoded and normalized. */
export function isOperatorPath(path: string): boolean {
  return path === '/metrics' || path === MIRROR_OPERATOR_PREFIX || path.startsWith(`${MIRROR_OPERATOR_PREFIX}/`);
}

/** Whether `authorization` is `Bearer <token>`, compared in constant time; never true for an empty token. */
export function bearerMatches(token: string, authorization: string | undefined): boolean {
  if (token === '') return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  // Digests first: timingSafeEqual needs equal lengths, and the token's length must not leak either.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

/** A request on a public port that carries the admin token (an empty token opens nothing). */
export function isOperatorRequest(req: IncomingMessage, adminToken: string): boolean {
  return bearerMatches(adminToken, req.headers.authorization);
}

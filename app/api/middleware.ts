// What every JSON API router needs: bearer-token auth and roles, a JSON-only gate,
// bounded query integers and the (possibly replayed) answer of an
// idempotent write.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Database } from '../../common/db/database';
import { ForbiddenError } from '../auth/auth-errors';
import { keyedHashOf } from '../auth/site-secret';
import { authenticateToken, Role, User } from '../auth/users';
import {
  IDEMPOTENCY_HEADER,
  IdempotentRequest,
  idempotencyKeyFrom,
  requestFingerprint,
  StoredResponse,
} from '../db/idempotency';
import { actorContext } from '../content/item-revisions';
import { BadRequestError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors';

export type ApiRequest = Request & { user?: User & { tokenId?: number } };

/** `Authorization: Bearer TOKEN` → req.user, or 401. */
export function requireToken(db: Database): RequestHandler {
  return async (req: ApiRequest, _res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) throw new UnauthorizedError();
    req.user = await authenticateToken(db, match[1]);
    next();
  };
}

/** After requireToken: the token's user must hold one of `roles`, or 403. */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req: ApiRequest, _res: Response, next: NextFunction) => {
    if (!roles.includes(req.user!.role))
      throw new ForbiddenError(`this needs the ${roles.join(' or ')} role; the token's user is ${req.user!.role}`);
    next();
  };
}

export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) throw new UnsupportedMediaTypeError();
  next();
}

export function boundedInt(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new BadRequestError(`${name} must be an integer from ${min} to ${max}`, name);
  return value;
}

/** A save's answer, the first time or replayed for a retried Idempotency-Key. */
export function sendStored(res: Response, answer: StoredResponse & { replayed: boolean }): void {
  if (answer.location) res.location(answer.location);
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}

/**
 * Saves made through the item routes (POST/PUT /api/articles, /api/events)
 * call the plain service interface; this records them in the history under
 * the token's user (app/content/item-revisions.ts, actorContext).
 */
export function recordActor(db: Database): RequestHandler {
  return async (req, _res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const user = match ? await authenticateToken(db, match[1]).catch(() => undefined) : undefined;
    if (!user) return next();
    actorContext.run({ userId: user.id }, () => next());
  };
}

/** What an idempotent write is recorded as: the token's user, their Idempotency-Key, and what they sent where. */
export async function writeRequest(
  db: Database,
  req: ApiRequest,
  path: string,
  userId = req.user!.id,
): Promise<IdempotentRequest> {
  const key = idempotencyKeyFrom(req.get(IDEMPOTENCY_HEADER));
  if (key === undefined) return { userId, key, fingerprint: '' };
  const { fingerprint, legacy } = requestFingerprint(await keyedHashOf(db), req.method, path, req.body);
  return { userId, key, fingerprint, legacyFingerprint: legacy };
}

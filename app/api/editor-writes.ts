// How the editor API's writes are run and answered: once per
// Idempotency-Key (app/db/idempotency.ts), so a retried request gets the
// first answer back instead of a second write. Also the body readers its
// routers share.
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { jsonObject } from '../content/item-input';
import { BadRequestError } from '../errors';
import { idempotent, runSaveHooks, scopedKey } from '../db/idempotency';
import { clientAddress } from '../http/request-params';
import { writeRequest, type ApiRequest } from './middleware';

/** A user id for keys sent by anonymous submitters (no real user has id 0). */
export const ANONYMOUS = 0;

export interface EditorWrites {
  /** Runs a write once per Idempotency-Key and sends its (possibly replayed) answer. */
  once<T>(
    req: ApiRequest,
    res: Response,
    userId: number,
    status: number,
    save: () => Promise<T>,
    toBody?: (result: T) => unknown,
  ): Promise<void>;
  /** A write of our own tables, in one transaction that also records the key. */
  inTransaction<T>(work: (trx: Knex.Transaction) => Promise<T>): () => Promise<T>;
}

export function editorWrites(db: Database): EditorWrites {
  return {
    async once(req, res, userId, status, save, toBody = (r) => r) {
      const own = await writeRequest(db, req, req.originalUrl, userId);
      // A stranger's key belongs to its address: another stranger cannot replay or block it.
      const request = userId === ANONYMOUS ? { ...own, key: scopedKey(own.key, clientAddress(req)) } : own;
      const answer = await idempotent(db, request, (result) => ({ status, body: toBody(result) }), save);
      if (answer.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(answer.status).json(answer.body);
    },
    inTransaction: (work) => () =>
      db.transaction(async (trx) => {
        const result = await work(trx);
        await runSaveHooks(trx, result);
        return result;
      }),
  };
}

/** The request's JSON body, which must be an object. */
export function body(req: Request): Record<string, unknown> {
  return jsonObject(req.body);
}

/** A string field of at most `max` characters, or 400 naming it. */
export function str(b: Record<string, unknown>, name: string, max: number): string {
  if (typeof b[name] !== 'string') throw new BadRequestError(`${name} must be a string`, name);
  if ((b[name] as string).length > max) throw new BadRequestError(`${name} is longer than ${max} characters`, name);
  return b[name] as string;
}

// Reading an upload off the request without buffering it: multipart forms
// (the editor UI, via busboy) or a raw body (the JSON API's POST /api/media).
import type { Request } from 'express';
import busboy from 'busboy';
import { CsrfError, PayloadTooLargeError } from '../auth/auth-errors';
import { BadRequestError } from '../errors';
import type { MediaItem, MediaStore } from './media-store';

/**
 * One file from a multipart form. The CSRF field must come before the file
 * (the form puts it first), so a forged upload is refused before a byte of
 * it is stored.
 */
export function receiveMultipart(
  req: Request,
  store: MediaStore,
  options: { maxBytes: number; userId: number; csrfValid: (token: string) => boolean },
): Promise<MediaItem> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: options.maxBytes, files: 1, fields: 10, fieldSize: 4096, parts: 12 },
      });
    } catch {
      reject(new BadRequestError('send the upload as multipart/form-data with one file field', 'file'));
      return;
    }
    let csrfOk = false;
    let pending: Promise<MediaItem> | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    parser.on('field', (name, value) => {
      if (name === '_csrf') csrfOk = options.csrfValid(value);
    });
    parser.on('file', (_field, file, info) => {
      if (!csrfOk) {
        file.resume();
        fail(new CsrfError());
        return;
      }
      pending = store.ingest(file, {
        name: info.filename ?? '',
        userId: options.userId,
        truncated: () => file.truncated === true,
      });
      pending.catch((error: unknown) => {
        file.resume();
        fail(error);
      });
    });
    parser.on('filesLimit', () => fail(new BadRequestError('upload one file at a time', 'file')));
    parser.on('error', (error: unknown) =>
      fail(new BadRequestError(`the upload could not be read: ${(error as Error).message}`, 'file')),
    );
    parser.on('close', () => {
      if (settled) return;
      if (!csrfOk) return fail(new CsrfError());
      if (!pending) return fail(new BadRequestError('choose a file to upload', 'file'));
      pending.then((item) => {
        if (!settled) {
          settled = true;
          resolve(item);
        }
      }, fail);
    });
    req.pipe(parser);
  });
}

/** The raw request body as one file; the name comes from ?name= or X-File-Name and is only kept for display. */
export async function receiveRaw(
  req: Request,
  store: MediaStore,
  options: { maxBytes: number; userId: number },
): Promise<MediaItem> {
  const declared = Number(req.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    req.resume();
    throw new PayloadTooLargeError(`the file is larger than the ${options.maxBytes} byte limit`);
  }
  const name = String(req.query.name ?? req.get('x-file-name') ?? '');
  if (name.length > 1000) throw new BadRequestError('name is longer than 1000 characters', 'name');
  return store.ingest(req, { name, userId: options.userId });
}

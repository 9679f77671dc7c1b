// The app's typed errors; app/http-errors.ts turns them into responses.
import { HyperstaticError } from '../common/errors';

export { BadRequestError, HyperstaticError, UnavailableError } from '../common/errors';

export class UnauthorizedError extends HyperstaticError {
  constructor(message = 'missing or invalid API token: send Authorization: Bearer TOKEN') {
    super('HS_UNAUTHORIZED', 401, message);
  }
}

export class NotFoundError extends HyperstaticError {
  constructor(what: string) {
    super('HS_NOT_FOUND', 404, `${what} not found`);
  }
}

export class ConflictError extends HyperstaticError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('HS_CONFLICT', 409, message);
  }
}

export class UnsupportedMediaTypeError extends HyperstaticError {
  constructor() {
    super('HS_UNSUPPORTED_MEDIA_TYPE', 415, 'send the request body as JSON (Content-Type: application/json)');
  }
}

// Errors of the editor app's access control and anti-abuse measures.
import { HyperstaticError } from '../errors';

export class ForbiddenError extends HyperstaticError {
  constructor(message: string) {
    super('HS_FORBIDDEN', 403, message);
  }
}

export class CsrfError extends HyperstaticError {
  constructor() {
    super('HS_CSRF', 403, 'the form has expired or did not come from this site; reload the page and try again');
  }
}

/** A form opened under an earlier session (the editor logged in again since, or its anonymous cookie was renewed): shown again to be checked, never acted on. */
export class FormExpiredError extends HyperstaticError {
  constructor() {
    super('HS_CSRF', 403, 'your session form expired: check it and submit again');
  }
}

export class TooManyRequestsError extends HyperstaticError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('HS_RATE_LIMITED', 429, message);
  }
}

export class PayloadTooLargeError extends HyperstaticError {
  constructor(message: string) {
    super('HS_TOO_LARGE', 413, message);
  }
}

export class UnsupportedTypeError extends HyperstaticError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('HS_UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}

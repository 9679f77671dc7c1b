// One base error with a stable `code`, an HTTP `status` and a message meant
// for a person; each process subclasses it for its own failures.
export class HyperstaticError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: the request is refused and nothing is written. */
export class BadRequestError extends HyperstaticError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('HS_BAD_REQUEST', 400, message);
  }
}

/** A dependency (database, Redis, upstream) is down; the caller may retry. */
export class UnavailableError extends HyperstaticError {
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('HS_UNAVAILABLE', 503, message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5;
  }
  readonly retryAfterSeconds: number;
}

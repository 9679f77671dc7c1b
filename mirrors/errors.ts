// The mirror's failures, each with a stable code. Batch refusals are not
// retried as-is: the follower reconnects and resumes from the cursor.
import { HyperstaticError } from '../common/errors';

/** A batch that does not start after the cursor: a replay or a reordering. */
export class OutOfOrderBatchError extends HyperstaticError {
  constructor(
    readonly firstSeq: number,
    readonly cursor: number,
  ) {
    super('HS_MIRROR_OUT_OF_ORDER', 409, `batch starting at seq ${firstSeq} does not follow cursor ${cursor}`);
  }
}

/**
 * A batch from an epoch older than the one already applied: a deposed
 * primary (docs/design.md, "Replication and failover").
 */
export class StaleEpochBatchError extends HyperstaticError {
  constructor(
    readonly offered: number,
    readonly stored: number,
  ) {
    super('HS_MIRROR_STALE_EPOCH', 409, `batch epoch ${offered} is older than applied epoch ${stored}`);
  }
}

/** applyBatch was called before every blob of the batch was present. */
export class MissingBlobError extends HyperstaticError {
  constructor(readonly sha256: string) {
    super('HS_MIRROR_BLOB_MISSING', 503, `blob ${sha256} is not in the mirror yet`);
  }
}

/** A transfer whose bytes do not hash to the name it was fetched under (or overran the announced size). */
export class BlobMismatchError extends HyperstaticError {
  constructor(
    readonly expected: string,
    message: string,
  ) {
    super('HS_MIRROR_BLOB_MISMATCH', 502, message);
  }
}

/** No source could deliver a verified copy of a blob. */
export class BlobUnavailableError extends HyperstaticError {
  constructor(
    readonly sha256: string,
    readonly attempts: string[],
  ) {
    super('HS_MIRROR_BLOB_UNAVAILABLE', 503, `blob ${sha256} could not be fetched: ${attempts.join('; ')}`);
  }
}

// The feed follower's two epoch rules (docs/design.md, "Replication and
// failover"): a server whose epoch is below the highest seen is a deposed
// primary and is refused, so it cannot push stale content; batches, though,
// carry the epoch they were written in, so a promoted origin replays older
// epochs' history first. Their epochs may only grow, and never past their
// server's. A new connection resumes from the cursor, so the batch rule
// restarts from the epoch of the last batch applied there: a batch taken
// but not applied (its blob failed) must not hold back the older-epoch
// batches the resumed stream sends first. Pure.
import type { FeedBatch } from './feed-format';

/** Thrown (and logged) when a server answers with an epoch below one already seen: a deposed primary. */
export class StaleEpochError extends Error {
  readonly code = 'HS_FEED_STALE_EPOCH';
  constructor(
    readonly offered: number,
    readonly highest: number,
  ) {
    super(`feed epoch ${offered} is older than epoch ${highest} already seen`);
    this.name = 'StaleEpochError';
  }
}

export class FeedEpochs {
  private highestSeen: number;
  private batchEpoch: number;

  /**
   * `initial`: the lowest acceptable epoch, e.g. the one a mirror stored
   * before a restart. `floor`, when given, replaces the remembered highest
   * server epoch: a mirror's trust state (common/trust/trust-state.ts)
   * counts only epochs vouched for by keys still trusted, so a revocation
   * can lower it again.
   */
  /**
   * `applied`, when given, is the epoch of the last batch the consumer
   * applied (stored with its cursor); `resume()` restarts the batch rule
   * from it, else from `initial`.
   */
  constructor(
    private readonly initial = Number.NEGATIVE_INFINITY,
    private readonly floor?: () => number,
    private readonly applied?: () => number,
  ) {
    this.highestSeen = initial;
    this.batchEpoch = initial;
  }

  /** A new connection, resuming after the consumer's cursor: batches may start again from the applied epoch. */
  resume(): void {
    this.batchEpoch = this.applied?.() ?? this.initial;
  }

  /** The highest epoch seen so far. */
  highest(): number {
    return this.floor ? Math.max(this.floor(), this.batchEpoch) : this.highestSeen;
  }

  /** A server said hello with `epoch`: throws StaleEpochError for a deposed primary. */
  acceptServer(epoch: number): void {
    const highest = this.highest();
    if (epoch < highest) throw new StaleEpochError(epoch, highest);
    this.highestSeen = epoch;
  }

  /** A batch from a server whose hello said `serverEpoch`: throws unless its epoch may follow the last batch's. */
  acceptBatch(batch: FeedBatch, serverEpoch: number): void {
    if (batch.epoch > serverEpoch)
      throw new Error(`batch ${batch.batch} claims epoch ${batch.epoch}, beyond its server's ${serverEpoch}`);
    if (batch.epoch < this.batchEpoch) throw new StaleEpochError(batch.epoch, this.batchEpoch);
    this.batchEpoch = batch.epoch;
  }
}

// What a follower of the feed trusts (docs/trust.md), and the checks it runs
// on everything that could change its state. Anchored either in pinned root
// keys with a threshold (k of n) — site keys are then trusted only through a
// current, unrevoked delegation covering the epoch they sign at — or, for
// mirrors not yet upgraded, in one pinned site key trusted for every epoch.
//
// Pure apart from the storage it is handed (a mirror's SQLite, or nothing):
// time comes from `now`.
import {
  checkThreshold,
  describe,
  heartbeatPayload,
  parseSigned,
  purgePayload,
  TrustError,
  verifySig,
  type Delegation,
  type Heartbeat,
  type KeyId,
  type PurgeProof,
  type Revocation,
  type Signed,
  type SiteSignature,
  type TrustBundle,
} from './statements';

export type TrustAnchor = { kind: 'roots'; roots: KeyId[]; threshold: number } | { kind: 'pinned'; key: KeyId };

/** Where a mirror keeps what it learned, so a restart forgets no revocation and no epoch. */
export interface TrustStorage {
  statements(): Signed[];
  addStatement(signed: Signed): void;
  epochMarks(): Map<KeyId, number>;
  setEpochMark(key: KeyId, epoch: number): void;
  heartbeat(): Heartbeat | undefined;
  setHeartbeat(heartbeat: Heartbeat): void;
}

export function memoryTrustStorage(): TrustStorage {
  const statements: Signed[] = [];
  const marks = new Map<KeyId, number>();
  let latest: Heartbeat | undefined;
  return {
    statements: () => [...statements],
    addStatement: (s) => void statements.push(s),
    epochMarks: () => new Map(marks),
    setEpochMark: (k, e) => void marks.set(k, e),
    heartbeat: () => latest,
    setHeartbeat: (h) => {
      latest = h;
    },
  };
}

/** A delegation issued this far in the future still counts: clocks of an operator's laptop and a mirror differ. */
export const ISSUE_SKEW_MS = 5 * 60_000;
/** A heartbeat signed further ahead of this mirror's clock is refused: it could keep the copy "fresh" for ever. */
export const HEARTBEAT_SKEW_MS = 5 * 60_000;
/** The longest a heartbeat may vouch for the copy (FEED_HEARTBEAT_VALID_MS allows no more). */
export const HEARTBEAT_MAX_VALID_MS = 30 * 86_400_000;

export interface AbsorbResult {
  added: Signed[];
  refused: { statement: string; error: TrustError }[];
}

export class TrustState {
  private readonly roots: ReadonlySet<KeyId>;
  private readonly delegations: Signed<Delegation>[] = [];
  private readonly revocations = new Map<KeyId, Signed<Revocation>>();
  private readonly marks: Map<KeyId, number>;
  private latest: Heartbeat | undefined;
  private readonly seen = new Set<string>();

  constructor(
    readonly anchor: TrustAnchor,
    private readonly storage: TrustStorage = memoryTrustStorage(),
    private readonly now: () => number = Date.now,
  ) {
    this.roots = new Set(anchor.kind === 'roots' ? anchor.roots : []);
    if (anchor.kind === 'roots' && (anchor.threshold < 1 || anchor.threshold > this.roots.size))
      throw new Error(`a threshold of ${anchor.threshold} needs at least that many distinct root keys`);
    // Stored statements were checked when they arrived; they are checked again, in case the roots changed.
    this.absorbStatements(storage.statements(), false);
    this.marks = storage.epochMarks();
    const stored = storage.heartbeat();
    // A heartbeat kept from before a restart counts only while its key is still trusted.
    this.latest = stored && !this.revocations.has(stored.signature.key) ? stored : undefined;
  }

  /** Takes every statement of a bundle that meets the threshold; refuses (and reports) each one that does not. */
  absorb(value: unknown): AbsorbResult {
    const { statements, malformed } = this.bundleStatements(value);
    const result = this.absorbStatements(statements, true);
    return { added: result.added, refused: [...malformed, ...result.refused] };
  }

  /** The bundle's statements, revocations first; a malformed one is refused on its own, the rest still count. */
  private bundleStatements(value: unknown): { statements: Signed[]; malformed: AbsorbResult['refused'] } {
    const v = value as { delegations?: unknown; revocations?: unknown } | null;
    if (!v || typeof v !== 'object' || !Array.isArray(v.delegations) || !Array.isArray(v.revocations))
      throw new TrustError('malformed', 'a trust bundle has a list of delegations and one of revocations');
    if (v.delegations.length + v.revocations.length > 1000)
      throw new TrustError('malformed', 'a trust bundle holds at most 1000 statements');
    const statements: Signed[] = [];
    const malformed: AbsorbResult['refused'] = [];
    for (const [value, kind] of [
      ...v.revocations.map((r) => [r, 'revocation'] as const),
      ...v.delegations.map((d) => [d, 'delegation'] as const),
    ]) {
      try {
        const signed = parseSigned(value);
        if (signed.statement.type !== kind) throw new TrustError('malformed', `a ${kind} is listed as one`);
        statements.push(signed);
      } catch (error) {
        malformed.push({ statement: `a ${kind}`, error: error as TrustError });
      }
    }
    return { statements, malformed };
  }

  private absorbStatements(statements: Signed[], store: boolean): AbsorbResult {
    const result: AbsorbResult = { added: [], refused: [] };
    if (this.anchor.kind !== 'roots') return result;
    for (const signed of statements) {
      const id = JSON.stringify(signed.statement);
      if (this.seen.has(id)) continue;
      try {
        checkThreshold(signed, this.roots, this.anchor.threshold);
      } catch (error) {
        result.refused.push({ statement: describe(signed.statement), error: error as TrustError });
        continue;
      }
      this.seen.add(id);
      if (signed.statement.type === 'revocation') {
        if (!this.revocations.has(signed.statement.key))
          this.revocations.set(signed.statement.key, signed as Signed<Revocation>);
        // The revoked key's word on freshness stops counting too (it may have signed a far valid-until).
        if (this.latest?.signature.key === signed.statement.key) this.latest = undefined;
      } else this.delegations.push(signed as Signed<Delegation>);
      // A delegation that has already lapsed (origins keep sending renewed-over ones) is kept in memory only,
      // so its key is refused as expired; it is neither stored nor relayed, and not news to anyone.
      if (signed.statement.type === 'delegation' && signed.statement.expires <= this.now()) continue;
      if (store) this.storage.addStatement(signed);
      result.added.push(signed);
    }
    return result;
  }

  /** Everything this follower trusts, to relay to its own followers (revocations forever, delegations while current). */
  bundle(): TrustBundle {
    const now = this.now();
    return {
      delegations: this.delegations.filter((d) => d.statement.expires > now),
      revocations: [...this.revocations.values()],
    };
  }

  isRevoked(key: KeyId): boolean {
    return this.revocations.has(key);
  }

  /** The current delegation of `key` covering epoch `at`; throws the reason there is none. */
  delegationFor(key: KeyId, at: number): Delegation | undefined {
    if (this.anchor.kind === 'pinned') {
      if (key !== this.anchor.key) throw new TrustError('not-delegated', `key ${short(key)} is not the pinned key`);
      return undefined;
    }
    if (this.revocations.has(key)) throw new TrustError('revoked', `key ${short(key)} has been revoked`);
    const now = this.now();
    const mine = this.delegations.map((d) => d.statement).filter((d) => d.key === key);
    if (mine.length === 0) throw new TrustError('not-delegated', `no delegation names key ${short(key)}`);
    const covering = mine.filter((d) => d.epochs.from <= at && (d.epochs.to === null || at <= d.epochs.to));
    if (covering.length === 0) throw new TrustError('epoch', `key ${short(key)} is not delegated for epoch ${at}`);
    const current = covering.filter((d) => d.issued - ISSUE_SKEW_MS <= now && now < d.expires);
    if (current.length > 0) return current.reduce((a, b) => (b.expires > a.expires ? b : a));
    if (covering.every((d) => d.issued - ISSUE_SKEW_MS > now))
      throw new TrustError('not-yet-valid', `the delegation of key ${short(key)} is not valid yet`);
    throw new TrustError('expired', `the delegation of key ${short(key)} for epoch ${at} has expired`);
  }

  /** Throws unless `signature` is a trusted key's, for its epoch, over `payload`. */
  check(signature: SiteSignature | undefined, payload: (key: KeyId, at: number) => Buffer): void {
    if (!signature) throw new TrustError('unsigned', 'unsigned');
    this.delegationFor(signature.key, signature.at);
    if (!verifySig(payload(signature.key, signature.at), signature.sig, signature.key))
      throw new TrustError('bad-signature', `bad signature by key ${short(signature.key)}`);
  }

  /**
   * A verified heartbeat (the `hello` of a connection, then one every few
   * seconds): raises its key's epoch mark and becomes the latest when newer.
   * Throws for a bad one, and for one below the highest epoch a trusted key
   * has vouched for (a deposed primary).
   */
  acceptHeartbeat(heartbeat: Heartbeat): { latest: boolean } {
    this.check(heartbeat.signature, (key) => heartbeatPayload(heartbeat, key));
    if (heartbeat.time > this.now() + HEARTBEAT_SKEW_MS)
      throw new TrustError('not-yet-valid', 'a heartbeat signed in the future (check the origin clock)');
    if (heartbeat.validUntil - heartbeat.time > HEARTBEAT_MAX_VALID_MS)
      throw new TrustError('malformed', 'a heartbeat may vouch for 30 days at most');
    const highest = this.highestEpoch();
    if (heartbeat.epoch < highest)
      throw new TrustError('stale', `feed epoch ${heartbeat.epoch} is older than epoch ${highest} already seen`);
    const key = heartbeat.signature.key;
    if ((this.marks.get(key) ?? -1) < heartbeat.epoch) {
      this.marks.set(key, heartbeat.epoch);
      this.storage.setEpochMark(key, heartbeat.epoch);
    }
    // Newest by epoch, then by time: a heartbeat of a newer epoch always wins.
    const latest = this.latest;
    if (
      latest &&
      (latest.epoch > heartbeat.epoch || (latest.epoch === heartbeat.epoch && latest.time >= heartbeat.time))
    )
      return { latest: false };
    this.latest = heartbeat;
    this.storage.setHeartbeat(heartbeat);
    return { latest: true };
  }

  /** Throws unless the proof is a trusted key's word that the blob was taken down. */
  checkPurge(proof: PurgeProof): void {
    this.check(proof.signature, (key, at) => purgePayload(proof.sha256, key, at));
  }

  /** The highest epoch any key still trusted has signed a heartbeat at; a revoked key's claims stop counting. */
  highestEpoch(): number {
    let highest = -1;
    for (const [key, epoch] of this.marks) if (!this.revocations.has(key) && epoch > highest) highest = epoch;
    return highest;
  }

  latestHeartbeat(): Heartbeat | undefined {
    return this.latest;
  }

  /** When the copy stops counting as fresh: the latest heartbeat's valid-until (undefined before any). */
  freshUntil(): number | undefined {
    return this.latest?.validUntil;
  }

  /** Seconds until the soonest delegation this follower relies on expires (for alerts), per site key. */
  delegationExpiries(): { key: KeyId; site: string; expires: number }[] {
    return this.delegations
      .map((d) => d.statement)
      .filter((d) => !this.revocations.has(d.key))
      .map((d) => ({ key: d.key, site: d.site, expires: d.expires }));
  }
}

function short(key: KeyId): string {
  return `${key.slice(0, 8)}…`;
}

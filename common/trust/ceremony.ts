// What the key ceremony commands (`hyperstatic keys delegate|revoke|sign|check|
// install|list`, docs/trust.md "Key ceremony") need on top of the statement
// formats in ./statements.ts: reading an operator's epoch range, expiry and
// list of root keys, and saying signature by signature why a statement does
// or does not meet a threshold. Pure: text and keys in, values out; the
// clock is passed in.
import { sha256Hex } from '../hash';
import {
  isKeyId,
  rootStatementPayload,
  validRootSigners,
  verifySig,
  type Delegation,
  type KeyId,
  type RootStatement,
  type Signed,
} from './statements';

const DAY_MS = 86_400_000;
/** The longest a delegation may be made for: renewing is cheap, a forgotten far-off expiry is not. */
export const MAX_EXPIRY_MS = 10 * 365 * DAY_MS;

/** "5-" (5 and every later epoch), "5-9" (inclusive) or "5" (that epoch alone). */
export function parseEpochRange(text: string): Delegation['epochs'] {
  const match = /^(\d{1,15})(?:(-)(\d{1,15})?)?$/.exec(text.trim());
  if (!match) throw new Error(`epochs must be FROM- (open-ended), FROM-TO or one epoch, e.g. 3- or 3-5; got "${text}"`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : match[3] === undefined ? null : Number(match[3]);
  if (to !== null && to < from) throw new Error(`epochs ${text}: the range ends (${to}) before it starts (${from})`);
  return { from, to };
}

const UNITS: Record<string, number> = { h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS, y: 365 * DAY_MS };

/**
 * When a delegation stops counting: a duration from `now` ("90d", "12h",
 * "2w", "1y") or a date ("2027-01-31", midnight UTC, or a full ISO time).
 * It must lie in the future and within MAX_EXPIRY_MS.
 */
export function parseExpiry(text: string, now: number): number {
  const trimmed = text.trim();
  const duration = /^(\d{1,6})([hdwy])$/.exec(trimmed);
  let expires: number;
  if (duration) expires = now + Number(duration[1]) * UNITS[duration[2]];
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    // A bare date or a time without a zone is read as UTC, so the same command means the same on every machine.
    const iso =
      trimmed.length === 10 ? `${trimmed}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(trimmed) ? trimmed : `${trimmed}Z`;
    expires = Date.parse(iso.replace(' ', 'T'));
    if (Number.isNaN(expires)) throw new Error(`expiry "${text}" is not a real date`);
  } else throw new Error(`expiry must be a duration (90d, 12h, 2w, 1y) or a date (2027-01-31); got "${text}"`);
  if (expires <= now) throw new Error(`expiry ${new Date(expires).toISOString()} is not in the future`);
  if (expires - now > MAX_EXPIRY_MS) throw new Error(`expiry "${text}" is more than 10 years away`);
  return expires;
}

/**
 * Root key ids as an operator writes them: separated by commas, spaces or
 * newlines, `#` starting a comment (so `cat root-*.pub > roots.txt` works).
 * Throws naming the first item that is not a key id, or one listed twice
 * (a duplicate would make a threshold look reachable when it is not).
 */
export function parseRootKeyList(text: string): KeyId[] {
  const items = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(',')
    .split(/[\s,]+/)
    .filter(Boolean);
  const seen = new Set<KeyId>();
  for (const item of items) {
    if (!isKeyId(item)) throw new Error(`"${item}" is not a root key id (an ed25519 public key: 32 bytes, base64)`);
    if (seen.has(item)) throw new Error(`root key ${item} is listed twice`);
    seen.add(item);
  }
  return [...seen];
}

export type SignatureStatus = 'valid' | 'bad-signature' | 'unknown-key' | 'duplicate';

export interface ThresholdReport {
  signatures: { key: KeyId; status: SignatureStatus }[];
  /** Distinct pinned roots with a valid signature: what checkThreshold counts. */
  valid: number;
  threshold: number;
  met: boolean;
}

/**
 * Each signature's verdict against the pinned roots, in the order given; a
 * pinned key that already has a valid signature counts once ("duplicate").
 * `valid` agrees with validRootSigners in ./statements.ts.
 */
export function thresholdReport(signed: Signed, roots: ReadonlySet<KeyId>, threshold: number): ThresholdReport {
  const payload = rootStatementPayload(signed.statement);
  const counted = new Set<KeyId>();
  const signatures = signed.signatures.map(({ key, sig }) => {
    let status: SignatureStatus;
    if (!roots.has(key)) status = 'unknown-key';
    else if (counted.has(key)) status = 'duplicate';
    else if (verifySig(payload, sig, key)) {
      status = 'valid';
      counted.add(key);
    } else status = 'bad-signature';
    return { key, status };
  });
  const valid = validRootSigners(signed, roots).length;
  return { signatures, valid, threshold, met: valid >= threshold };
}

/**
 * The keys whose signature does not verify over the statement, whoever they
 * are: a statement edited after it was signed (or a signature pasted from
 * another one) shows here even where the roots are not known.
 */
export function brokenSignatures(signed: Signed): KeyId[] {
  const payload = rootStatementPayload(signed.statement);
  return signed.signatures.filter((s) => !verifySig(payload, s.sig, s.key)).map((s) => s.key);
}

/** One id per statement (not per set of signatures): the sha256 of the bytes roots sign. */
export function statementDigest(statement: RootStatement): string {
  return sha256Hex(rootStatementPayload(statement));
}

/** "in 12 days", "in 5 hour(s)", "3 days ago": how far `at` is from `now`, for people. */
export function relativeTime(at: number, now: number): string {
  const ms = Math.abs(at - now);
  const amount =
    ms >= 2 * DAY_MS ? `${Math.round(ms / DAY_MS)} days` : `${Math.max(1, Math.round(ms / 3_600_000))} hour(s)`;
  return at >= now ? `in ${amount}` : `${amount} ago`;
}

export interface DelegationState {
  revoked: boolean;
  expired: boolean;
  /** True when the delegation counts at `epoch` now: not revoked, not expired, the epoch in its range. */
  covers: boolean;
}

/** What a delegation means at `epoch` and `now`, given the keys revoked so far. */
export function delegationState(
  d: Delegation,
  epoch: number,
  now: number,
  revokedKeys: ReadonlySet<KeyId>,
): DelegationState {
  const revoked = revokedKeys.has(d.key);
  const expired = d.expires <= now;
  const inRange = epoch >= d.epochs.from && (d.epochs.to === null || epoch <= d.epochs.to);
  return { revoked, expired, covers: !revoked && !expired && inRange };
}

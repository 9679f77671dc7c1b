// The signed mirror list (docs/trust.md, "The mirror list"): the places
// where readers can find the site when its usual address is gone. The
// origin's site key signs it, like a heartbeat; the document carries the
// root-signed delegations of that key, so anyone holding the root key ids
// can check it offline. Pure: values in, bytes or verdicts out; no I/O, and
// time only as an argument.
import { ISSUE_SKEW_MS } from './trust-state';
import {
  checkThreshold,
  parseBundle,
  parseSiteSignature,
  TrustError,
  verifySig,
  type Delegation,
  type KeyId,
  type SiteSignature,
  type SiteSigner,
  type TrustBundle,
} from './statements';

export const MIRROR_KINDS = ['mirror', 'onion', 'static', 'bundle'] as const;
export type MirrorKind = (typeof MIRROR_KINDS)[number];

/** One place the site can be read. */
export interface MirrorEntry {
  url: string;
  kind: MirrorKind;
  /** Where it is, for readers choosing one ("EU", "South America"); may be empty. */
  region: string;
  note: string;
}

export interface MirrorList {
  type: 'hyperstatic-mirror-list';
  version: 1;
  /** PUBLIC_URL: the site the list belongs to. */
  site: string;
  /** ms since 1970: when the list was signed. */
  issued: number;
  mirrors: MirrorEntry[];
  signature: SiteSignature;
  /** The delegations (and revocations) a reader needs to check the signing key against the root keys. */
  trust: TrustBundle;
}

export const URL_MAX = 500;
export const REGION_MAX = 64;
export const NOTE_MAX = 300;
export const MIRRORS_MAX = 500;

/** Refused input, naming the field: the CLI prints it and changes nothing. */
export class MirrorEntryError extends Error {
  readonly code = 'HS_MIRROR_ENTRY';
  constructor(
    readonly field: 'url' | 'kind' | 'region' | 'note',
    message: string,
  ) {
    super(message);
    this.name = 'MirrorEntryError';
  }
}

/** A v3 onion service address: 56 base32 characters. */
const ONION_HOST = /^(?:[a-z0-9-]+\.)*[a-z2-7]{56}\.onion$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks and normalizes one entry as an operator typed it; throws MirrorEntryError naming the field. */
export function parseMirrorEntry(input: { url: string; kind?: string; region?: string; note?: string }): MirrorEntry {
  const url = normalizeUrl(input.url);
  const kind = (input.kind ?? 'mirror').trim();
  if (!(MIRROR_KINDS as readonly string[]).includes(kind))
    throw new MirrorEntryError('kind', `kind must be one of ${MIRROR_KINDS.join(', ')}; got ${JSON.stringify(kind)}`);
  const onion = new URL(url).hostname.endsWith('.onion');
  if (kind === 'onion' && !onion)
    throw new MirrorEntryError('url', `an onion entry needs an .onion address (56 characters + .onion); got ${url}`);
  if (onion && kind !== 'onion') throw new MirrorEntryError('kind', `${url} is an .onion address: use kind onion`);
  return {
    url,
    kind: kind as MirrorKind,
    region: text('region', input.region ?? '', REGION_MAX),
    note: text('note', input.note ?? '', NOTE_MAX),
  };
}

/** An http(s) URL without credentials or fragment, as the URL parser writes it. */
export function normalizeUrl(raw: string): string {
  const value = raw.trim();
  if (value === '') throw new MirrorEntryError('url', 'url is required (e.g. https://mirror.example/)');
  if (value.length > URL_MAX) throw new MirrorEntryError('url', `url is longer than ${URL_MAX} characters`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new MirrorEntryError('url', `url is not a URL: ${JSON.stringify(value)} (write it in full, https://…)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new MirrorEntryError('url', `url must start with https:// or http://; got ${parsed.protocol}`);
  if (parsed.username || parsed.password)
    throw new MirrorEntryError('url', 'url must not carry a user name or password: the list is public');
  if (parsed.hash) throw new MirrorEntryError('url', 'url must not have a #fragment');
  if (parsed.hostname.endsWith('.onion') && !ONION_HOST.test(parsed.hostname))
    throw new MirrorEntryError('url', `${parsed.hostname} is not a v3 onion address (56 characters + .onion)`);
  return parsed.href;
}

function text(field: 'region' | 'note', raw: string, max: number): string {
  const value = raw.trim();
  if (value.length > max) throw new MirrorEntryError(field, `${field} is longer than ${max} characters`);
  if (CONTROL.test(value)) throw new MirrorEntryError(field, `${field} must be one line of text`);
  return value;
}

/** Exactly the fields a site key signs, in a fixed order (docs/trust.md, "Formats"). */
export function mirrorListPayload(
  list: Pick<MirrorList, 'site' | 'issued' | 'mirrors'>,
  key: KeyId,
  at: number,
): Buffer {
  const fields = [key, at, list.site, list.issued, list.mirrors.map((m) => [m.url, m.kind, m.region, m.note])];
  return Buffer.from(`hyperstatic-mirror-list-v1\n${JSON.stringify(fields)}`, 'utf8');
}

/** Signs the list with this site's key at epoch `at`, carrying the statements that delegate the key. */
export function signMirrorList(
  fields: { site: string; issued: number; mirrors: MirrorEntry[] },
  signer: SiteSigner,
  at: number,
  trust: TrustBundle,
): MirrorList {
  const sig = signer.sign(mirrorListPayload(fields, signer.keyId, at));
  return {
    type: 'hyperstatic-mirror-list',
    version: 1,
    site: fields.site,
    issued: fields.issued,
    mirrors: fields.mirrors,
    signature: { key: signer.keyId, at, sig },
    trust: {
      delegations: trust.delegations.filter((d) => d.statement.key === signer.keyId),
      revocations: trust.revocations,
    },
  };
}

/** Throws unless `value` has the shape of a mirror list; checks nothing cryptographic. */
export function parseMirrorList(value: unknown): MirrorList {
  const v = value as MirrorList;
  if (!v || typeof v !== 'object' || v.type !== 'hyperstatic-mirror-list')
    throw new TrustError('malformed', 'not a Hyperstatic mirror list (its "type" is not hyperstatic-mirror-list)');
  if (v.version !== 1) throw new TrustError('malformed', `mirror list version ${String(v.version)} is not known`);
  if (typeof v.site !== 'string' || !Number.isSafeInteger(v.issued) || v.issued <= 0)
    throw new TrustError('malformed', 'a mirror list names its site and when it was issued');
  if (!Array.isArray(v.mirrors) || v.mirrors.length > MIRRORS_MAX)
    throw new TrustError('malformed', `a mirror list has a list of at most ${MIRRORS_MAX} mirrors`);
  const mirrors = v.mirrors.map((m, i) => {
    try {
      const entry = parseMirrorEntry(m);
      if (entry.url !== m.url) throw new MirrorEntryError('url', 'url is not in its normal form');
      return entry;
    } catch (error) {
      throw new TrustError('malformed', `mirror ${i + 1}: ${(error as Error).message}`);
    }
  });
  return {
    type: 'hyperstatic-mirror-list',
    version: 1,
    site: v.site,
    issued: v.issued,
    mirrors,
    signature: parseSiteSignature(v.signature),
    trust: parseBundle(v.trust),
  };
}

export interface VerifiedMirrorList {
  list: MirrorList;
  /** The delegation that let the signing key sign at the list's epoch and time. */
  delegation: Delegation;
}

/**
 * Checks a mirror list against pinned root keys: the site signature over
 * every field, a delegation of the signing key by `threshold` of `roots`
 * that covered the epoch and the time the list was signed, and no
 * revocation of that key among the statements it carries.
 */
export function verifyMirrorList(
  value: unknown,
  anchor: { roots: ReadonlySet<KeyId>; threshold: number; extraRevocations?: TrustBundle['revocations'] },
): VerifiedMirrorList {
  const list = parseMirrorList(value);
  const { key, at, sig } = list.signature;
  if (!verifySig(mirrorListPayload(list, key, at), sig, key))
    throw new TrustError(
      'bad-signature',
      `the mirror list's signature does not verify: it was changed after signing (key ${key.slice(0, 8)}…)`,
    );
  for (const r of [...list.trust.revocations, ...(anchor.extraRevocations ?? [])]) {
    if (r.statement.key !== key) continue;
    if (meetsThreshold(r, anchor)) throw new TrustError('revoked', `the key that signed the mirror list is revoked`);
  }
  const delegation = list.trust.delegations
    .filter((d) => d.statement.key === key && meetsThreshold(d, anchor))
    .map((d) => d.statement)
    .find(
      (d) =>
        d.epochs.from <= at &&
        (d.epochs.to === null || at <= d.epochs.to) &&
        d.issued - ISSUE_SKEW_MS <= list.issued &&
        list.issued <= d.expires,
    );
  if (!delegation)
    throw new TrustError(
      'not-delegated',
      `no delegation signed by ${anchor.threshold} of the pinned root keys covers the signing key ${key.slice(0, 8)}… at epoch ${at} on ${new Date(list.issued).toISOString()}`,
    );
  return { list, delegation };
}

function meetsThreshold(
  signed: Parameters<typeof checkThreshold>[0],
  anchor: { roots: ReadonlySet<KeyId>; threshold: number },
): boolean {
  try {
    checkThreshold(signed, anchor.roots, anchor.threshold);
    return true;
  } catch {
    return false;
  }
}

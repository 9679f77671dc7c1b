// Compressed variants of text pages (docs/mirrors.md, "Compressed
// variants"): the producer encodes each text page and feed once, with gzip
// and brotli, when it renders it; mirrors pick the variant a request's
// Accept-Encoding accepts. What is compressible, how it is encoded, how a
// receiver checks a variant against the signed page hash, and the
// negotiation itself (RFC 9110 §12.5.3) live here. Pure, but for the
// asynchronous encoding.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { sha256Hex } from './hash';
import type { HeaderMap } from './http-conditional';

/** Content codings a page may be stored in besides identity, best first when a client accepts both equally. */
export const CODINGS = ['br', 'gzip'] as const;
export type Coding = (typeof CODINGS)[number];

/** One stored encoding of a page: its own blob, named by its own sha256. */
export interface Variant {
  sha256: string;
  size: number;
  /** The encoded bytes, base64, when small enough to ride in the feed (like an entry's `inline`). */
  inline?: string;
}

export type Variants = Partial<Record<Coding, Variant>>;

/**
 * Bodies smaller than this are stored without variants: a few hundred bytes
 * gain little, and gzip's 18-byte frame can make them larger.
 */
export const MIN_COMPRESSIBLE_BYTES = 256;

const TEXT_TYPES =
  /^(text\/|image\/svg\+xml|application\/(json|xml|javascript|ecmascript|manifest\+json|[\w.-]+\+(xml|json)))/;

/** Text (HTML, XML feeds and sitemaps, JSON, CSS, JS, SVG, plain text), never images, audio or video. */
export function isCompressible(contentType: string): boolean {
  return TEXT_TYPES.test(contentType.trim().toLowerCase());
}

/** Whether the producer stores variants of a body of this type and size. */
export function wantsVariants(contentType: string, size: number): boolean {
  return size >= MIN_COMPRESSIBLE_BYTES && isCompressible(contentType);
}

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/**
 * gzip at level 9 and brotli at quality 11 (its highest: about 13 ms for a
 * 10 KB page, paid once per change instead of on every request). Runs on
 * libuv's thread pool, so several pages encode at once.
 */
export async function encodeVariants(body: Buffer): Promise<Record<Coding, Buffer>> {
  const [br, gz] = await Promise.all([
    brotli(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
    gzip(body, { level: zlib.constants.Z_BEST_COMPRESSION }),
  ]);
  return { br, gzip: gz };
}

/**
 * Whether `encoded` decodes to exactly the page whose signed hash and size
 * are `sha256` and `size`. Variants are not covered by the feed signature
 * (docs/trust.md): a mirror records one only when this holds, so a peer that
 * forges a variant can at worst make the mirror serve identity. Decoding
 * stops past `size` bytes, so a decompression bomb costs nothing.
 */
export function decodesTo(coding: Coding, encoded: Buffer, sha256: string, size: number): boolean {
  try {
    const options = { maxOutputLength: Math.max(1, size + 1) };
    const decoded = coding === 'br' ? zlib.brotliDecompressSync(encoded, options) : zlib.gunzipSync(encoded, options);
    return decoded.length === size && sha256Hex(decoded) === sha256;
  } catch {
    return false;
  }
}

/** What a request's Accept-Encoding selects: a coding, identity, or nothing acceptable (406). */
export type Selection = Coding | 'identity' | 'none';

/**
 * RFC 9110 §12.5.3. No Accept-Encoding: identity (the field says "any", but
 * a client that sends none, like curl without --compressed, expects plain
 * bytes, and so does every proxy in practice). Otherwise each coding's
 * weight is its own q, else `*`'s, else 0; identity's is its own, else
 * `*`'s, else the lowest above 0 (acceptable unless refused, but a client
 * that names codings prefers them). The highest weight wins; on a tie the
 * smaller body. `available` holds each stored variant's size;
 * `identitySize` the page's. `x-gzip` is gzip (§8.4.1.3).
 */
export function selectCoding(
  acceptEncoding: string | undefined,
  available: Partial<Record<Coding, number>>,
  identitySize: number,
): Selection {
  if (acceptEncoding === undefined) return 'identity';
  const weights = parseAcceptEncoding(acceptEncoding);
  const weightOf = (name: string, fallback: number) => weights.get(name) ?? weights.get('*') ?? fallback;
  let best: { coding: Selection; q: number; size: number } | undefined;
  const consider = (coding: Selection, q: number, size: number) => {
    if (q <= 0) return;
    if (!best || q > best.q || (q === best.q && size < best.size)) best = { coding, q, size };
  };
  for (const coding of CODINGS) {
    const size = available[coding];
    // A variant no smaller than the page is never worth sending.
    if (size !== undefined && size < identitySize) consider(coding, weightOf(coding, 0), size);
  }
  // Unlisted identity is acceptable but the least preferred: a client that names codings wants them.
  consider('identity', weightOf('identity', Number.MIN_VALUE), identitySize);
  return best?.coding ?? 'none';
}

/** Coding name (lower case) → q, the first mention of each; malformed q values count as 0. */
function parseAcceptEncoding(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const part of value.split(',')) {
    const [rawName, ...params] = part.split(';');
    let name = rawName.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const param of params) {
      const [key, raw] = param.split('=').map((s) => s.trim());
      // §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
      if (key.toLowerCase() === 'q') q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(raw ?? '') ? Number(raw) : 0;
    }
    if (!weights.has(name)) weights.set(name, q);
  }
  return weights;
}

/** The request's Accept-Encoding as one string (node:http joins repeated fields already). */
export function acceptEncodingOf(headers: HeaderMap): string | undefined {
  const value = headers['accept-encoding'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The columns the origin's `pages` and `journal` (and a mirror's index and journal) store variants in. */
export const VARIANT_COLUMNS = ['gzip_sha256', 'gzip_size', 'br_sha256', 'br_size'] as const;

/** Variants as those columns (null where a coding is absent). */
export function variantColumns(variants: Variants | undefined): Record<(typeof VARIANT_COLUMNS)[number], unknown> {
  return {
    gzip_sha256: variants?.gzip?.sha256 ?? null,
    gzip_size: variants?.gzip?.size ?? null,
    br_sha256: variants?.br?.sha256 ?? null,
    br_size: variants?.br?.size ?? null,
  };
}

/** Variants from a row holding those columns; undefined when it has none. */
export function variantsOfRow(row: Record<string, unknown>): Variants | undefined {
  const out: Variants = {};
  for (const coding of CODINGS) {
    const sha256 = row[`${coding}_sha256`];
    if (typeof sha256 === 'string' && sha256 !== '') out[coding] = { sha256, size: Number(row[`${coding}_size`]) };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Every blob a page's variants name. */
export function variantShas(variants: Variants | undefined): string[] {
  return CODINGS.flatMap((c) => (variants?.[c] ? [variants[c].sha256] : []));
}

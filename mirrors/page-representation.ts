// Which stored bytes answer a request for a page: the page itself or one of
// its compressed variants (common/content-coding.ts), by the request's
// Accept-Encoding. Each representation is a blob named by its own sha256,
// which is also its strong ETag, so validators, Content-Length and ranges
// all refer to the bytes actually sent (RFC 9110 §8.8.3, §14.1). Pure.
import { isCompressible, selectCoding, type Coding } from '../common/content-coding';
import type { PageRecord } from './index-store';

export interface Representation {
  /** The blob sent, and the response's ETag. */
  sha256: string;
  size: number;
  /** The Content-Encoding; absent for identity. */
  coding?: Coding;
}

/**
 * The representation `acceptEncoding` selects, or undefined when it refuses
 * every one the page has, identity included (406, RFC 9110 §12.5.3). A page
 * without variants (not text, or journaled before they existed) is always
 * served as it is.
 */
export function selectRepresentation(page: PageRecord, acceptEncoding: string | undefined): Representation | undefined {
  const identity = { sha256: page.sha256, size: page.size };
  if (!isCompressible(page.contentType)) return identity;
  const available: Partial<Record<Coding, number>> = {};
  for (const [coding, variant] of Object.entries(page.variants ?? {})) available[coding as Coding] = variant.size;
  const selected = selectCoding(acceptEncoding, available, page.size);
  if (selected === 'none') return undefined;
  if (selected === 'identity') return identity;
  const variant = page.variants?.[selected];
  return variant ? { sha256: variant.sha256, size: variant.size, coding: selected } : identity;
}

/** Whether responses for this page depend on Accept-Encoding (RFC 9110 §12.5.5): every text page's do, compressed or not. */
export function variesByEncoding(page: PageRecord): boolean {
  return isCompressible(page.contentType);
}

// The Cache-Status response header (RFC 9211) for one cache, "Hyperstatic".
export const CACHE_NAME = 'Hyperstatic';

/** RFC 9211 §2.2 fwd reasons. */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale';

export interface CacheStatus {
  hit?: boolean;
  fwd?: ForwardReason;
  fwdStatus?: number;
  /** Remaining freshness in seconds; negative when a stale copy was served. */
  ttl?: number;
  stored?: boolean;
  collapsed?: boolean;
  detail?: string;
}

export function formatCacheStatus(status: CacheStatus): string {
  let out = CACHE_NAME;
  if (status.hit) out += '; hit';
  if (status.fwd) out += `; fwd=${status.fwd}`;
  if (status.fwdStatus !== undefined) out += `; fwd-status=${status.fwdStatus}`;
  if (status.ttl !== undefined) out += `; ttl=${Math.round(status.ttl)}`;
  if (status.stored) out += '; stored';
  if (status.collapsed) out += '; collapsed';
  if (status.detail) out += `; detail=${status.detail}`;
  return out;
}

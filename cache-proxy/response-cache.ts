// The in-memory store: an LRU bounded in bytes (body + headers), one entry
// per (URL, Vary values) variant, plus the indexes that let evict(path)
// drop every query and variant of a path at once.
import type { OutgoingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { ProxyPolicy } from './cache-policy';
import type { HeaderMap } from './freshness';
import { normalizeAcceptEncoding } from './normalize';

/** What an HTTP/2 stream is answered with: the header block (`:status` included) and the body, if any. */
export interface H2Hit {
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer;
}

/** A fresh hit's h2 answers, built by hit-path.ts (h2Hit). */
export interface H2Answers {
  readonly get: H2Hit;
  readonly head: H2Hit;
  notModified?: H2Hit;
}

export interface CacheEntry {
  readonly url: string;
  readonly path: string;
  readonly status: number;
  readonly body: Buffer;
  readonly policy: ProxyPolicy;
  /** Lower-cased request header names the response varies on. */
  readonly vary: readonly string[];
  /** The upstream that answered (UpstreamPool's name), for grace rules (grace.ts). */
  readonly upstream?: string;
  /** Set by store(): proxy-clock time (ms) until which the copy is fresh, the hit path's one freshness check. */
  freshUntil?: number;
  /** The headers of a fresh hit, rebuilt once a second (Age, Date and the ttl change), never per request. */
  hot?: {
    readonly second: number;
    readonly headers: OutgoingHttpHeaders;
    head?: Buffer;
    notModified?: OutgoingHttpHeaders;
    notModifiedHead?: Buffer;
    /** The answers of an HTTP/2 stream (hit-path.ts, h2Hit), built on the first h2 hit of the second. */
    h2?: H2Answers;
  };
}

export interface Lookup {
  readonly entry: CacheEntry | undefined;
  /** The variant key this request maps to (also the coalescing key). */
  readonly key: string;
  /** Whether any variant of this URL is stored (distinguishes uri-miss from vary-miss). */
  readonly urlKnown: boolean;
}

export interface ResponseCache {
  lookup(url: string, requestHeaders: HeaderMap): Lookup;
  /** lookup() without the bookkeeping, for the hit path. */
  get(url: string, requestHeaders: HeaderMap): CacheEntry | undefined;
  store(entry: CacheEntry, requestHeaders: HeaderMap): void;
  /** Drops every variant of one URL (RFC 9111 §4.4 invalidation). */
  evictUrl(url: string): void;
  /** Drops every query and variant of a path. */
  evictPath(path: string): void;
  /** Every stored query and variant of a path, without touching their recency (a soft purge: soft-purge.ts). */
  entriesOfPath(path: string): CacheEntry[];
  /** Drops everything stored. */
  evictAll(): void;
  readonly bytes: number;
  readonly size: number;
}

interface UrlIndex {
  vary: readonly string[];
  keys: Set<string>;
}

/**
 * What an entry costs beyond its body and its header text, measured (V8
 * heap after a full collection, 5,000 entries of 10 KB pages: about
 * 1,750 bytes plus the header text; see
 * response-cache.test.ts): the http-cache-semantics policy with its parsed
 * directives, the freshness record, the LRU's and our indexes' slots, the
 * hot headers object and the prebuilt response head. Counting it is what
 * keeps RSS at the budget plus a fixed overhead: left out (it was 512), the
 * uncounted part grew with the number of entries, so with the budget.
 * Not counted: the 304 head built once a reader revalidates a page
 * (~0.5 KB, only on pages readers revalidate).
 */
const ENTRY_OVERHEAD = 1900;

export function entrySize(entry: CacheEntry, key: string = entry.url): number {
  let headerBytes = 0;
  for (const [name, value] of Object.entries(entry.policy.responseHeaders())) {
    headerBytes += name.length + (Array.isArray(value) ? value.join('').length : String(value ?? '').length) + 4;
  }
  // Header text lives three times: the stored response headers, the hot headers object and the prebuilt head.
  // The variant key (URL plus varied values) keys the LRU and the URL's key set; the URL keys the URL index and sits in the path index.
  return entry.body.length + 3 * headerBytes + 2 * key.length + 2 * entry.url.length + ENTRY_OVERHEAD;
}

/** The request's values for the varied headers, joined into a stable key suffix. */
export function variantKey(url: string, vary: readonly string[], headers: HeaderMap): string {
  if (vary.length === 0) return url;
  const parts = vary.map((name) => {
    const value = name === 'accept-encoding' ? normalizeAcceptEncoding(headers[name]) : headers[name];
    return `${name}:${Array.isArray(value) ? value.join(',') : (value ?? '')}`;
  });
  return `${url}\n${parts.join('\n')}`;
}

export function parseVary(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text) return [];
  return [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  ].sort();
}

export function createResponseCache(options: {
  maxBytes: number;
  maxEntryBytes: number;
  onRelease?: (bytes: number) => void;
}): ResponseCache {
  const urls = new Map<string, UrlIndex>();
  const paths = new Map<string, Set<string>>();

  const lru = new LRUCache<string, CacheEntry>({
    maxSize: options.maxBytes,
    maxEntrySize: Math.min(options.maxBytes, options.maxEntryBytes + 64 * 1024),
    sizeCalculation: (entry, key) => entrySize(entry, key),
    // A replacement ('set') keeps the key in the indexes.
    dispose: (entry, key, reason) => {
      if (reason !== 'set') forget(entry, key);
      options.onRelease?.(entry.body.length);
    },
  });

  function forget(entry: CacheEntry, key: string): void {
    const index = urls.get(entry.url);
    if (!index) return;
    index.keys.delete(key);
    if (index.keys.size > 0) return;
    urls.delete(entry.url);
    const set = paths.get(entry.path);
    set?.delete(entry.url);
    if (set?.size === 0) paths.delete(entry.path);
  }

  function evictUrl(url: string): void {
    const index = urls.get(url);
    if (!index) return;
    for (const key of [...index.keys]) lru.delete(key);
  }

  return {
    lookup(url, requestHeaders) {
      const index = urls.get(url);
      if (!index) return { entry: undefined, key: url, urlKnown: false };
      const key = variantKey(url, index.vary, requestHeaders);
      return { entry: lru.get(key), key, urlKnown: true };
    },
    get(url, requestHeaders) {
      const index = urls.get(url);
      if (!index) return undefined;
      return lru.get(index.vary.length === 0 ? url : variantKey(url, index.vary, requestHeaders));
    },
    store(entry, requestHeaders) {
      let index = urls.get(entry.url);
      if (index && index.vary.join() !== entry.vary.join()) {
        // The resource changed what it varies on: older variants can no longer be selected.
        for (const key of [...index.keys]) lru.delete(key);
        index = urls.get(entry.url);
      }
      index ??= addUrl(urls, paths, entry);
      const key = variantKey(entry.url, entry.vary, requestHeaders);
      const { policy } = entry;
      entry.freshUntil = policy.now() + (policy.maxAge() - policy.age()) * 1000;
      entry.hot = undefined;
      index.keys.add(key);
      lru.set(key, entry);
      // lru-cache refuses an entry above maxEntrySize without calling dispose.
      if (!lru.has(key)) forget(entry, key);
    },
    evictUrl,
    evictPath(path) {
      const set = paths.get(path);
      if (!set) return;
      for (const url of [...set]) evictUrl(url);
    },
    entriesOfPath: (path) => entriesOf(path, paths, urls, lru),
    evictAll() {
      lru.clear();
      urls.clear();
      paths.clear();
    },
    get bytes() {
      return lru.calculatedSize;
    },
    get size() {
      return lru.size;
    },
  };
}

function entriesOf(
  path: string,
  paths: Map<string, Set<string>>,
  urls: Map<string, UrlIndex>,
  lru: LRUCache<string, CacheEntry>,
): CacheEntry[] {
  const found: CacheEntry[] = [];
  for (const url of paths.get(path) ?? [])
    for (const key of urls.get(url)?.keys ?? []) {
      const entry = lru.peek(key);
      if (entry) found.push(entry);
    }
  return found;
}

/** Starts the index of a URL stored for the first time, and lists the URL under its path. */
function addUrl(urls: Map<string, UrlIndex>, paths: Map<string, Set<string>>, entry: CacheEntry): UrlIndex {
  const index: UrlIndex = { vary: entry.vary, keys: new Set() };
  urls.set(entry.url, index);
  let set = paths.get(entry.path);
  if (!set) paths.set(entry.path, (set = new Set()));
  set.add(entry.url);
  return index;
}

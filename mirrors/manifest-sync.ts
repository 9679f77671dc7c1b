// Reads a manifest (common/feed-format.ts) into the store's staging table
// in bounded memory, fetching the blobs it names as it goes, and checks the
// origin's signature over the whole stream before anything is applied.
// Used to bootstrap an empty mirror and by `hyperstatic mirror verify`.
import fs from 'node:fs';
import {
  MANIFEST_PATH,
  manifestHasher,
  manifestPayload,
  parseManifestPage,
  FeedSignatureError,
  type ManifestHead,
  type ManifestPage,
} from '../common/feed-format';
import type { Logger } from '../common/logger';
import { describe, parseSiteSignature, TrustError, type Signed } from '../common/trust/statements';
import type { TrustState } from '../common/trust/trust-state';
import type { BlobFetcher } from './blob-fetcher';
import type { MirrorStore } from './mirror-store';
import type { Progress } from './progress';

const CHUNK = 500;

export interface StagedManifest {
  epoch: number;
  cursor: number;
  count: number;
  /** True when the end line's signature verified against the pinned key. */
  signed: boolean;
  /** With `keep`: the manifest's bytes as they arrived, for MirrorStore.keepSignedManifest once committed. */
  keptFile?: string;
}

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.indexOf('\n');
      while (nl !== -1) {
        yield buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
      if (buffer.length > 1024 * 1024) throw new Error('manifest line longer than 1 MiB');
    }
    if (buffer.length > 0) throw new Error('manifest ends without a newline (cut short?)');
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseHead(value: Record<string, unknown>): ManifestHead {
  if (value.type !== 'head' || !Number.isSafeInteger(value.epoch) || !Number.isSafeInteger(value.cursor))
    throw new Error('manifest does not start with a head line');
  return {
    type: 'head',
    epoch: value.epoch as number,
    cursor: value.cursor as number,
    pages: Number.isSafeInteger(value.pages) ? (value.pages as number) : undefined,
  };
}

/** Passes `source`'s lines on, also writing them (with their newlines) to `file`, a chunk at a time. */
async function* keepingLines(source: AsyncGenerator<string>, file: string): AsyncGenerator<string> {
  const fd = fs.openSync(file, 'w', 0o644);
  let pending = '';
  try {
    for await (const line of source) {
      pending += `${line}\n`;
      if (pending.length >= 1 << 16) {
        fs.writeSync(fd, pending);
        pending = '';
      }
      yield line;
    }
    fs.writeSync(fd, pending);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Streams `url`'s manifest into the staging table. With `trust`, a
 * missing or bad signature throws; without it (a peer's manifest) the result
 * says `signed: false`. With `fetchBlobs`, every named blob is fetched and
 * verified by hash along the way.
 */
export async function stageManifest(options: {
  store: MirrorStore;
  url: string;
  /** Default MANIFEST_PATH (an origin); a peer mirror serves `/_mirror/manifest`. */
  manifestPath?: string;
  /** What the end line's signature must satisfy; omit for a peer's (unsigned) manifest. */
  trust?: TrustState;
  /** Sent with the request: a peer's `/_mirror/manifest` needs its operator listener or its MIRROR_ADMIN_TOKEN. */
  headers?: Record<string, string>;
  fetcher?: BlobFetcher;
  progress?: Progress;
  logger: Logger;
  /** Also write the manifest's bytes to a file (a signed one is kept for readers' browsers: failover-route.ts). */
  keep?: boolean;
}): Promise<StagedManifest> {
  const { store, url, fetcher, progress } = options;
  const target = `${url}${options.manifestPath ?? MANIFEST_PATH}`;
  const res = await fetch(target, { headers: { ...options.headers, accept: 'application/x-ndjson' } });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`${target} answered ${res.status}`);
  }
  store.clearStage();
  const hasher = manifestHasher();
  let head: ManifestHead | undefined;
  let end: { count: number; signature: unknown } | undefined;
  let count = 0;
  let chunk: ManifestPage[] = [];

  async function flush(): Promise<void> {
    if (chunk.length === 0) return;
    store.stagePages(chunk);
    if (fetcher) {
      const wanted = new Map<string, number>();
      for (const p of chunk) if (!store.hasBlob(p.sha256)) wanted.set(p.sha256, p.size);
      await fetcher.fetchAll(
        [...wanted].map(([sha256, size]) => ({ sha256, size })),
        url,
      );
    }
    progress?.increment(chunk.length);
    chunk = [];
  }

  const keptFile = options.keep ? `${store.signedManifestFile()}.partial` : undefined;
  for await (const line of keptFile ? keepingLines(lines(res.body), keptFile) : lines(res.body)) {
    if (end) throw new Error('manifest continues after its end line');
    const value = JSON.parse(line) as Record<string, unknown>;
    if (!head) {
      head = parseHead(value);
      if (options.trust && value.trust !== undefined) absorbTrust(options.trust, value.trust, options.logger);
      progress?.setTotal(head.pages ?? 0);
      hasher.update(`${line}\n`);
      continue;
    }
    if (value.type === 'end') {
      if (!Number.isSafeInteger(value.count)) throw new Error('malformed manifest end line');
      end = { count: value.count as number, signature: value.signature };
      continue;
    }
    hasher.update(`${line}\n`);
    chunk.push(parseManifestPage(value));
    count += 1;
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  if (!head || !end) throw new Error('manifest was cut short (no end line)');
  if (end.count !== count) throw new Error(`manifest end line counts ${end.count} pages, ${count} arrived`);
  let signed = false;
  if (options.trust) {
    try {
      verifyManifestEnd(options.trust, hasher.digest(), end.signature, head.epoch);
      signed = true;
    } catch (error) {
      store.clearStage();
      if (keptFile) fs.rmSync(keptFile, { force: true });
      throw new FeedSignatureError(`manifest from ${url} refused: ${(error as Error).message}`);
    }
  }
  return { epoch: head.epoch, cursor: head.cursor, count, signed, ...(keptFile && signed ? { keptFile } : {}) };
}

/** Throws unless the end line is signed by a key trusted at an epoch no lower than the manifest's. */
export function verifyManifestEnd(trust: TrustState, digest: string, raw: unknown, epoch: number): void {
  const signature = raw === undefined ? undefined : parseSiteSignature(raw);
  if (signature && trust.anchor.kind === 'roots' && signature.at < trust.highestEpoch())
    throw new TrustError('stale', `a manifest signed at epoch ${signature.at}, below epoch ${trust.highestEpoch()}`);
  if (signature && signature.at < epoch)
    throw new TrustError('epoch', `a manifest of epoch ${epoch} is signed at epoch ${signature.at}`);
  trust.check(signature, (key, at) => manifestPayload(digest, key, at));
}

/**
 * Takes the trust statements a feed or manifest carries; a refused one is
 * logged (and counted through `refused`), the rest still count. Returns the
 * statements that were new.
 */
export function absorbTrust(
  trust: TrustState,
  bundle: unknown,
  logger: Logger,
  refused?: (reason: string) => void,
): Signed[] {
  const result = trust.absorb(bundle);
  for (const r of result.refused) {
    refused?.(r.error.reason);
    logger.warn({ statement: r.statement, reason: r.error.reason, err: r.error.message }, 'refused a trust statement');
  }
  for (const a of result.added) logger.info({ statement: describe(a.statement) }, 'accepted a trust statement');
  return result.added;
}

/** Fetches whatever staged blob is still missing (e.g. a chunk fetched before a restart), bounded per round. */
export async function fetchMissingStaged(store: MirrorStore, fetcher: BlobFetcher, preferred: string): Promise<void> {
  let after = '';
  for (;;) {
    const missing = store.missingStagedBlobs(CHUNK, after);
    if (missing.length === 0) return;
    await fetcher.fetchAll(missing, preferred);
    after = missing[missing.length - 1].sha256;
  }
}

/** Bootstrap: stage the origin's signed manifest with its blobs, then make it the index in one transaction. */
export async function bootstrapFromManifest(options: {
  store: MirrorStore;
  url: string;
  trust: TrustState;
  fetcher: BlobFetcher;
  progress?: Progress;
  logger: Logger;
}): Promise<StagedManifest> {
  const staged = await stageManifest({ ...options, keep: true });
  await fetchMissingStaged(options.store, options.fetcher, options.url);
  options.store.commitStage(staged.epoch, staged.cursor);
  if (staged.keptFile) options.store.keepSignedManifest(staged.keptFile);
  return staged;
}

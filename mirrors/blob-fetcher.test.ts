// The blob fetcher's retry paths against raw HTTP sources on loopback: a
// reused keep-alive socket the server already closed, and sources that
// answer a resumed download (Range) with 416 or the wrong Content-Range.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { BLOB_PATH } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { createLogger } from '../common/logger';
import { createBlobFetcher } from './blob-fetcher';
import { BlobUnavailableError } from './errors';
import { MirrorStore } from './mirror-store';

const logger = createLogger('silent', 'test');
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

function openStore(): MirrorStore {
  const store = MirrorStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-fetcher-')));
  cleanup.push(() => {
    store.close();
    fs.rmSync(store.dir, { recursive: true, force: true });
  });
  return store;
}

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Leaves the first `bytes` of `body` on disk as an interrupted download. */
async function leavePartial(store: MirrorStore, body: Buffer, bytes: number): Promise<void> {
  async function* cut(): AsyncGenerator<Uint8Array> {
    yield body.subarray(0, bytes);
    throw new Error('connection reset');
  }
  await assert.rejects(store.receiveBlob(sha256Hex(body), cut(), 0, body.length), /connection reset/);
  assert.equal(store.partialBytes(sha256Hex(body)), bytes);
}

/** A well-behaved source for `blobs`, honouring `Range: bytes=N-`; records each request's Range header. */
async function startSource(
  blobs: Buffer[],
  ranges: (string | undefined)[],
  answer?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<string> {
  const byHash = new Map(blobs.map((b) => [sha256Hex(b), b]));
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    if (answer?.(req, res)) return;
    const body = byHash.get((req.url ?? '').slice(BLOB_PATH.length));
    if (!body) return void res.writeHead(404).end();
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    if (from === 0) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    res
      .writeHead(206, {
        'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
        'content-length': body.length - from,
      })
      .end(body.subarray(from));
  });
  return listen(server);
}

/** Answers every Range with 416 (as if the partial were no prefix of the source's copy); the rest as usual. */
function refuseRanges(size: number): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    if (!req.headers.range) return false;
    res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    return true;
  };
}

test('a reused keep-alive socket the server closed just before the request is asked again, not counted as a failed source', async () => {
  const store = openStore();
  const blobs = [randomBytes(3000), randomBytes(3000)];
  const byHash = new Map(blobs.map((b) => [sha256Hex(b), b]));
  // Raw TCP so the server can drop an idle keep-alive socket at the worst moment: as the
  // second request arrives on it, with no answer at all (what a server's idle timeout does).
  let connections = 0;
  const requests: { connection: number; reset: boolean }[] = [];
  const server = net.createServer((socket) => {
    const connection = ++connections;
    let buffered = '';
    let served = 0;
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const head = buffered.slice(0, buffered.indexOf('\r\n\r\n'));
        buffered = buffered.slice(head.length + 4);
        const hash = /^GET \/blobs\/([0-9a-f]{64}) /.exec(head)?.[1] ?? '';
        if (connection === 1 && served === 1) {
          requests.push({ connection, reset: true });
          socket.resetAndDestroy();
          return;
        }
        served += 1;
        requests.push({ connection, reset: false });
        const body = byHash.get(hash) ?? Buffer.alloc(0);
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`);
        socket.write(body);
      }
    });
    socket.on('error', () => undefined);
  });
  const url = await listen(server);
  const failures: string[] = [];
  const fetcher = createBlobFetcher({
    store,
    sources: () => [url],
    logger,
    concurrency: 1,
    onAttemptFailed: (_s, _h, error) => failures.push(error.message),
  });
  cleanup.push(() => fetcher.close());

  await fetcher.fetchAll([{ sha256: sha256Hex(blobs[0]), size: blobs[0].length }]);
  await fetcher.fetchAll([{ sha256: sha256Hex(blobs[1]), size: blobs[1].length }]);

  assert.deepEqual(
    requests,
    [
      { connection: 1, reset: false },
      { connection: 1, reset: true },
      { connection: 2, reset: false },
    ],
    'the second blob was asked for on the kept-alive socket, which died, then once more on a new one',
  );
  assert.deepEqual(failures, [], 'the only source was never counted as failed');
  for (const blob of blobs) assert.deepEqual(fs.readFileSync(store.blobPath(sha256Hex(blob))), blob);
});

test('a source answering 416 to a resumed download makes the next attempt start from byte 0', async () => {
  const store = openStore();
  const body = randomBytes(50_000);
  const sha = sha256Hex(body);
  await leavePartial(store, body, 20_000);
  const refusingRanges: (string | undefined)[] = [];
  const refusing = await startSource([body], refusingRanges, refuseRanges(body.length));
  const goodRanges: (string | undefined)[] = [];
  const good = await startSource([body], goodRanges);
  const failures: string[] = [];
  const fetcher = createBlobFetcher({
    store,
    sources: () => [refusing, good],
    logger,
    onAttemptFailed: (source, _h, error) =>
      failures.push(`${source === refusing ? 'refusing' : 'good'}: ${error.message}`),
  });
  cleanup.push(() => fetcher.close());

  await fetcher.fetchAll([{ sha256: sha, size: body.length }]);

  assert.deepEqual(refusingRanges, ['bytes=20000-'], 'the first source was asked for the rest');
  assert.deepEqual(failures, ['refusing: answered 416']);
  assert.deepEqual(
    goodRanges,
    [undefined],
    'after a 416 the partial is dropped and the next source is asked for the whole blob',
  );
  assert.deepEqual(fs.readFileSync(store.blobPath(sha)), body);
  assert.equal(store.partialBytes(sha), 0);
});

test('a 206 whose Content-Range does not start at the asked byte is refused; the partial is kept and another source resumes it', async () => {
  const store = openStore();
  const body = randomBytes(50_000);
  const sha = sha256Hex(body);
  await leavePartial(store, body, 20_000);
  const wrongRanges: (string | undefined)[] = [];
  // Answers every Range from byte 0 while calling it 206: appending that would corrupt the file.
  const wrong = await startSource([body], wrongRanges, (_req, res) => {
    res
      .writeHead(206, { 'content-range': `bytes 0-${body.length - 1}/${body.length}`, 'content-length': body.length })
      .end(body);
    return true;
  });
  const missingRanges: (string | undefined)[] = [];
  // A 206 with no Content-Range at all.
  const missing = await startSource([body], missingRanges, (_req, res) => {
    res.writeHead(206, { 'content-length': body.length - 20_000 }).end(body.subarray(20_000));
    return true;
  });
  const goodRanges: (string | undefined)[] = [];
  const good = await startSource([body], goodRanges);
  const failures: string[] = [];
  const fetcher = createBlobFetcher({
    store,
    sources: () => [wrong, missing, good],
    logger,
    onAttemptFailed: (_s, _h, error) => failures.push(error.message),
  });
  cleanup.push(() => fetcher.close());

  await fetcher.fetchAll([{ sha256: sha, size: body.length }]);

  assert.equal(failures.length, 2, failures.join('\n'));
  assert.match(failures[0], /byte 20000 with Content-Range bytes 0-49999\/50000/);
  assert.match(failures[1], /byte 20000 with Content-Range \(none\)/);
  assert.deepEqual(wrongRanges, ['bytes=20000-']);
  assert.deepEqual(missingRanges, ['bytes=20000-']);
  assert.deepEqual(goodRanges, ['bytes=20000-'], 'the bytes on disk survived the bad answers and were resumed from');
  assert.deepEqual(fs.readFileSync(store.blobPath(sha)), body);
});

test('with the only source answering 416, the fetch fails naming it and the next fetch starts over and succeeds', async () => {
  const store = openStore();
  const body = randomBytes(10_000);
  const sha = sha256Hex(body);
  await leavePartial(store, body, 4_000);
  const ranges: (string | undefined)[] = [];
  const source = await startSource([body], ranges, refuseRanges(body.length));
  const fetcher = createBlobFetcher({ store, sources: () => [source], logger });
  cleanup.push(() => fetcher.close());

  await assert.rejects(
    fetcher.fetchAll([{ sha256: sha, size: body.length }]),
    (error: unknown) => error instanceof BlobUnavailableError && /answered 416/.test(error.message),
  );
  assert.equal(store.partialBytes(sha), 0, 'the partial the source could not extend is gone');
  await fetcher.fetchAll([{ sha256: sha, size: body.length }]);
  assert.deepEqual(ranges, ['bytes=4000-', undefined]);
  assert.deepEqual(fs.readFileSync(store.blobPath(sha)), body);
});

test('a source that ignores the Range and answers 200 is read from byte 0, replacing the partial', async () => {
  const store = openStore();
  const body = randomBytes(30_000);
  const sha = sha256Hex(body);
  await leavePartial(store, body, 12_000);
  const ranges: (string | undefined)[] = [];
  const source = await startSource([body], ranges, (_req, res) => {
    res.writeHead(200, { 'content-length': body.length }).end(body);
    return true;
  });
  const failures: string[] = [];
  const fetcher = createBlobFetcher({
    store,
    sources: () => [source],
    logger,
    onAttemptFailed: (_s, _h, error) => failures.push(error.message),
  });
  cleanup.push(() => fetcher.close());

  await fetcher.fetchAll([{ sha256: sha, size: body.length }]);

  assert.deepEqual(ranges, ['bytes=12000-']);
  assert.deepEqual(failures, []);
  assert.deepEqual(fs.readFileSync(store.blobPath(sha)), body);
  assert.equal(store.partialBytes(sha), 0);
});

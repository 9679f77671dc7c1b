// Broken upstream answers: malformed, truncated, over-long or dripping
// bodies and heads, from a raw TCP upstream that writes exactly the bytes a
// test gives it. Each must fail its fill with a log line, release every
// reader waiting on it (a stale copy where allowed, else 502) and leave the
// key free for the next reader at once (issue 19: one malformed answer kept
// a URL at 504 until restart).
import assert from 'node:assert/strict';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { request, sleep, startTestProxy, type TestProxy } from './proxy-helpers';

interface RawUpstream {
  url: string;
  /** Request heads received, in order. */
  readonly heads: string[];
  /** Writes the answer to the n-th request (from 0) on its socket. */
  answer: (socket: Socket, n: number) => void;
  close(): Promise<void>;
}

async function rawUpstream(answer: RawUpstream['answer']): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  const upstream: RawUpstream = {
    url: '',
    heads: [],
    answer,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        upstream.heads.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 4);
        upstream.answer(socket, upstream.heads.length - 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  running.push(upstream);
  return upstream;
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncache-control: max-age=60\r\ncontent-length: 2\r\n\r\nok';

const running: { close(): Promise<void> }[] = [];
after(async () => {
  for (const service of running.reverse()) await service.close();
});

/** A proxy whose warnings are kept for the test to read. */
async function proxyFor(url: string, env: Record<string, string> = {}): Promise<TestProxy & { logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const proxy = await startTestProxy([url], env, { logger: pino({ level: 'warn' }, sink) });
  running.push(proxy);
  return Object.assign(proxy, { logs });
}

function pathsOf(upstream: RawUpstream, path: string): number {
  return upstream.heads.filter((h) => h.startsWith(`GET ${path} `)).length;
}

describe('cache proxy: broken upstream answers', () => {
  it('RFC 9112 §6.3: fails a fill whose body runs past its Content-Length, releases every waiting reader with 502 and frees the key at once', async () => {
    const upstream = await rawUpstream((socket, n) => {
      // 36 bytes after a head that declares 10; the second answer is a correct one.
      if (n === 0)
        setTimeout(
          () =>
            socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 10\r\ncache-control: max-age=60\r\n\r\n${'x'.repeat(36)}`),
          150,
        );
      else socket.write(OK);
    });
    const proxy = await proxyFor(upstream.url);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 5 }, () => request(proxy.url, '/long')));
    assert.deepEqual(
      replies.map((r) => r.status),
      [502, 502, 502, 502, 502],
    );
    // Released by the failure itself, not by the coalescing timeout (10 s).
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.equal(pathsOf(upstream, '/long'), 1);
    const next = await request(proxy.url, '/long');
    assert.equal(next.status, 200);
    assert.equal(next.body, 'ok');
    assert.match(next.cacheStatus, /fwd=uri-miss/);
    const line = proxy.logs.find((l) => l.includes('upstream response is broken'));
    assert.ok(line, proxy.logs.join(''));
    assert.match(line, /"reason":"malformed"/);
    assert.match(line, /"url":"\/long"/);
  });

  it('RFC 9112 §6.3: fails a fill whose upstream closes before the declared length, and serves the stale copy the origin allows', async () => {
    const upstream = await rawUpstream((socket, n) => {
      if (n === 0)
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncache-control: max-age=1, stale-if-error=600\r\n\r\nfirst',
        );
      else {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\ncache-control: max-age=1\r\n\r\nonly part');
        socket.end();
      }
    });
    const proxy = await proxyFor(upstream.url);
    assert.equal((await request(proxy.url, '/cut')).body, 'first');
    proxy.advance(5);
    const stale = await request(proxy.url, '/cut', { headers: { 'cache-control': 'max-age=0' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.body, 'first');
    assert.match(stale.cacheStatus, /detail=stale-if-error/);
    assert.match(proxy.logs.join(''), /"reason":"truncated"/);
    // Nothing was stored from the truncated answer, and the key is free: the next reader asks again.
    await request(proxy.url, '/cut', { headers: { 'cache-control': 'max-age=0' } });
    assert.equal(pathsOf(upstream, '/cut'), 3);
  });

  it('answers 502 without relaying a body that declares more than PROXY_MAX_RESPONSE_BYTES', async () => {
    const upstream = await rawUpstream((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5000000\r\ncache-control: max-age=60\r\n\r\n');
      socket.write(Buffer.alloc(64 * 1024, 'a'));
    });
    const proxy = await proxyFor(upstream.url, {
      PROXY_MAX_ENTRY_BYTES: '4096',
      PROXY_MAX_RESPONSE_BYTES: '1000000',
    });
    const reply = await request(proxy.url, '/huge');
    assert.equal(reply.status, 502);
    assert.match(reply.cacheStatus, /detail=no-upstream/);
    assert.match(proxy.logs.join(''), /"reason":"too-large"/);
  });

  it('cuts a streamed body that grows past PROXY_MAX_RESPONSE_BYTES, so the reader never takes it for whole', async () => {
    const upstream = await rawUpstream((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncache-control: max-age=60\r\n\r\n');
      const chunk = Buffer.alloc(16 * 1024, 'b');
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write('\r\n');
      }, 5);
      socket.once('close', () => clearInterval(timer));
    });
    const proxy = await proxyFor(upstream.url, {
      PROXY_MAX_ENTRY_BYTES: '4096',
      PROXY_MAX_RESPONSE_BYTES: '200000',
    });
    const received = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const { port } = new URL(proxy.url);
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        socket.write('GET /endless HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
      );
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.on('error', () => undefined);
    });
    assert.match(received.toString('latin1', 0, 20), /^HTTP\/1\.1 200/);
    assert.ok(received.length > 4096 && received.length < 300_000, `${received.length}`);
    // A chunked body ends with a zero-length chunk; a cut one does not.
    assert.ok(!received.toString('latin1').endsWith('0\r\n\r\n'));
    await sleep(50);
    assert.match(proxy.logs.join(''), /too-large/);
  });

  it('fails a fill whose body drips slower than PROXY_FILL_TIMEOUT_MS allows, and asks again next time', async () => {
    const upstream = await rawUpstream((socket, n) => {
      if (n > 0) return void socket.write(OK);
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\ncache-control: max-age=60\r\n\r\n');
      // One byte every 50 ms never trips the idle timeout, but would take 50 s in all.
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write('d')), 50);
      socket.once('close', () => clearInterval(timer));
    });
    const proxy = await proxyFor(upstream.url, { PROXY_FILL_TIMEOUT_MS: '600', PROXY_UPSTREAM_TIMEOUT_MS: '2000' });
    const started = Date.now();
    const [first, waiting] = await Promise.all([request(proxy.url, '/drip'), request(proxy.url, '/drip')]);
    assert.equal(first.status, 502);
    assert.equal(waiting.status, 502);
    assert.ok(Date.now() - started < 2500, `${Date.now() - started} ms`);
    assert.match(proxy.logs.join(''), /"reason":"stalled"/);
    assert.equal((await request(proxy.url, '/drip')).body, 'ok');
  });

  it('RFC 9112 §4: fails over from an upstream whose status line is malformed, and frees the key', async () => {
    const upstream = await rawUpstream((socket, n) => {
      if (n === 0) socket.end('HTTP/1.1 2OO BROKEN\r\n\r\n');
      else socket.write(OK);
    });
    const proxy = await proxyFor(upstream.url);
    assert.equal((await request(proxy.url, '/garbled')).status, 502);
    assert.equal((await request(proxy.url, '/garbled')).body, 'ok');
  });

  it('answers 502 to an upstream head larger than 64 KB rather than buffering it', async () => {
    const upstream = await rawUpstream((socket, n) => {
      if (n === 0) socket.write(`HTTP/1.1 200 OK\r\nx-filler: ${'f'.repeat(70 * 1024)}\r\ncontent-length: 2\r\n\r\nok`);
      else socket.write(OK);
    });
    const proxy = await proxyFor(upstream.url);
    assert.equal((await request(proxy.url, '/fat-head')).status, 502);
    assert.equal((await request(proxy.url, '/fat-head')).status, 200);
  });
});

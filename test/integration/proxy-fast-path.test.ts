// The connection-level fast path (cache-proxy/fast-server.ts) answers fresh
// hits itself and hands a connection to node:http at the first request it
// does not fully understand; these tests speak raw HTTP/1.1 on one socket
// to check that nothing is lost or reordered at that hand-over.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

/** One keep-alive connection that collects whatever arrives. */
class Connection {
  private readonly socket: net.Socket;
  private received = '';
  closed = false;

  constructor(base: string) {
    const { hostname, port } = new URL(base);
    this.socket = net.connect(Number(port), hostname);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => (this.received += chunk));
    this.socket.on('close', () => (this.closed = true));
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits until `count` complete responses (bodies sized by Content-Length) have arrived, and returns them. */
  async responses(count: number, timeoutMs = 3000): Promise<{ head: string; body: string }[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponses(this.received);
      if (parsed.length >= count) return parsed;
      if (Date.now() > deadline)
        throw new Error(
          `only ${parsed.length} of ${count} responses arrived: ${JSON.stringify(this.received.slice(0, 500))}`,
        );
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parseResponses(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return out;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const bodyless = /^HTTP\/1\.1 (304|204)/.test(head) || head.includes('x-head-request');
    const size = bodyless ? 0 : length;
    if (rest.length < end + 4 + size) return out;
    out.push({ head, body: rest.slice(end + 4, end + 4 + size) });
    rest = rest.slice(end + 4 + size);
  }
}

const LAST_MODIFIED = 'Sat, 21 Nov 2026 10:00:00 GMT';
/** Written by the fast path itself; node:http capitalizes the field it adds. */
const FAST_PATH = /\r\nconnection: keep-alive\r\n/;

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: news.example\r\n${extra}\r\n`;

describe('cache proxy: connection-level fast path', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  const open: Connection[] = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, {
        'cache-control': 'max-age=100',
        'content-type': 'text/plain',
        etag: '"v1"',
        'last-modified': LAST_MODIFIED,
      });
      res.end(req.url === '/big' ? 'b'.repeat(64 * 1024) : `page ${req.url}`);
    });
    proxy = await startTestProxy([upstream.url]);
    await request(proxy.url, '/big');
    await request(proxy.url, '/hot');
    await request(proxy.url, '/also-hot');
  });

  after(async () => {
    for (const connection of open) connection.destroy();
    await proxy.close();
    await upstream.close();
  });

  function connect(): Connection {
    const connection = new Connection(proxy.url);
    open.push(connection);
    return connection;
  }

  it('answers hits, then a miss handed to node:http, then hits again, in order on one connection', async () => {
    const connection = connect();
    connection.send(get('/hot'));
    await connection.responses(1);
    connection.send(get('/cold-1'));
    await connection.responses(2);
    connection.send(get('/also-hot'));
    const replies = await connection.responses(3);
    assert.deepEqual(
      replies.map((r) => r.body),
      ['page /hot', 'page /cold-1', 'page /also-hot'],
    );
    assert.match(replies[0].head, /cache-status: Hyperstatic; hit; ttl=\d+/);
    assert.match(replies[1].head, /fwd=uri-miss/i);
    assert.match(replies[2].head, /Hyperstatic; hit/i);
    assert.equal(upstream.count('/cold-1'), 1);
  });

  it('answers pipelined requests in order when a miss sits between hits', async () => {
    const connection = connect();
    connection.send(get('/hot') + get('/cold-2') + get('/also-hot'));
    const replies = await connection.responses(3);
    assert.deepEqual(
      replies.map((r) => r.body),
      ['page /hot', 'page /cold-2', 'page /also-hot'],
    );
  });

  it('answers a flood of pipelined requests whose responses outgrow the send buffer, all of them in order', async () => {
    const connection = connect();
    // 100 × 64 KB: more than the fast path queues before it stops reading and waits for the reader.
    connection.send(Array.from({ length: 100 }, (_, i) => get(i % 10 === 9 ? '/hot' : '/big')).join(''));
    const replies = await connection.responses(100, 15_000);
    assert.equal(replies.length, 100);
    replies.forEach((reply, i) => assert.equal(reply.body.length, i % 10 === 9 ? 9 : 64 * 1024, `response ${i}`));
  });

  it('waits for a request head split across packets', async () => {
    const connection = connect();
    connection.send('GET /hot HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 30));
    connection.send('st: news.example\r\n\r\n');
    const [reply] = await connection.responses(1);
    assert.equal(reply.body, 'page /hot');
  });

  it('answers HEAD without a body and keeps the connection usable', async () => {
    const connection = connect();
    connection.send(`HEAD /hot HTTP/1.1\r\nHost: news.example\r\nx-head-request: 1\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    connection.send(get('/hot'));
    const replies = await connection.responses(2);
    assert.match(replies[0].head, /content-length: 9/);
    assert.equal(replies[1].body, 'page /hot');
  });

  it('leaves Connection: close, HTTP/1.0, bodies and malformed heads to node:http', async () => {
    const closing = connect();
    closing.send(get('/hot', 'Connection: close\r\n'));
    const [closed] = await closing.responses(1);
    assert.match(closed.head, /Connection: close/);
    assert.equal(closed.body, 'page /hot');
    for (let i = 0; i < 100 && !closing.closed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(closing.closed, true);

    const smuggled = connect();
    smuggled.send('GET /hot HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc');
    const [refused] = await smuggled.responses(1);
    assert.match(refused.head, /^HTTP\/1\.1 400/);

    const bad = connect();
    bad.send('GET /hot HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n');
    const [badReply] = await bad.responses(1);
    assert.match(badReply.head, /^HTTP\/1\.1 400/);
  });

  it('answers a reader revalidating a fresh page with 304 itself, and a reader holding an older copy in full', async () => {
    const connection = connect();
    const fetchesBefore = upstream.count('/hot');
    connection.send(
      get('/hot', 'If-None-Match: "v1"\r\n') +
        get('/hot', 'If-None-Match: "v0", W/"v1"\r\n') +
        get('/hot', 'If-None-Match: "v0"\r\n') +
        get('/hot', 'If-Modified-Since: Sat, 21 Nov 2026 11:00:00 GMT\r\n') +
        get('/hot', 'If-Modified-Since: Sat, 21 Nov 2026 09:00:00 GMT\r\n') +
        `HEAD /hot HTTP/1.1\r\nHost: news.example\r\nIf-None-Match: "v1"\r\n\r\n`,
    );
    const replies = await connection.responses(6);
    assert.deepEqual(
      replies.map((r) => /^HTTP\/1\.1 (\d+)/.exec(r.head)?.[1]),
      ['304', '304', '200', '304', '200', '304'],
    );
    for (const reply of replies) assert.match(reply.head, FAST_PATH);
    // RFC 9110 §15.4.5: the 304 carries the validators and caching fields, no body and no Content-Length.
    assert.match(replies[0].head, /\r\netag: "v1"\r\n/);
    assert.match(replies[0].head, /\r\ncache-control: max-age=100\r\n/);
    assert.match(replies[0].head, /\r\ncache-status: Hyperstatic; hit; ttl=\d+/);
    assert.doesNotMatch(replies[0].head, /content-length|content-type/i);
    assert.equal(replies[2].body, 'page /hot');
    assert.equal(replies[4].body, 'page /hot');
    assert.equal(upstream.count('/hot'), fetchesBefore);
  });

  it('leaves If-Match and If-Unmodified-Since to the full path, which still answers from memory', async () => {
    const connection = connect();
    connection.send(get('/hot', 'If-Match: "v1"\r\n'));
    const [reply] = await connection.responses(1);
    assert.match(reply.head, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(reply.head, FAST_PATH);
    assert.match(reply.head, /Hyperstatic; hit/);
  });

  it('counts fast-path hits in /metrics', async () => {
    const connection = connect();
    connection.send(get('/hot') + get('/hot'));
    await connection.responses(2);
    const metrics = await request(proxy.internalUrl, '/metrics');
    const hits = Number(/hyperstatic_proxy_cache_hits_total (\d+)/.exec(metrics.body)?.[1]);
    assert.ok(hits >= 2, String(hits));
  });

  it('closes idle fast-path connections when the proxy stops', async () => {
    const lone = await startTestProxy([upstream.url]);
    await request(lone.url, '/hot');
    const connection = new Connection(lone.url);
    connection.send(get('/hot'));
    await connection.responses(1);
    const started = Date.now();
    await lone.close();
    assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
    for (let i = 0; i < 50 && !connection.closed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(connection.closed, true);
  });
});

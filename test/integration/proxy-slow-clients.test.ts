// Slow and greedy readers: a request head or body that trickles in, and one
// address opening connection after connection. Raw sockets, so the test
// controls every byte and its timing.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request, sleep, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

/** A raw connection that records what it receives and when it closes. */
function connect(base: string, localAddress = '127.0.0.1') {
  const { port } = new URL(base);
  const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress });
  const state = { received: '', closedAt: 0 };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (state.received += chunk));
  socket.on('close', () => (state.closedAt = Date.now()));
  socket.on('error', () => undefined);
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, state, opened };
}

/** Writes `text` one byte every `everyMs` until the socket closes; resolves when it does (or the text is sent). */
async function trickle(socket: net.Socket, text: string, everyMs: number): Promise<void> {
  for (const byte of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(byte);
    await sleep(everyMs);
  }
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('cache proxy: slow clients', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(`page ${req.url}`);
    });
    proxy = await startTestProxy([upstream.url], {
      PROXY_HEADERS_TIMEOUT_MS: '600',
      PROXY_REQUEST_TIMEOUT_MS: '1200',
      PROXY_MAX_CONNECTIONS_PER_ADDRESS: '3',
    });
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('RFC 9110 §15.5.9: answers 408 and closes a connection whose head trickles in past PROXY_HEADERS_TIMEOUT_MS on the fast path', async () => {
    const { socket, state, opened } = connect(proxy.url);
    await opened;
    const started = Date.now();
    // One byte every 100 ms: the keep-alive idle timeout (5 s) never fires, the head never ends.
    void trickle(socket, `GET /slow HTTP/1.1\r\nHost: news.example\r\nX-Long: ${'z'.repeat(200)}\r\n\r\n`, 100);
    await until(() => state.closedAt > 0, 5000);
    assert.match(state.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(state.closedAt - started < 2500, `${state.closedAt - started} ms`);
    assert.equal(upstream.count('/slow'), 0);
  });

  it('RFC 9110 §15.5.9: answers 408 to a trickling head after the connection left the fast path', async () => {
    const { socket, state, opened } = connect(proxy.url);
    await opened;
    // HTTP/1.0 keep-alive is node:http's: the connection is handed over for good.
    socket.write('GET /first HTTP/1.0\r\nHost: news.example\r\nConnection: keep-alive\r\n\r\n');
    await until(() => state.received.includes('page /first'), 3000);
    const started = Date.now();
    void trickle(socket, `GET /second HTTP/1.1\r\nHost: news.example\r\nX-Long: ${'z'.repeat(200)}\r\n\r\n`, 100);
    await until(() => state.closedAt > 0, 5000);
    assert.match(state.received, /HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(state.closedAt - started < 3000, `${state.closedAt - started} ms`);
  });

  it('RFC 9110 §15.5.9: answers 408 to a request body that does not arrive within PROXY_REQUEST_TIMEOUT_MS', async () => {
    const { socket, state, opened } = connect(proxy.url);
    await opened;
    const started = Date.now();
    socket.write('POST /form HTTP/1.1\r\nHost: news.example\r\nContent-Length: 100\r\n\r\nfirst-ten!');
    void trickle(socket, 'x'.repeat(90), 200);
    await until(() => state.closedAt > 0, 6000);
    assert.match(state.received, /HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(state.closedAt - started < 4000, `${state.closedAt - started} ms`);
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.match(metrics.body, /hyperstatic_proxy_connections_refused_total\{reason="request-timeout"\} [1-9]/);
  });

  it('refuses connections beyond PROXY_MAX_CONNECTIONS_PER_ADDRESS with 429 at once, and serves another address', async () => {
    const held = [connect(proxy.url), connect(proxy.url), connect(proxy.url)];
    await Promise.all(held.map((c) => c.opened));
    await sleep(50);
    const extra = connect(proxy.url);
    await until(() => extra.state.closedAt > 0, 2000);
    assert.match(extra.state.received, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    assert.match(extra.state.received, /\r\nretry-after: 5\r\n/);
    // Another client address is not affected by this one's connections.
    const other = connect(proxy.url, '127.0.0.2');
    await other.opened;
    other.socket.write('GET /other HTTP/1.1\r\nHost: news.example\r\nConnection: close\r\n\r\n');
    await until(() => other.state.closedAt > 0, 3000);
    assert.match(other.state.received, /^HTTP\/1\.1 200 /);
    // Once one of the three closes, the address may open a connection again.
    held[0].socket.destroy();
    await sleep(50);
    const again = connect(proxy.url);
    await again.opened;
    again.socket.write('GET /again HTTP/1.1\r\nHost: news.example\r\nConnection: close\r\n\r\n');
    await until(() => again.state.closedAt > 0, 3000);
    assert.match(again.state.received, /^HTTP\/1\.1 200 /);
    for (const c of held) c.socket.destroy();
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.match(metrics.body, /hyperstatic_proxy_connections_refused_total\{reason="per-address"\} 1\b/);
  });
});

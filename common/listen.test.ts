// The one way a process opens its port: the address it got, a URL for it,
// and a refusal that names the component and the variable to change.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { listen, ListenError, localUrl } from './listen';

describe('listen', () => {
  const servers: http.Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('listens on a free port and gives a URL that reaches it', async () => {
    const server = http.createServer((_req, res) => res.end('here'));
    servers.push(server);
    const address = await listen(server, {
      port: 0,
      host: '127.0.0.1',
      component: 'mirror',
      portVariable: 'MIRROR_PORT',
    });
    assert.ok(address.port > 0);
    assert.equal(await (await fetch(localUrl(address))).text(), 'here');
  });

  it('names the component and the variable when the port is taken', async () => {
    const first = http.createServer();
    servers.push(first);
    const { port } = await listen(first, {
      port: 0,
      host: '127.0.0.1',
      component: 'mirror',
      portVariable: 'MIRROR_PORT',
    });
    const second = http.createServer();
    await assert.rejects(
      listen(second, { port, host: '127.0.0.1', component: 'cache proxy', portVariable: 'PROXY_PORT' }),
      (error: unknown) =>
        error instanceof ListenError &&
        error.code === 'HS_LISTEN_FAILED' &&
        error.message ===
          `the cache proxy cannot listen on 127.0.0.1:${port}: the port is in use (set PROXY_PORT to another port)`,
    );
    assert.equal(second.listening, false);
  });
});

describe('localUrl', () => {
  it('reaches a wildcard bind over loopback and brackets IPv6', () => {
    assert.equal(localUrl({ address: '0.0.0.0', family: 'IPv4', port: 80 }), 'http://127.0.0.1:80');
    assert.equal(localUrl({ address: '::', family: 'IPv6', port: 8080 }), 'http://127.0.0.1:8080');
    assert.equal(localUrl({ address: '::1', family: 'IPv6', port: 8081 }), 'http://[::1]:8081');
    assert.equal(localUrl({ address: '10.1.2.3', family: 'IPv4', port: 3000 }), 'http://10.1.2.3:3000');
  });
});

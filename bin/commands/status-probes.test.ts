import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../common/config';
import { freePort } from '../../test/harness/free-port';
import { probeProcess, probeTargets } from './status-probes';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A real listener on an ephemeral port; `handler` undefined accepts requests and never answers, as a SIGSTOPped process does. */
async function serve(handler?: http.RequestListener): Promise<string> {
  const server = http.createServer(handler ?? (() => undefined));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(status: number, body: unknown): http.RequestListener {
  return (req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
}

describe('status probes', () => {
  it('in the embedded mode checks the app, mirror and proxy on the ports the configuration gives them', () => {
    const embedded = loadConfig({
      DATABASE_URL: 'sqlite:/tmp/x.sqlite',
      BIND_HOST: '0.0.0.0',
      APP_PORT: '3100',
      MIRROR_PORT: '8181',
      MIRROR_INTERNAL_PORT: '9181',
      PROXY_PORT: '8180',
    });
    assert.deepEqual(probeTargets(embedded), [
      { kind: 'app', url: 'http://127.0.0.1:3100' },
      { kind: 'mirror', url: 'http://127.0.0.1:9181' },
      { kind: 'proxy', url: 'http://127.0.0.1:8180' },
    ]);
    const listed = loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite', STATUS_PROXY_URLS: 'http://10.0.0.7:9080' });
    assert.deepEqual(
      probeTargets(listed).filter((t) => t.kind === 'proxy'),
      [{ kind: 'proxy', url: 'http://10.0.0.7:9080' }],
      'a list replaces what the embedded ports would give',
    );
  });

  it('in production checks exactly the listed processes', () => {
    const config = loadConfig({
      DATABASE_URL: 'mysql://u:p@db:3306/hs',
      STATUS_APP_URLS: 'http://a:3000',
      STATUS_PRODUCER_URLS: 'http://p1:3001,http://p2:3001',
      STATUS_MIRROR_URLS: 'http://m:9081',
    });
    assert.deepEqual(probeTargets(config), [
      { kind: 'app', url: 'http://a:3000' },
      { kind: 'producer', url: 'http://p1:3001' },
      { kind: 'producer', url: 'http://p2:3001' },
      { kind: 'mirror', url: 'http://m:9081' },
    ]);
  });

  it('tells ready, not ready, refused and frozen apart, the frozen one by the deadline', async () => {
    const config = loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite', STATUS_TIMEOUT_MS: '300' });
    const ready = await serve(json(200, { ready: true, checks: { database: 'ok' } }));
    const failing = await serve(json(503, { ready: false, checks: { database: 'ok', queue: 'connect ECONNREFUSED' } }));
    const frozen = await serve();
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [a, b, c, d] = await Promise.all(
      [ready, failing, frozen, closed].map((url) => probeProcess({ kind: 'producer', url }, config)),
    );
    assert.equal(a.state, 'ready');
    assert.deepEqual(a.checks, { database: 'ok' });
    assert.equal(b.state, 'not ready');
    assert.equal(b.error, 'queue: connect ECONNREFUSED');
    assert.deepEqual(c, { kind: 'producer', url: frozen, state: 'down', error: 'no answer within 300 ms' });
    assert.deepEqual(d, { kind: 'producer', url: closed, state: 'down', error: 'ECONNREFUSED' });
  });

  it("sends a mirror's admin token with its probe, and nothing to an app", async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers.authorization);
      json(200, { ready: true, checks: {} })(req, res);
    });
    const token = 'a'.repeat(32);
    const config = loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite', MIRROR_ADMIN_TOKEN: token });
    await probeProcess({ kind: 'mirror', url }, config);
    await probeProcess({ kind: 'app', url }, config);
    assert.deepEqual(seen, [`Bearer ${token}`, undefined]);
  });
});

// The proxy's HTTPS listener (cache-proxy/tls-listener.ts): HTTP/1.1 and
// HTTP/2 (ALPN) over TLS on one port sharing one cache, certificates by SNI,
// reload for new handshakes while open sessions continue, a bad new
// certificate keeping the old, the plain-HTTP redirect listener, and start
// refused with the variable named. Certificates come from a CA made for
// the run (test/support/test-certificates.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../common/config';
import { createTestCa, type TestCa, type TestCertificate } from '../support/test-certificates';
import { request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';
import { capturingLogger, fingerprintFor, h2Connect, h2Request, rawTls, tlsEnv } from './proxy-tls-helpers';

describe('cache proxy: TLS and HTTP/2', () => {
  let ca: TestCa;
  let upstream: TestUpstream;
  let siteA: TestCertificate;
  let siteB: TestCertificate;

  before(async () => {
    ca = createTestCa();
    siteA = ca.issue(['a.test', 'www.a.test']);
    siteB = ca.issue(['*.b.test']);
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'cache-control': 'public, max-age=60',
        // Hop-by-hop fields an HTTP/2 response must not carry (RFC 9113 §8.2.2); node throws on each.
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        'x-method': req.method ?? '',
      });
      res.end(`${req.method} ${req.url} ${req.body}`);
    });
  });

  after(async () => {
    await upstream.close();
    ca.remove();
  });

  describe('serving', () => {
    let proxy: TestProxy;
    before(async () => {
      proxy = await startTestProxy([upstream.url], tlsEnv(siteA));
    });
    after(() => proxy.close());

    it('serves over HTTPS with HTTP/1.1 and answers the second request from memory on the fast path', async () => {
      const first = await rawTls(
        proxy.tlsUrl!,
        ca,
        'a.test',
        'GET /h1 HTTP/1.1\r\nhost: a.test\r\nconnection: close\r\n\r\n',
      );
      assert.match(first, /^HTTP\/1\.1 200 /);
      assert.match(first, /cache-status: Hyperstatic; fwd=uri-miss; fwd-status=200; ttl=60; stored/i);
      const hit = await rawTls(
        proxy.tlsUrl!,
        ca,
        'a.test',
        'GET /h1 HTTP/1.1\r\nhost: a.test\r\n\r\nGET /h1 HTTP/1.1\r\nhost: a.test\r\nconnection: close\r\n\r\n',
      );
      const [keptAlive] = hit.split('GET /h1 HTTP/1.1');
      // Lower-case keep-alive fields at the end of the head: the bytes fast-server.ts writes, not node:http's.
      assert.match(
        keptAlive,
        /cache-status: Hyperstatic; hit; ttl=60\r\n[\s\S]*connection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n/,
      );
      assert.equal(upstream.count('/h1'), 1);
    });

    it('speaks HTTP/2 when the client offers h2, answers hits from the cache HTTP/1.1 readers share', async () => {
      await request(proxy.url, '/shared');
      const session = await h2Connect(proxy.tlsUrl!, ca, 'a.test');
      try {
        assert.equal(session.alpnProtocol, 'h2');
        const hit = await h2Request(session, { ':path': '/shared' });
        assert.equal(hit.status, 200);
        assert.equal(hit.body, 'GET /shared ');
        assert.equal(hit.headers['cache-status'], 'Hyperstatic; hit; ttl=60');
        assert.equal(hit.headers.connection, undefined);
        assert.equal(hit.headers['proxy-connection'], undefined);
        const miss = await h2Request(session, { ':path': '/h2-only' });
        assert.match(String(miss.headers['cache-status']), /fwd=uri-miss; fwd-status=200; ttl=60; stored/);
        const again = await h2Request(session, { ':path': '/h2-only', 'accept-encoding': 'gzip' });
        assert.match(String(again.headers['cache-status']), /^Hyperstatic; hit/);
        const head = await h2Request(session, { ':path': '/h2-only', ':method': 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.body, '');
        assert.equal(upstream.count('/shared'), 1);
        assert.equal(upstream.count('/h2-only'), 1);
      } finally {
        session.close();
      }
    });

    it('passes an HTTP/2 POST through with its body, sending the upstream Host and no pseudo-header fields', async () => {
      const session = await h2Connect(proxy.tlsUrl!, ca, 'a.test');
      try {
        const reply = await h2Request(session, { ':path': '/form', ':method': 'POST' }, 'a=1');
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'POST /form a=1');
        const seen = upstream.seen.find((r) => r.url === '/form')!;
        assert.deepEqual(
          Object.keys(seen.headers).filter((name) => name.startsWith(':')),
          [],
        );
        assert.equal(seen.headers.host, new URL(upstream.url).host);
      } finally {
        session.close();
      }
    });

    it('negotiates TLS 1.3 by default and refuses CBC suites, which HTTP/2 forbids (RFC 9113 §9.2.2)', async () => {
      const { hostname, port } = new URL(proxy.tlsUrl!);
      const negotiated = await new Promise<string | null>((resolve, reject) => {
        const socket = tls.connect({ host: hostname, port: Number(port), servername: 'a.test', ca: ca.certPem }, () => {
          resolve(socket.getProtocol());
          socket.end();
        });
        socket.on('error', reject);
      });
      assert.equal(negotiated, 'TLSv1.3');
      await assert.rejects(
        new Promise((resolve, reject) => {
          const socket = tls.connect(
            {
              host: hostname,
              port: Number(port),
              servername: 'a.test',
              ca: ca.certPem,
              maxVersion: 'TLSv1.2',
              ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA',
            },
            () => resolve(socket.getCipher()),
          );
          socket.on('error', reject);
        }),
      );
    });
  });

  it('picks the certificate by SNI for two sites, wildcards included, and the first for a client without SNI', async () => {
    const proxy = await startTestProxy([upstream.url], {
      PROXY_TLS_PORT: '0',
      PROXY_TLS_CERT: `${siteA.certFile},${siteB.certFile}`,
      PROXY_TLS_KEY: `${siteA.keyFile},${siteB.keyFile}`,
    });
    try {
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'a.test'), siteA.fingerprint256);
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'www.a.test'), siteA.fingerprint256);
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'news.b.test'), siteB.fingerprint256);
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'unknown.test'), siteA.fingerprint256);
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca), siteA.fingerprint256);
    } finally {
      await proxy.close();
    }
  });

  it('reads a certbot-style directory of certificates (PROXY_TLS_CERT_DIR), one subdirectory per site', async () => {
    const live = path.join(ca.dir, 'live');
    for (const [name, cert] of [
      ['a.test', siteA],
      ['b.test', siteB],
    ] as const) {
      fs.mkdirSync(path.join(live, name), { recursive: true });
      fs.copyFileSync(cert.certFile, path.join(live, name, 'fullchain.pem'));
      fs.copyFileSync(cert.keyFile, path.join(live, name, 'privkey.pem'));
    }
    fs.writeFileSync(path.join(live, 'README'), 'certbot leaves this here\n');
    const proxy = await startTestProxy([upstream.url], { PROXY_TLS_PORT: '0', PROXY_TLS_CERT_DIR: live });
    try {
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'a.test'), siteA.fingerprint256);
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'x.b.test'), siteB.fingerprint256);
    } finally {
      await proxy.close();
    }
  });

  describe('reload', () => {
    let proxy: TestProxy;
    let lines: string[];
    let certFile: string;
    let keyFile: string;

    before(async () => {
      // The files certbot would renew in place: the proxy is configured with these paths.
      certFile = path.join(ca.dir, 'renewed.pem');
      keyFile = path.join(ca.dir, 'renewed.key');
      fs.copyFileSync(siteA.certFile, certFile);
      fs.copyFileSync(siteA.keyFile, keyFile);
      const capture = capturingLogger();
      lines = capture.lines;
      proxy = await startTestProxy(
        [upstream.url],
        { PROXY_TLS_PORT: '0', PROXY_TLS_CERT: certFile, PROXY_TLS_KEY: keyFile },
        { logger: capture.logger },
      );
    });
    after(() => proxy.close());

    it('swaps the certificate for new handshakes while an open HTTP/2 session keeps working', async () => {
      const session = await h2Connect(proxy.tlsUrl!, ca, 'a.test');
      try {
        assert.equal((await h2Request(session, { ':path': '/before' })).status, 200);
        const renewed = ca.issue(['a.test', 'www.a.test']);
        fs.copyFileSync(renewed.certFile, certFile);
        fs.copyFileSync(renewed.keyFile, keyFile);
        proxy.reloadTls();
        assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'a.test'), renewed.fingerprint256);
        assert.equal(await fingerprintFor(proxy.tlsUrl!, ca), renewed.fingerprint256);
        // The session opened before the reload still has its connection and certificate.
        const during = await h2Request(session, { ':path': '/after' });
        assert.equal(during.status, 200);
        assert.equal(during.body, 'GET /after ');
        assert.equal((session.socket as tls.TLSSocket).getPeerX509Certificate()?.fingerprint256, siteA.fingerprint256);
        assert.ok(lines.some((line) => line.includes('TLS certificates reloaded')));
      } finally {
        session.close();
      }
    });

    it('keeps the certificate in use when the new one is bad, and logs why', async () => {
      const before = await fingerprintFor(proxy.tlsUrl!, ca, 'a.test');
      const other = ca.issue(['c.test']);
      // A renewed certificate next to last month's key: OpenSSL refuses the pair.
      fs.copyFileSync(other.certFile, certFile);
      proxy.reloadTls();
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'a.test'), before);
      const refusal = lines.find((line) => line.includes('TLS certificates not reloaded'));
      assert.ok(refusal, 'a log line says the reload was refused');
      assert.match(refusal, /PROXY_TLS_KEY/);
      assert.match(refusal, /renewed\.key/);
      fs.writeFileSync(certFile, 'not a certificate');
      proxy.reloadTls();
      assert.equal(await fingerprintFor(proxy.tlsUrl!, ca, 'a.test'), before);
      assert.ok(lines.some((line) => /not reloaded.*PROXY_TLS_CERT: .*holds no PEM certificate/.test(line)));
    });
  });

  it('redirects plain HTTP to the same host and path over HTTPS, and serves ACME challenges from the webroot', async () => {
    const webroot = path.join(ca.dir, 'acme');
    fs.mkdirSync(path.join(webroot, '.well-known', 'acme-challenge'), { recursive: true });
    fs.writeFileSync(path.join(webroot, '.well-known', 'acme-challenge', 'tok_EN-1'), 'tok_EN-1.thumbprint');
    const proxy = await startTestProxy(
      [upstream.url],
      tlsEnv(siteA, { PROXY_HTTP_REDIRECT: 'true', PROXY_ACME_WEBROOT: webroot }),
    );
    const tlsPort = new URL(proxy.tlsUrl!).port;
    try {
      const get = await request(proxy.url, '/news/a?x=1', { headers: { host: 'a.test:8080' } });
      assert.equal(get.status, 301);
      assert.equal(get.headers.location, `https://a.test:${tlsPort}/news/a?x=1`);
      const post = await request(proxy.url, '/form', { method: 'POST', headers: { host: 'a.test' }, body: 'x' });
      assert.equal(post.status, 308);
      assert.equal(post.headers.location, `https://a.test:${tlsPort}/form`);
      const badHost = await request(proxy.url, '/', { headers: { host: 'evil.test/x' } });
      assert.equal(badHost.status, 400);
      const challenge = await request(proxy.url, '/.well-known/acme-challenge/tok_EN-1', {
        headers: { host: 'a.test' },
      });
      assert.equal(challenge.status, 200);
      assert.equal(challenge.body, 'tok_EN-1.thumbprint');
      const unknown = await request(proxy.url, '/.well-known/acme-challenge/nope', { headers: { host: 'a.test' } });
      assert.equal(unknown.status, 404);
      assert.equal(upstream.count('/news/a?x=1'), 0);
      // The cache itself is served over HTTPS only.
      const session = await h2Connect(proxy.tlsUrl!, ca, 'a.test');
      try {
        assert.equal((await h2Request(session, { ':path': '/news/a?x=1' })).status, 200);
      } finally {
        session.close();
      }
    } finally {
      await proxy.close();
    }
  });

  describe('configuration errors name the variable', () => {
    function configError(env: Record<string, string>): ConfigError {
      try {
        loadConfig(env);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error;
      }
      throw new Error('the configuration was accepted');
    }

    it('refuses incomplete HTTPS settings before anything starts', () => {
      assert.equal(configError({ PROXY_TLS_PORT: '443' }).variable, 'PROXY_TLS_CERT');
      assert.equal(
        configError({ PROXY_TLS_PORT: '443', PROXY_TLS_CERT: 'a.pem,b.pem', PROXY_TLS_KEY: 'a.key' }).variable,
        'PROXY_TLS_KEY',
      );
      assert.equal(configError({ PROXY_TLS_CERT: 'a.pem', PROXY_TLS_KEY: 'a.key' }).variable, 'PROXY_TLS_PORT');
      assert.equal(configError({ PROXY_HTTP_REDIRECT: 'true' }).variable, 'PROXY_HTTP_REDIRECT');
      assert.equal(configError({ PROXY_TLS_PORT: 'https' }).variable, 'PROXY_TLS_PORT');
    });

    it('does not start with a missing file, a key that does not match, or an empty certificate directory', async () => {
      const cases: [Record<string, string>, string, RegExp][] = [
        [tlsEnv(siteA, { PROXY_TLS_CERT: path.join(ca.dir, 'missing.pem') }), 'PROXY_TLS_CERT', /missing\.pem: ENOENT/],
        [tlsEnv(siteA, { PROXY_TLS_KEY: siteB.keyFile }), 'PROXY_TLS_KEY', /cannot serve/],
        [tlsEnv(siteA, { PROXY_TLS_CERT: siteA.keyFile }), 'PROXY_TLS_CERT', /holds no PEM certificate/],
        [
          { PROXY_TLS_PORT: '0', PROXY_TLS_CERT_DIR: fs.mkdtempSync(path.join(ca.dir, 'empty-')) },
          'PROXY_TLS_CERT_DIR',
          /no subdirectory/,
        ],
      ];
      for (const [env, variable, message] of cases) {
        await assert.rejects(startTestProxy([upstream.url], env), (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.variable, variable);
          assert.match(error.message, message);
          return true;
        });
      }
    });
  });
});

// The HTTPS listener in cluster mode, through the real CLI: SIGHUP to the
// primary (what `systemctl reload` and certbot's deploy hook send) reloads
// the certificates in every worker, and a bad new certificate keeps the
// old one in all of them (cache-proxy/cluster.ts, tls-listener.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/free-port';
import { startHyperstatic } from '../support/processes';
import { createTestCa, type TestCa, type TestCertificate } from '../support/test-certificates';
import { request, startUpstream, type TestUpstream } from './proxy-helpers';
import { fingerprintFor, h2Connect, h2Request, resumptions } from './proxy-tls-helpers';

describe('cache proxy: TLS with several worker processes', () => {
  let ca: TestCa;
  let upstream: TestUpstream;
  let siteA: TestCertificate;

  before(async () => {
    ca = createTestCa();
    siteA = ca.issue(['a.test']);
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' });
      res.end(`${req.method} ${req.url}`);
    });
  });

  after(async () => {
    await upstream.close();
    ca.remove();
  });

  it('reloads every worker of `hyperstatic proxy --workers 2` on SIGHUP to the primary, keeps the old certificate when the new one is bad, and resumes TLS sessions on every worker before and after', async () => {
    const certFile = path.join(ca.dir, 'cluster.pem');
    const keyFile = path.join(ca.dir, 'cluster.key');
    fs.copyFileSync(siteA.certFile, certFile);
    fs.copyFileSync(siteA.keyFile, keyFile);
    const tlsPort = await freePort();
    const tlsUrl = `https://127.0.0.1:${tlsPort}`;
    const proxy = await startHyperstatic(
      ['proxy', '--workers', '2'],
      {
        PROXY_UPSTREAMS: upstream.url,
        PROXY_FEED_URL: 'off',
        PROXY_ACCESS_LOG: 'false',
        PROXY_TLS_PORT: String(tlsPort),
        PROXY_TLS_CERT: certFile,
        PROXY_TLS_KEY: keyFile,
        LOG_LEVEL: 'info',
      },
      { portVariable: 'PROXY_PORT' },
    );
    /** Fingerprints of `n` new connections: the cluster spreads them over its workers. */
    const fingerprints = async (n = 6) =>
      new Set(await Promise.all(Array.from({ length: n }, () => fingerprintFor(tlsUrl, ca, 'a.test'))));
    try {
      // /healthz answers once the first worker listens; the test starts when all of them do.
      const started = Date.now() + 20_000;
      while (!proxy.output().includes('cache proxy cluster listening')) {
        assert.ok(Date.now() < started, `the cluster starts within 20 s:\n${proxy.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // node:cluster hands every worker the first one's session-ticket keys: a reader resumes on either worker.
      assert.deepEqual(await resumptions(tlsUrl, ca, 'a.test', 6), Array(6).fill(true));
      const session = await h2Connect(tlsUrl, ca, 'a.test');
      assert.equal((await h2Request(session, { ':path': '/cluster' })).status, 200);
      const renewed = ca.issue(['a.test']);
      fs.copyFileSync(renewed.certFile, certFile);
      fs.copyFileSync(renewed.keyFile, keyFile);
      proxy.signal('SIGHUP');
      const deadline = Date.now() + 10_000;
      while ((await fingerprints()).has(siteA.fingerprint256)) {
        assert.ok(Date.now() < deadline, 'every worker serves the renewed certificate within 10 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual([...(await fingerprints(10))], [renewed.fingerprint256]);
      assert.equal((await h2Request(session, { ':path': '/cluster' })).status, 200);
      session.close();
      // A reload keeps the ticket keys: the workers still share them.
      assert.deepEqual(await resumptions(tlsUrl, ca, 'a.test', 6), Array(6).fill(true));

      fs.writeFileSync(certFile, 'truncated by a failed renewal');
      proxy.signal('SIGHUP');
      const refused = Date.now() + 10_000;
      while ((proxy.output().match(/TLS certificates not reloaded/g) ?? []).length < 2) {
        assert.ok(Date.now() < refused, `both workers log the refusal within 10 s:\n${proxy.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual([...(await fingerprints(10))], [renewed.fingerprint256]);
      assert.equal((await request(proxy.url, '/cluster')).status, 200);
    } finally {
      await proxy.stop();
    }
  });
});

// A mirror's status reports against a real HTTP origin stand-in on loopback:
// a refused report names the origin's reason, and the operator is warned once
// per refusal spell, not every interval.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { MIRROR_STATUS_PATH } from '../common/feed-format';
import { startStatusReporter } from './status-reporter';
import type { SyncSnapshot } from './sync-status';

test("a refused status report throws with the origin's reason and warns once until a report is accepted again", async () => {
  const answers = [401, 401, 401, 204, 403];
  const seen: { path: string; authorization: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    const status = answers.shift() ?? 500;
    if (status === 204) return void res.writeHead(204).end();
    const message = status === 401 ? 'this mirror token is unknown or revoked' : 'this token belongs to mirror other';
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { code: 'X', message } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({ write: (line: Buffer, _enc, done) => void (warnings.push(line.toString()), done()) }),
  );
  const reporter = startStatusReporter({
    name: 'mirror-a',
    url: 'http://mirror-a.example',
    origins: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
    token: 'hsm_' + 'a'.repeat(32),
    intervalMs: 0,
    snapshot: (): SyncSnapshot => ({
      cursor: 1,
      epoch: 1,
      head: 1,
      lagSeconds: 0,
      connected: true,
      source: null,
      lastError: null,
    }),
    logger,
  });
  try {
    for (let i = 0; i < 3; i += 1)
      await assert.rejects(reporter.reportNow(), /401 this mirror token is unknown or revoked/);
    assert.equal(warnings.length, 1, 'three refusals, one warning');
    assert.match(warnings[0], /check MIRROR_NAME and MIRROR_STATUS_TOKEN/);
    await reporter.reportNow();
    await assert.rejects(reporter.reportNow(), /403 this token belongs to mirror other/);
    assert.equal(warnings.length, 2, 'a refusal after an accepted report warns again');
    assert.equal(seen.length, 5);
    assert.ok(seen.every((r) => r.path === MIRROR_STATUS_PATH && r.authorization === `Bearer hsm_${'a'.repeat(32)}`));
  } finally {
    reporter.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

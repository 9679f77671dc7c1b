// End to end: a save travels from the JSON API to a reader through the
// cache proxy, with every role in its own process — once against MariaDB
// and Redis (production mode), once in the embedded mode (`hyperstatic all`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/free-port';
import { sharedDatabase, sharedRedisUrl, SharedDatabase } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { HyperstaticProcess, startHyperstatic } from '../support/processes';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
// Generous: first renders of the whole sample site share two cores with everything else.
const PATIENCE = 60_000;

async function publishAndRead(appUrl: string, publicUrl: string, token: string): Promise<void> {
  const title = `Reader sees this ${Date.now()}`;
  const res = await fetch(`${appUrl}/api/articles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title, body: '<p>first version</p>', status: 'published' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const saved = (await res.json()) as { id: number; url: string };

  const page = await waitFor(
    async () => {
      const r = await fetch(`${publicUrl}${saved.url}`);
      return r.status === 200 ? r : undefined;
    },
    { what: `${saved.url} served by the proxy`, timeoutMs: PATIENCE },
  );
  assert.match(page.headers.get('cache-status') ?? '', /Hyperstatic/);
  assert.match(await page.text(), /first version/);
  await waitFor(async () => ((await (await fetch(`${publicUrl}/`)).text()).includes(saved.url) ? true : undefined), {
    what: 'the home page links the new article',
    timeoutMs: PATIENCE,
  });

  // Cached now: the update must still reach the reader (the proxy evicts on the feed).
  assert.equal((await fetch(`${publicUrl}${saved.url}`)).status, 200);
  const put = await fetch(`${appUrl}/api/articles/${saved.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ body: '<p>second version</p>' }),
  });
  assert.equal(put.status, 200);
  await waitFor(
    async () =>
      (await (await fetch(`${publicUrl}${saved.url}`)).text()).includes('second version') ? true : undefined,
    { what: 'the update served by the proxy', timeoutMs: PATIENCE },
  );
}

describe('production mode: app, producer, mirror and proxy as separate processes on MariaDB and Redis', () => {
  let shared: SharedDatabase;
  const processes: HyperstaticProcess[] = [];
  let env: Record<string, string>;

  before(async () => {
    shared = await sharedDatabase('e2e');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-e2e-'));
    env = {
      DATABASE_URL: shared.primaryUrl,
      REDIS_URL: await sharedRedisUrl(),
      REDIS_PREFIX: shared.database,
      DATA_DIR: dataDir,
    };
    execFileSync(process.execPath, [CLI, 'db', 'migrate'], { env: { ...process.env, ...env } });
    execFileSync(process.execPath, [CLI, 'seed'], { env: { ...process.env, ...env } });
  });

  after(async () => {
    for (const p of processes.reverse()) await p.kill();
    await shared?.drop();
  });

  it('publishes through the API and the reader gets the page and its update through the proxy', async () => {
    const token = execFileSync(process.execPath, [CLI, 'token', 'create', '--user', 'admin'], {
      env: { ...process.env, ...env },
    })
      .toString()
      .trim();
    assert.match(token, /^hs_[\w-]+$/, 'token create prints the token alone');
    const app = await startHyperstatic(['app'], env, { portVariable: 'APP_PORT' });
    processes.push(app);
    processes.push(await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT' }));
    const mirror = await startHyperstatic(
      ['mirror'],
      { ...env, MIRROR_ORIGIN_URLS: app.url, MIRROR_DATA_DIR: path.join(env.DATA_DIR, 'mirror') },
      { portVariable: 'MIRROR_PORT' },
    );
    processes.push(mirror);
    const proxy = await startHyperstatic(
      ['proxy'],
      { ...env, PROXY_UPSTREAMS: mirror.url, PROXY_ACCESS_LOG: 'false' },
      { portVariable: 'PROXY_PORT' },
    );
    processes.push(proxy);
    for (const p of processes) assert.equal((await fetch(`${p.url}/readyz`)).status, 200, `${p.url}/readyz`);
    await publishAndRead(app.url, proxy.url, token);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /hyperstatic_outbox_dispatched_total\{component="app"\} [1-9]/);
    // The public tier keeps its operator endpoints to itself (docs/design.md, "Operator endpoints").
    for (const url of [mirror.url, proxy.url])
      for (const target of ['/_mirror/status', '/metrics'])
        assert.equal((await fetch(`${url}${target}`)).status, 404, `${url}${target}`);
  });
});

describe('embedded mode: `hyperstatic all` with SQLite and the in-process queue', () => {
  let dataDir: string;
  let all: HyperstaticProcess | undefined;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-e2e-embedded-'));
  });
  after(async () => {
    await all?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeds once, serves the sample site, publishes through the API, stops cleanly and reuses its data', async () => {
    const [appPort, mirrorPort] = [await freePort(), await freePort()];
    const env = {
      DATA_DIR: dataDir,
      APP_PORT: String(appPort),
      MIRROR_PORT: String(mirrorPort),
      PROXY_ACCESS_LOG: 'false',
    };
    all = await startHyperstatic(['all'], env, { portVariable: 'PROXY_PORT', healthPath: '/healthz' });
    const appUrl = `http://127.0.0.1:${appPort}`;
    const banner = await waitFor(() => /API token for admin: (hs_\S+)/.exec(all!.output()) ?? undefined, {
      what: 'the banner with a token',
      timeoutMs: PATIENCE,
    });
    assert.match(all.output(), /Editor login: +admin \/ \S+/);
    await waitFor(
      async () =>
        (await (await fetch(`${all!.url}/`)).text()).includes('River district residents') ? true : undefined,
      { what: 'the seeded home page', timeoutMs: PATIENCE },
    );
    await publishAndRead(appUrl, all.url, banner[1]);
    assert.equal(await all.stop(), 0, 'Ctrl-C (SIGTERM) stops it cleanly');

    all = await startHyperstatic(['all'], env, { portVariable: 'PROXY_PORT' });
    await waitFor(() => (all!.output().includes('Hyperstatic is running') ? true : undefined), {
      what: 'the second banner',
    });
    assert.doesNotMatch(all.output(), /Sample site seeded/, 'the second start does not seed again');
    const count = (await (
      await fetch(`${appUrl}/api/articles?limit=200`, { headers: { authorization: `Bearer ${banner[1]}` } })
    ).json()) as { articles: unknown[] };
    assert.equal(count.articles.length, 9, 'eight fixtures and the published article survive the restart');
    assert.equal(await all.stop(), 0);
  });
});

// Three mirrors far away behind faulty links (test/support/faulty-link.ts)
// follow a real origin in its production shape (MariaDB, bull and the journal
// notifier on Redis, the producer in its own process).
// Whatever the network does to them (a burst of saves, a 30 s cut, a
// SIGKILL mid-batch, a corrupted blob, a forged entry), each converges to
// exactly the origin's manifest, and no index any of them serves ever links
// to a page that mirror does not have.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../common/config';
import { createDatabase, type Database } from '../../common/db/database';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { mirrorStatuses } from '../../app/feed/mirror-status';
import { freePort } from '../harness/free-port';
import { createRedisNotifier } from '../../common/journal-notifier';
import { createBullQueue } from '../../common/queue/bull-queue';
import { sharedDatabase, sharedRedisUrl, type SharedDatabase } from '../harness/shared';
import { rawGet, startTestMirror, tempDir } from '../integration/mirror-helpers';
import { startFaultyLink, type FaultyLink } from '../support/faulty-link';
import { startHyperstatic, type HyperstaticProcess } from '../support/processes';

type Manifest = Map<string, string>;

/** The burst; HS_MIRRORS_BURST=N runs a smaller one while iterating. */
const BURST = Number(process.env.HS_MIRRORS_BURST ?? 500);

// The mirrors' /_mirror/* and /metrics are operator endpoints: every mirror here opens them with this token.
const ADMIN_TOKEN = 'e2e-mirror-admin-token-0123456789';
const asOperator = (url: string) => fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

async function readManifest(url: string): Promise<{ cursor: number; pages: Manifest }> {
  const text = await (await asOperator(url)).text();
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const pages: Manifest = new Map();
  for (const l of lines.slice(1, -1)) pages.set(l.path as string, `${String(l.op)} ${String(l.sha256)}`);
  return { cursor: Number(lines[0].cursor), pages };
}

function manifestDiff(a: Manifest, b: Manifest): string[] {
  const out: string[] = [];
  for (const [p, v] of a) if (b.get(p) !== v) out.push(`${p}: origin ${v}, mirror ${b.get(p) ?? 'missing'}`);
  for (const p of b.keys()) if (!a.has(p)) out.push(`${p}: only on the mirror`);
  return out;
}

describe('three mirrors behind faulty links', { timeout: 240_000 }, () => {
  let closeQueue: (() => Promise<void>) | undefined;
  let db: Database;
  let app: RunningService & { url: string };
  let producer: HyperstaticProcess;
  let shared: SharedDatabase;
  let token: string;
  const links: Record<'a' | 'b' | 'c', FaultyLink> = {} as never;
  let mirrorA: Awaited<ReturnType<typeof startTestMirror>>;
  let mirrorC: Awaited<ReturnType<typeof startTestMirror>>;
  let mirrorB: HyperstaticProcess;
  let mirrorBEnv: Record<string, string>;
  let mirrorBPort: number;
  const violations: string[] = [];
  let checking = true;
  let checker: Promise<void> | undefined;
  let saves = 0;

  const mirrorUrls = () => ({ a: mirrorA.url, b: mirrorB.url, c: mirrorC.url });

  async function save(title: string, body = '<p>story</p>'): Promise<{ id: number; url: string }> {
    saves += 1;
    const res = await fetch(`${app.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title, body, status: 'published', section: 'news' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { id: number; url: string };
  }

  async function originHas(p: string): Promise<boolean> {
    return Boolean(await db('pages').where({ path: p }).whereNot('op', 'delete').first('path'));
  }

  /** docs/mirrors.md, "Applying batches": every same-site link on a mirror's home page resolves on that mirror. */
  async function checkLinksOnce(): Promise<void> {
    for (const [name, base] of Object.entries(mirrorUrls())) {
      try {
        const home = await rawGet(base, '/');
        if (home.status !== 200) continue;
        const links = [...new Set([...home.text.matchAll(/href="(\/[^"#?]*)"/g)].map((m) => m[1]))]
          .filter((h) => !h.startsWith('//'))
          .slice(0, 12);
        for (const href of links) {
          const res = await rawGet(base, encodeURI(decodeURI(href)));
          // A link to a page the origin never rendered is the producer's business, not propagation.
          if (res.status === 404 && (await originHas(decodeURI(href))))
            violations.push(`mirror ${name}: / linked ${href}, which it answered 404`);
        }
      } catch {
        // a mirror being killed or restarted: nothing served, nothing violated
      }
    }
  }

  /** The link checker has run over every mirror since this point and found nothing broken so far. */
  async function assertNoBrokenLinks(): Promise<void> {
    await checkLinksOnce();
    assert.deepEqual(violations, [], 'no mirror served an index linking to a page it did not have');
  }

  async function converged(name: string, url: string, timeoutMs = 40_000, mustHave?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A save is acknowledged before it is rendered: compare only once the origin has the page.
    if (mustHave) await waitUntil(() => originHas(mustHave), timeoutMs);
    let diff: string[] = [];
    for (;;) {
      const origin = await readManifest(`${app.url}/manifest`);
      const mirror = await readManifest(`${url}/_mirror/manifest`).catch(() => ({
        cursor: -1,
        pages: new Map() as Manifest,
      }));
      diff = manifestDiff(origin.pages, mirror.pages);
      if (diff.length === 0 && mirror.cursor === origin.cursor) return;
      if (Date.now() > deadline)
        assert.fail(
          `mirror ${name} did not converge to the origin manifest (cursor ${mirror.cursor} vs ${origin.cursor}): ${diff.slice(0, 5).join('; ')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function metric(url: string, name: string): Promise<number> {
    const text = await (await asOperator(`${url}/metrics`)).text();
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  }

  before(async () => {
    // The production shape: MariaDB, bull on Redis, the journal notifier on Redis, and the producer
    // in its own process; the app runs in this process so the test can read its database.
    shared = await sharedDatabase('mirrors_e2e');
    const dataDir = tempDir('mirrors-e2e');
    const env = {
      DATABASE_URL: shared.primaryUrl,
      REDIS_URL: await sharedRedisUrl(),
      REDIS_PREFIX: shared.database,
      DATA_DIR: dataDir,
      RELAY_INTERVAL_MS: '200',
      PRODUCER_CONCURRENCY: '4',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig({ ...env, APP_PORT: '0', LOG_LEVEL: 'silent' });
    db = createDatabase(config.databaseUrl);
    await migrateLatest(db);
    await createUser(db, 'editor1', 'editor', null);
    token = await createApiToken(db, 'editor1');
    await db('sections').insert({ slug: 'news', name: 'News' });
    const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'origin');
    const queue = createBullQueue(env.REDIS_URL, logger, config.redisPrefix);
    const notifier = createRedisNotifier(env.REDIS_URL, logger, config.redisPrefix);
    app = (await startApp(config, { db, queue, notifier, logger })) as RunningService & { url: string };
    closeQueue = async () => {
      await queue.close();
      await notifier.close();
    };
    producer = await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT' });
    await save('First story on the site');

    const publicKeyFile = path.join(dataDir, 'keys', 'feed-ed25519.pub');
    assert.ok(fs.existsSync(publicKeyFile), 'the origin created its key pair on first start');
    for (const name of ['a', 'b', 'c'] as const) links[name] = await startFaultyLink(app.url, { latencyMs: 20 });
    mirrorA = await startTestMirror({
      origins: [links.a.url],
      env: {
        MIRROR_PUBLIC_KEY: publicKeyFile,
        MIRROR_NAME: 'mirror-a',
        MIRROR_FETCH_TIMEOUT_MS: '15000',
        MIRROR_ADMIN_TOKEN: ADMIN_TOKEN,
      },
    });
    mirrorBPort = await freePort();
    mirrorBEnv = {
      MIRROR_ORIGIN_URLS: links.b.url,
      MIRROR_DATA_DIR: tempDir('mirror-b'),
      MIRROR_PUBLIC_KEY: publicKeyFile,
      MIRROR_NAME: 'mirror-b',
      MIRROR_ADMIN_TOKEN: ADMIN_TOKEN,
      MIRROR_RECONNECT_MS: '20',
      MIRROR_STATUS_INTERVAL_MS: '300',
      LOG_LEVEL: 'warn',
    };
    mirrorB = await startHyperstatic(['mirror'], mirrorBEnv, { port: mirrorBPort, portVariable: 'MIRROR_PORT' });
    mirrorC = await startTestMirror({
      origins: [links.c.url],
      env: {
        MIRROR_PUBLIC_KEY: publicKeyFile,
        MIRROR_NAME: 'mirror-c',
        MIRROR_FETCH_TIMEOUT_MS: '15000',
        MIRROR_ADMIN_TOKEN: ADMIN_TOKEN,
      },
    });
    checker = (async () => {
      while (checking) {
        await checkLinksOnce();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
  });

  after(async () => {
    if (process.env.HS_DEBUG_MIRROR_B) fs.writeFileSync(process.env.HS_DEBUG_MIRROR_B, mirrorB?.output() ?? '');
    checking = false;
    await checker;
    await mirrorA?.close();
    await mirrorC?.close();
    await mirrorB?.kill();
    for (const link of Object.values(links)) await link.close();
    await app?.close();
    await producer?.kill();
    await closeQueue?.();
    await db?.destroy();
    await shared?.drop();
  });

  test(`a burst of ${BURST} saves reaches all three mirrors, each equal to the origin manifest`, async () => {
    const titles = Array.from({ length: BURST }, (_, i) => `Burst story number ${i}`);
    const urls: string[] = [];
    const started = Date.now();
    for (let i = 0; i < titles.length; i += 10)
      urls.push(...(await Promise.all(titles.slice(i, i + 10).map((t) => save(t)))).map((r) => r.url));
    await waitUntil(
      async () => Number((await db('pages').whereIn('path', urls).count({ n: '*' }).first())?.n) === urls.length,
      120_000,
    );
    process.stderr.write(`# ${BURST} saves rendered by the origin in ${Date.now() - started} ms\n`);
    await Promise.all(Object.entries(mirrorUrls()).map(([name, url]) => converged(name, url, 60_000)));
    await assertNoBrokenLinks();
  });

  describe('faults on separate mirrors at once', { concurrency: true }, () => {
    test('a mirror cut off for 30 s during saves serves its last copy, then catches up when the link heals', async () => {
      links.a.cut('reset');
      const cutAt = Date.now();
      // Whatever was already taken from the feed may still land; after that, nothing can.
      await waitUntil(async () => {
        const a = await readManifest(`${mirrorA.url}/_mirror/manifest`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return (await readManifest(`${mirrorA.url}/_mirror/manifest`)).cursor === a.cursor;
      }, 10_000);
      const before = (await readManifest(`${mirrorA.url}/_mirror/manifest`)).cursor;
      let last = { url: '' };
      const duringCut: string[] = [];
      while (Date.now() - cutAt < 30_000) {
        last = await save(`Written during the cut ${Date.now()}`);
        duringCut.push(last.url);
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      const status = (await (await asOperator(`${mirrorA.url}/_mirror/status`)).json()) as {
        cursor: number;
        connected: boolean;
      };
      assert.equal(status.cursor, before, 'nothing reached the cut-off mirror after the cut settled');
      for (const p of duringCut)
        assert.equal((await rawGet(mirrorA.url, encodeURI(p))).status, 404, `${p} was saved during the cut`);
      assert.equal((await rawGet(mirrorA.url, '/')).status, 200, 'it kept serving its copy');
      links.a.resume();
      await converged('a', mirrorA.url, 40_000, last.url);
      assert.equal((await rawGet(mirrorA.url, encodeURI(last.url))).status, 200);
      await assertNoBrokenLinks();
    });

    test('a mirror killed with SIGKILL mid-batch restarts from its cursor and converges', async () => {
      // A slow link stretches the batch's blob transfers so the kill lands inside one.
      links.b.latencyMs = 250;
      const headBefore = Number((await db('cluster_state').where({ id: 1 }).first('journal_head')).journal_head);
      const saved = await save('Killed while this was arriving', `<p>${'long text '.repeat(2000)}</p>`);
      await waitUntil(
        async () =>
          Number((await db('cluster_state').where({ id: 1 }).first('journal_head')).journal_head) > headBefore,
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      const status = (await (await asOperator(`${mirrorB.url}/_mirror/status`)).json()) as {
        cursor: number;
        head: number;
      };
      await mirrorB.kill();
      assert.ok(
        status.cursor < status.head || status.cursor <= headBefore,
        `the kill landed before the batch was applied (cursor ${status.cursor}, head ${status.head})`,
      );
      links.b.latencyMs = 20;
      mirrorB = await startHyperstatic(['mirror'], mirrorBEnv, { port: mirrorBPort, portVariable: 'MIRROR_PORT' });
      await converged('b', mirrorB.url, 40_000, saved.url);
      assert.equal((await rawGet(mirrorB.url, encodeURI(saved.url))).status, 200);
      await assertNoBrokenLinks();
    });

    test('a corrupted blob transfer is refused and the blob fetched again; the mirror never serves the bad bytes', async () => {
      const marker = `corrupt-me-${Date.now()}`;
      const tampered = links.c.replaceOnce('down', marker, marker.toUpperCase().replace(/-/g, '_'));
      const errorsBefore = await metric(mirrorC.url, 'hyperstatic_mirror_blob_fetch_errors_total');
      // Only in the body: the title becomes the path, which crosses the link in the feed too.
      // Over INLINE_MAX_BYTES, so the body is fetched as a blob rather than carried in the batch.
      const saved = await save(
        `Carries a hidden marker ${Date.now()}`,
        `<p>${marker}</p><p>${'padding '.repeat(3000)}</p>`,
      );
      await Promise.race([
        tampered,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the blob never crossed link c')), 40_000)),
      ]);
      await converged('c', mirrorC.url, 40_000, saved.url);
      const page = await rawGet(mirrorC.url, encodeURI(saved.url));
      assert.equal(page.status, 200);
      assert.ok(
        page.text.includes(marker) && !page.text.includes(marker.toUpperCase().replace(/-/g, '_')),
        'the mirror serves the real bytes',
      );
      assert.ok(
        (await metric(mirrorC.url, 'hyperstatic_mirror_blob_fetch_errors_total')) > errorsBefore,
        'the bad transfer was counted',
      );
      await assertNoBrokenLinks();
    });
  });

  test('a forged entry injected on the link is rejected and the real one applied', async () => {
    // Same length, so the HTTP framing stays valid and only the signature can tell.
    const forged = links.c.replaceOnce('down', '"path":"/news/', '"path":"/evil/');
    const rejectedBefore = await metric(mirrorC.url, 'hyperstatic_mirror_signature_rejections_total');
    const saved = await save(`Target of a forgery ${Date.now()}`);
    await Promise.race([
      forged,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the batch never crossed link c')), 20_000)),
    ]);
    await converged('c', mirrorC.url, 40_000, saved.url);
    assert.ok(
      (await metric(mirrorC.url, 'hyperstatic_mirror_signature_rejections_total')) > rejectedBefore,
      'the forged batch was refused',
    );
    assert.equal((await rawGet(mirrorC.url, encodeURI(saved.url))).status, 200);
    assert.equal(
      (await rawGet(mirrorC.url, encodeURI(saved.url.replace('/news/', '/evil/')))).status,
      404,
      'the forged path is not served',
    );
    await assertNoBrokenLinks();
  });

  test('afterwards all three equal the origin manifest, reported their status, and never linked to a missing page', async () => {
    await Promise.all(Object.entries(mirrorUrls()).map(([name, url]) => converged(name, url)));
    await mirrorA.reportStatus();
    await mirrorC.reportStatus();
    await waitUntil(async () => (await mirrorStatuses(db)).length === 3);
    const statuses = await mirrorStatuses(db);
    assert.deepEqual(
      statuses.map((s) => s.name),
      ['mirror-a', 'mirror-b', 'mirror-c'],
    );
    const head = Number((await db('cluster_state').where({ id: 1 }).first('journal_head')).journal_head);
    await waitUntil(async () => (await mirrorStatuses(db)).every((s) => s.cursor === head));
    checking = false;
    await checker;
    assert.deepEqual(violations, []);
    assert.ok(saves >= BURST);
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

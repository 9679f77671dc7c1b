// Back-pressure that is visible (issue 23, item 3), against real MariaDB,
// Redis and a reporting mirror: with every producer stopped, saves pile up,
// and the render queue depth and the oldest waiting save's age show in the
// app's /metrics, in `hyperstatic status` (text and --json) and in the
// propagation panel, which says "queued N s", never "lagging". Once a
// producer starts and catches up, every figure returns to 0 and the
// producer's /metrics count the saves it rendered beside the pages it
// journaled.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyFiles } from '../../app/feed/signing-keys';
import { addMirrorCredential } from '../../app/feed/mirror-credentials';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { startProducer } from '../../producer/main';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { startTestMirror, tempDir } from './mirror-helpers';
import { api, save, settled, Site, startSite } from './producer-helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
const BURST = 5;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(line, `${url}/metrics has no ${name}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

function status(site: Site, urls: { app: string; producer?: string }, json: boolean): Promise<string> {
  const env = {
    ...process.env,
    LOG_LEVEL: 'silent',
    DATABASE_URL: site.config.databaseUrl,
    STATUS_APP_URLS: urls.app,
    STATUS_PRODUCER_URLS: urls.producer ?? '',
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', ...(json ? ['--json'] : [])], { env, timeout: 60_000 }, (_, stdout) =>
      resolve(stdout),
    );
  });
}

interface Panel {
  render: string;
  queuedSeconds: number | null;
  backlog: { waitingSaves: number; oldestSeconds: number } | null;
  mirrors: { name: string; state: string; live: boolean }[] | null;
  summary: string;
}

async function panel(site: Site, id: number): Promise<Panel> {
  return (await (await api(site, 'GET', `/api/articles/${id}/propagation`)).json()) as Panel;
}

describe('render backlog in metrics, status and the propagation panel', () => {
  let site: Site;
  let mirror: Awaited<ReturnType<typeof startTestMirror>>;
  let producer: RunningService | undefined;
  const logger = createLogger('silent', 'test');

  before(async () => {
    site = await startSite('backlog', await sharedRedisUrl(), {
      producer: false,
      env: { DATA_DIR: tempDir('backlog') },
    });
    mirror = await startTestMirror({
      origins: [site.app.url],
      env: {
        MIRROR_PUBLIC_KEY: keyFiles(site.config.feedSigningKey).publicPath,
        MIRROR_NAME: 'm1',
        MIRROR_STATUS_TOKEN: await addMirrorCredential(site.db, 'm1'),
        MIRROR_STATUS_INTERVAL_MS: '200',
      },
    });
  });

  after(async () => {
    await producer?.close();
    await mirror?.close();
    await site?.close();
  });

  it('shows a burst waiting while no producer runs, then nothing waiting once one has caught up', async () => {
    // One save rendered and on the mirror first, so the mirror reports and its line in the panel exists.
    producer = await startProducer(site.config, { logger, opsPort: 0 });
    const first = await save(site, 'POST', '/api/articles', {
      title: 'Before the burst',
      body: '<p>x</p>',
      status: 'published',
    });
    await settled(site.db);
    await waitFor(async () => (await panel(site, first.id)).mirrors?.[0]?.live, { what: 'the mirror serves it' });
    await producer.close();
    producer = undefined;

    const saved = [];
    for (let i = 0; i < BURST; i++)
      saved.push(
        await save(site, 'POST', '/api/articles', { title: `Burst ${i}`, body: '<p>x</p>', status: 'published' }),
      );
    const last = saved[BURST - 1];
    await new Promise((r) => setTimeout(r, 1500));

    // The app's /metrics: the relay queued one job per save; none is rendered.
    await waitFor(async () => (await metric(site.app.url, 'hyperstatic_render_queue_depth')) === BURST, {
      what: `${BURST} render jobs in the queue`,
    });
    assert.ok((await metric(site.app.url, 'hyperstatic_render_oldest_waiting_save_seconds')) >= 1.5);

    const waiting = JSON.parse(await status(site, { app: site.app.url }, true)) as {
      queue: { pendingRenders: number; oldestPendingSeconds: number; renderJobs: number };
    };
    assert.equal(waiting.queue.pendingRenders, BURST);
    assert.ok(waiting.queue.oldestPendingSeconds >= 1.5, `oldest ${waiting.queue.oldestPendingSeconds}`);
    assert.equal(waiting.queue.renderJobs, BURST);
    assert.match(
      await status(site, { app: site.app.url }, false),
      new RegExp(`^QUEUE +${BURST} render\\(s\\) pending, oldest \\d+\\.\\d s; render queue ${BURST} job\\(s\\)$`, 'm'),
    );

    const queued = await panel(site, last.id);
    assert.equal(queued.render, 'queued');
    assert.ok(queued.queuedSeconds! >= 1);
    assert.equal(queued.backlog?.waitingSaves, BURST);
    assert.ok(queued.backlog.oldestSeconds >= 1.5);
    assert.match(
      queued.summary,
      new RegExp(`^saved; queued \\d+ s: ${BURST} saves wait to be rendered, the oldest for \\d+ s$`),
    );
    assert.deepEqual(
      queued.mirrors?.map((m) => [m.name, m.state]),
      [['m1', 'queued']],
    );

    // A producer starts and catches up.
    producer = await startProducer(site.config, { logger, opsPort: 0 });
    await settled(site.db);
    await waitFor(async () => (await panel(site, last.id)).mirrors?.[0]?.state === 'live', {
      what: 'the last save live on the mirror',
    });
    for (const url of [producer.url, site.app.url]) {
      await waitFor(async () => (await metric(url, 'hyperstatic_render_queue_depth')) === 0, {
        what: `an empty queue in ${url}/metrics`,
      });
      assert.equal(await metric(url, 'hyperstatic_render_oldest_waiting_save_seconds'), 0);
    }
    assert.equal(await metric(producer.url, 'hyperstatic_saves_rendered_total'), BURST);
    const pages = await metric(producer.url, 'hyperstatic_pages_written_total');
    assert.ok(pages >= BURST, `each new article journals at least its own page: ${pages}`);

    const caughtUp = JSON.parse(await status(site, { app: site.app.url, producer: producer.url }, true)) as {
      queue: {
        pendingRenders: number;
        oldestPendingSeconds: number | null;
        renderJobs: number;
        savesRendered: number;
        pagesPerSave: number;
      };
    };
    assert.equal(caughtUp.queue.pendingRenders, 0);
    assert.equal(caughtUp.queue.oldestPendingSeconds, null);
    assert.equal(caughtUp.queue.renderJobs, 0);
    assert.equal(caughtUp.queue.savesRendered, BURST);
    assert.equal(caughtUp.queue.pagesPerSave, pages / BURST);

    const done = await panel(site, last.id);
    assert.equal(done.render, 'rendered');
    assert.equal(done.backlog, null);
    assert.match(done.summary, /^live on 1\/1 mirrors$/);
  });
});

// An embargo holds for media too: an image uploaded for a scheduled story
// (its lead image, and one its body links) is in no journal entry, not on
// `/feed?after=0`, not served at the origin's /blobs/SHA (what mirrors
// fetch) nor at any mirror's /media path until the story goes live; then it
// is on all of them. An image a live story already shows stays live; one
// only a cancelled embargo showed never goes out. Real MariaDB, Redis,
// producer and mirror; only the clock is fake.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import { makeTempDir } from '../harness/cleanup';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { replayFeed } from '../support/feed-replay';
import { journalHead, settled } from './producer-helpers';
import { call, inFuture, ScheduledSite, startScheduledSite, waitForStatus } from './schedule-helpers';

const HOUR = 3600_000;

interface Uploaded {
  sha256: string;
  path: string;
  renditionPath: string;
}

describe('media of an embargoed story stay off the mirrors until its time', () => {
  let site: ScheduledSite;
  let mirror: RunningMirror;

  before(async () => {
    const dataDir = makeTempDir('embargo-media');
    site = await startScheduledSite('embargo_media', await sharedRedisUrl(), {
      producer: true,
      env: { DATA_DIR: dataDir, MIRROR_PORT: '0', MIRROR_RECONNECT_MS: '50', MIRROR_STATUS_INTERVAL_MS: '0' },
    });
    mirror = await startMirror(
      { ...site.config, mirrorOrigins: [site.app.url], mirrorDataDir: path.join(dataDir, 'mirror') },
      {},
    );
  });

  after(async () => {
    await mirror?.close();
    await site?.close();
  });

  async function upload(colour: string): Promise<Uploaded> {
    const bytes = await sharp({ create: { width: 900, height: 600, channels: 3, background: colour } })
      .jpeg()
      .toBuffer();
    const res = await fetch(`${site.app.url}/api/media?name=photo.jpg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.token}` },
      body: new Uint8Array(bytes),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Uploaded;
  }

  /** The rendition's own hash, as the media row keeps it for journaling. */
  async function renditionSha(image: Uploaded): Promise<string> {
    return String((await site.db('media').where({ sha256: image.sha256 }).first('rendition_sha256')).rendition_sha256);
  }

  /** Every place an image could have gone out: journal, feed replay, origin blobs, the mirror's media paths. */
  async function outside(image: Uploaded): Promise<string[]> {
    const shas = [image.sha256, await renditionSha(image)];
    const found: string[] = [];
    const entries = await site
      .db('journal')
      .whereIn('sha256', shas)
      .orWhereIn('path', [image.path, image.renditionPath]);
    if (entries.length > 0) found.push(`journal (${entries.length} entries)`);
    const { text } = await replayFeed(site.app.url, await journalHead(site.db));
    for (const sha of shas) if (text.includes(sha)) found.push(`/feed?after=0 names ${sha.slice(0, 8)}`);
    for (const sha of shas) {
      const blob = await fetch(`${site.app.url}/blobs/${sha}`);
      await blob.arrayBuffer();
      if (blob.status !== 404) found.push(`origin /blobs/${sha.slice(0, 8)} ${blob.status}`);
    }
    for (const p of [image.path, image.renditionPath]) {
      const res = await fetch(`${mirror.url}${p}`);
      await res.arrayBuffer();
      if (res.status !== 404) found.push(`mirror ${p} ${res.status}`);
    }
    return found;
  }

  async function onMirror(p: string): Promise<boolean> {
    const res = await fetch(`${mirror.url}${p}`);
    await res.arrayBuffer();
    return res.status === 200;
  }

  it('holds the lead image and a body image until the story goes live, then serves both everywhere', async () => {
    const lead = await upload('#b03030');
    const inline = await upload('#30b030');
    const shared = await upload('#3030b0');
    const live = await call(site, 'POST', '/api/articles', {
      title: 'Already out with a shared photo',
      body: '<p>x</p>',
      leadImage: shared.sha256,
      leadImageAlt: 'shared',
      status: 'published',
    });
    assert.equal(live.status, 201, JSON.stringify(live.json));

    const cancelledOnly = await upload('#909000');
    const cancelled = await call(site, 'POST', '/api/articles', {
      title: 'Cancelled with its photo',
      body: '<p>c</p>',
      leadImage: cancelledOnly.sha256,
      leadImageAlt: 'cancelled',
      publishAt: inFuture(site, HOUR),
    });
    assert.equal(cancelled.status, 201);

    const publishAt = inFuture(site, HOUR);
    const story = await call(site, 'POST', '/api/articles', {
      title: 'Embargoed product photo',
      body: `<p><img src="${inline.path}" alt="inline"></p><p><img src="${shared.renditionPath}" alt="shared"></p>`,
      leadImage: lead.sha256,
      leadImageAlt: 'lead',
      publishAt,
    });
    assert.equal(story.status, 201, JSON.stringify(story.json));
    const id = Number(story.json.id);
    const url = String(story.json.url);
    assert.equal(
      (await call(site, 'PUT', `/api/articles/${Number(cancelled.json.id)}`, { publishAt: null })).status,
      200,
    );

    await settled(site.db);
    await waitFor(async () => onMirror(shared.path), {
      what: 'the live story’s photo on the mirror',
      timeoutMs: 45_000,
    });
    assert.deepEqual(await outside(lead), [], 'the lead image is nowhere before the time');
    assert.deepEqual(await outside(inline), [], 'the body image is nowhere before the time');
    assert.deepEqual(await outside(cancelledOnly), [], 'the cancelled story’s photo is nowhere');
    assert.ok(await onMirror(shared.renditionPath), 'a photo a live story shows stays live');

    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', id, 'published');
    await settled(site.db);
    await waitFor(async () => onMirror(url), { what: 'the story on the mirror', timeoutMs: 45_000 });
    for (const p of [lead.path, lead.renditionPath, inline.path, inline.renditionPath])
      assert.ok(await onMirror(p), `${p} is on the mirror with the story`);
    const published = await site.db('journal').where({ path: url }).max({ seq: 'seq' }).first();
    const media = await site.db('journal').whereIn('path', [lead.path, inline.path]).max({ seq: 'seq' }).first();
    assert.ok(Number(media?.seq) < Number(published?.seq), 'the media are journaled before the page that shows them');
    for (const sha of [lead.sha256, inline.sha256]) {
      const blob = await fetch(`${site.app.url}/blobs/${sha}`);
      await blob.arrayBuffer();
      assert.equal(blob.status, 200, 'the origin serves the blob mirrors fetch');
    }
    assert.deepEqual(await outside(cancelledOnly), [], 'the cancelled story’s photo is still nowhere');
  });
});

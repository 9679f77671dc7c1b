// Media on the public site, against real MariaDB, Redis and a running
// producer. Images, audio and video in a body survive the sanitizer with
// safe attributes only and render on the article page. Lead images: an
// article names an uploaded image (API and no-JS form), its page shows the
// AVIF and WebP renditions in a <picture> (srcset of every width, sizes for
// its slot) with the original as the fallback, width, height and alt; every
// listing shows them too, lazily loaded, and changing the image re-renders those listings. A lead image
// that is not an uploaded image is refused with a 400 and changes nothing.
// The migration that adds the columns runs on SQLite and MariaDB over data
// written before it.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createDatabase } from '../../common/db/database';
import { createUser } from '../../app/auth/users';
import { migrateUpTo, pendingMigrations } from '../../app/db/migrate';
import { sharedDatabase, sharedRedisUrl } from '../harness/shared';
import { PASSWORD, WebClient } from './editor-helpers';
import { api, page, save, settled, Site, startSite } from './producer-helpers';

async function jpeg(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

interface Uploaded {
  sha256: string;
  path: string;
  renditionPath: string | null;
  renditionWidth: number | null;
  renditionHeight: number | null;
  renditions: { path: string; contentType: string; width: number; height: number }[];
}

/** The srcset a page offers for one format: every rendition of that type, narrowest first. */
function srcset(image: Uploaded, contentType: string): string {
  return image.renditions
    .filter((r) => r.contentType === contentType)
    .map((r) => `${r.path} ${r.width}w`)
    .join(', ');
}

describe('media on the public site', () => {
  let site: Site;

  before(async () => {
    site = await startSite('editor_lead', await sharedRedisUrl());
  });
  after(async () => {
    await site?.close();
  });

  async function upload(name: string, bytes: Buffer): Promise<Uploaded> {
    const res = await fetch(`${site.app.url}/api/media?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.token}` },
      body: new Uint8Array(bytes),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Uploaded;
  }
  const count = async (table: string) => Number((await site.db(table).count({ n: '*' }))[0].n);

  it('offers the renditions on the article page and on home, section, tag and archive listings, the original as fallback', async () => {
    const image = await upload('quay.jpg', await jpeg(1200, 800, '#2b6cb0'));
    assert.deepEqual([image.renditionWidth, image.renditionHeight], [640, 427]);
    assert.equal(
      srcset(image, 'image/avif'),
      [320, 640, 1200].map((w) => `/media/${image.sha256}-${w}.avif ${w}w`).join(', '),
    );
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Quay reopens',
      body: '<p>Boats are back.</p>',
      section: 'news',
      tags: ['Harbour'],
      status: 'published',
      leadImage: image.sha256,
      leadImageAlt: 'The quay at "dawn" <b>',
    });
    const read = (await (await api(site, 'GET', `/api/articles/${saved.id}`)).json()) as {
      leadImage: { sha256: string; alt: string; width: number };
    };
    assert.equal(read.leadImage.sha256, image.sha256);
    assert.equal(read.leadImage.alt, 'The quay at "dawn" <b>');
    assert.equal(read.leadImage.width, 1200);
    await settled(site.db);

    const article = await page(site.db, saved.url);
    const column = '(max-width: 46rem) calc(100vw - 2rem), 44rem';
    assert.ok(
      article?.body.includes(
        `<figure class="lead"><picture><source type="image/avif" srcset="${srcset(image, 'image/avif')}" sizes="${column}">` +
          `<source type="image/webp" srcset="${srcset(image, 'image/webp')}" sizes="${column}">` +
          `<img src="${image.path}" alt="The quay at &quot;dawn&quot; &lt;b&gt;" width="1200" height="800" fetchpriority="high"></picture></figure>`,
      ),
      'the page offers AVIF then WebP in every width, the original as fallback, escaped alt, with its size, not lazy (above the fold)',
    );
    const month = new Date().toISOString().slice(0, 7);
    for (const listing of ['/', '/articles', '/sections/news', '/tags/harbour', `/articles/${month}`]) {
      const body = (await page(site.db, listing))?.body ?? '';
      const thumb = '(max-width: 30rem) calc(100vw - 2rem), 9rem';
      assert.ok(
        body.includes(
          `<picture class="thumb"><source type="image/avif" srcset="${srcset(image, 'image/avif')}" sizes="${thumb}">` +
            `<source type="image/webp" srcset="${srcset(image, 'image/webp')}" sizes="${thumb}">`,
        ),
        `${listing} offers every rendition, sized for the thumbnail's slot`,
      );
      assert.ok(
        body.includes(
          `<img src="${image.path}" alt="The quay at &quot;dawn&quot; &lt;b&gt;" width="1200" height="800" loading="lazy" decoding="async">`,
        ),
        `${listing} falls back to the original, with its size, lazily`,
      );
    }
  });

  it('sizes a rotated phone photo as it is shown (EXIF orientation applied), original and rendition', async () => {
    // Stored 800×600 with orientation 6: browsers show it 600×800, so the page's width and height must say so.
    const rotated = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#2c5282' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const image = (await upload('portrait.jpg', rotated)) as Uploaded & { width: number; height: number };
    assert.deepEqual([image.width, image.height, image.renditionWidth, image.renditionHeight], [600, 800, 600, 800]);
    assert.deepEqual(
      image.renditions.map((r) => [r.contentType, r.width, r.height]),
      [
        ['image/avif', 320, 427],
        ['image/webp', 320, 427],
        ['image/avif', 600, 800],
        ['image/webp', 600, 800],
      ],
    );
  });

  it('re-renders the listings when only the lead image changes, and drops it when set to null', async () => {
    const first = await upload('one.jpg', await jpeg(800, 600, '#c53030'));
    const second = await upload('two.jpg', await jpeg(640, 640, '#2f855a'));
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Market day',
      body: '<p>Stalls.</p>',
      status: 'published',
      leadImage: first.sha256,
    });
    await settled(site.db);
    assert.ok((await page(site.db, '/'))?.body.includes(first.renditionPath!));

    await save(site, 'PUT', `/api/articles/${saved.id}`, { leadImage: second.sha256 });
    await settled(site.db);
    const home = (await page(site.db, '/'))?.body ?? '';
    assert.ok(
      home.includes(second.renditionPath!) && !home.includes(first.renditionPath!),
      'home shows the new rendition only',
    );
    assert.ok((await page(site.db, '/articles'))?.body.includes(second.renditionPath!), 'the article listing too');
    assert.ok((await page(site.db, saved.url))?.body.includes(`src="${second.path}"`));

    await save(site, 'PUT', `/api/articles/${saved.id}`, { leadImage: null });
    await settled(site.db);
    assert.ok(!(await page(site.db, '/'))?.body.includes(second.renditionPath!), 'no lead image, no thumbnail');
    assert.ok(!(await page(site.db, saved.url))?.body.includes('figure class="lead"'));
  });

  it('shows an event lead image on the event page and the calendar', async () => {
    const image = await upload('hall.jpg', await jpeg(900, 600, '#744210'));
    const saved = await save(site, 'POST', '/api/events', {
      title: 'Town hall',
      body: '<p>Agenda.</p>',
      startsAt: '2027-04-10T18:00:00Z',
      status: 'published',
      leadImage: image.sha256,
      leadImageAlt: 'The hall',
    });
    await settled(site.db);
    assert.ok(
      (await page(site.db, saved.url))?.body.includes(
        `<img src="${image.path}" alt="The hall" width="900" height="600" fetchpriority="high">`,
      ),
    );
    assert.ok((await page(site.db, '/events/2027-04'))?.body.includes(`${image.renditionPath} 640w`));
  });

  it('renders images, audio and video from the body on the article page, with safe attributes only', async () => {
    const image = await upload('body.jpg', await jpeg(640, 360, '#975a16'));
    const body = [
      `<figure><img src="${image.path}" alt="Body image" width="640" height="360" loading="lazy" onerror="alert(1)" style="x"><figcaption>Caption</figcaption></figure>`,
      '<audio src="/media/a.mp3" preload="metadata" autoplay onplay="steal()"></audio>',
      '<video width="640" height="360" poster="javascript:alert(1)" preload="bogus"><source src="/media/v.webm" type="video/webm"><source src="/media/v.mp4" type="text/html"><track src="/x.vtt"></video>',
      '<img src="/media/x.jpg" width="100%" height="1 onload=alert(1)" alt="sized wrong">',
    ].join('');
    const saved = await save(site, 'POST', '/api/articles', { title: 'Sounds of the quay', body, status: 'published' });
    const stored = (await site.db('articles').where({ id: saved.id }).first('body')).body as string;
    assert.equal(
      stored,
      [
        `<figure><img src="${image.path}" alt="Body image" width="640" height="360" loading="lazy" /><figcaption>Caption</figcaption></figure>`,
        '<audio src="/media/a.mp3" preload="metadata" controls></audio>',
        '<video width="640" height="360" controls><source src="/media/v.webm" type="video/webm" /><source src="/media/v.mp4" /></video>',
        '<img src="/media/x.jpg" alt="sized wrong" />',
      ].join(''),
    );
    await settled(site.db);
    assert.ok(
      (await page(site.db, saved.url))?.body.includes(`<div class="body">${stored}</div>`),
      'the page shows the sanitized body as stored',
    );
  });

  it('refuses a lead image that is not an uploaded image with a 400 naming the field, and changes nothing', async () => {
    const audio = await upload('tone.mp3', Buffer.concat([Buffer.from('ID3'), Buffer.alloc(200, 1)]));
    const existing = await save(site, 'POST', '/api/articles', { title: 'Unchanged', body: '<p>x</p>' });
    const [articles, outbox, revisions] = [await count('articles'), await count('outbox'), await count('revisions')];
    const cases: [unknown, string][] = [
      [{ leadImage: 'f'.repeat(64) }, 'no uploaded media'],
      [{ leadImage: audio.sha256 }, 'not an image'],
      [{ leadImage: 42 }, 'sha256'],
      [{ leadImage: '../../etc/passwd' }, 'sha256'],
      [{ leadImage: audio.sha256.toUpperCase() }, 'sha256'],
      [{ leadImageAlt: 'x'.repeat(301) }, 'longer than 300'],
      [{ leadImageAlt: ['alt'] }, 'must be a string'],
      [{ leadImageAlt: 'bell\u0007' }, 'control characters'],
    ];
    for (const [fields, message] of cases) {
      for (const [method, url, body] of [
        ['POST', '/api/articles', { title: 'Nope', body: '<p>x</p>', ...(fields as object) }],
        ['PUT', `/api/articles/${existing.id}`, fields],
      ] as const) {
        const res = await api(site, method, url, body);
        const json = (await res.json()) as { error: { message: string; field: string } };
        assert.equal(res.status, 400, `${method} ${JSON.stringify(fields)}`);
        assert.match(json.error.message, new RegExp(message));
        assert.match(json.error.field, /^leadImage/);
      }
    }
    const eventRes = await api(site, 'POST', '/api/events', {
      title: 'Nope',
      body: 'x',
      startsAt: '2027-01-01T10:00:00Z',
      leadImage: audio.sha256,
    });
    assert.equal(eventRes.status, 400);
    assert.deepEqual(
      [await count('articles'), await count('outbox'), await count('revisions')],
      [articles, outbox, revisions],
    );
    assert.equal((await site.db('articles').where({ id: existing.id }).first('lead_image')).lead_image, null);
  });

  it('sets the lead image from the article and event forms without JavaScript (a radio per library image), and refuses a forged choice', async () => {
    await createUser(site.db, 'desk', 'editor', PASSWORD);
    const web = new WebClient(site.app.url);
    await web.login('desk');
    const image = await upload('form.jpg', await jpeg(1000, 500, '#553c9a'));
    const form = await web.get('/editor/articles/new');
    assert.match(form.text, new RegExp(`<input type="radio" name="leadImage" value="${image.sha256}"`));
    const fields = {
      _csrf: web.csrf(),
      title: 'Picked in the form',
      summary: '',
      body: '<p>Body</p>',
      section: '',
      tags: '',
      status: 'published',
      intent: 'save',
      leadImageAlt: 'Purple',
    };
    const created = await web.post('/editor/articles', { ...fields, leadImage: image.sha256 });
    assert.equal(created.status, 303);
    const id = Number(/\/editor\/articles\/(\d+)/.exec(created.location!)![1]);
    const row = await site.db('articles').where({ id }).first('lead_image', 'lead_image_alt');
    assert.deepEqual([row.lead_image, row.lead_image_alt], [image.sha256, 'Purple']);
    const edit = await web.get(`/editor/articles/${id}`);
    assert.match(edit.text, new RegExp(`value="${image.sha256}" checked`));

    const before = await count('articles');
    const forged = await web.post('/editor/articles', {
      ...fields,
      _csrf: web.csrf(),
      title: 'Forged',
      leadImage: 'a'.repeat(64),
    });
    assert.equal(forged.status, 400);
    assert.match(forged.text, /no uploaded media/);
    assert.equal(await count('articles'), before);

    const cleared = await web.post(`/editor/articles/${id}`, { ...fields, _csrf: web.csrf(), leadImage: '' });
    assert.equal(cleared.status, 303);
    assert.equal((await site.db('articles').where({ id }).first('lead_image')).lead_image, null);

    const eventForm = await web.get('/editor/events/new');
    assert.match(eventForm.text, new RegExp(`<input type="radio" name="leadImage" value="${image.sha256}"`));
    const event = await web.post('/editor/events', {
      _csrf: web.csrf(),
      title: 'Picked for an event',
      body: '',
      startsAt: '2027-09-01T19:00',
      intent: 'save',
      leadImage: image.sha256,
      leadImageAlt: 'Purple hall',
    });
    assert.equal(event.status, 303);
    const eventId = Number(/\/editor\/events\/(\d+)/.exec(event.location!)![1]);
    const eventRow = await site.db('events').where({ id: eventId }).first('lead_image', 'lead_image_alt');
    assert.deepEqual([eventRow.lead_image, eventRow.lead_image_alt], [image.sha256, 'Purple hall']);
  });
});

describe('the lead-image migration', () => {
  async function overOlderData(url: string) {
    const db = createDatabase(url);
    try {
      await migrateUpTo(db, '006-failover');
      await db('media').insert({
        sha256: 'b'.repeat(64),
        kind: 'image',
        content_type: 'image/png',
        path: `/media/${'b'.repeat(64)}.png`,
        size: 10,
        width: 1000,
        height: 750,
        rendition_path: `/media/${'b'.repeat(64)}-480.webp`,
        created_at: 1,
      });
      await db('media').insert({
        sha256: 'c'.repeat(64),
        kind: 'image',
        content_type: 'image/png',
        path: `/media/${'c'.repeat(64)}.png`,
        size: 10,
        width: 300,
        height: 200,
        rendition_path: `/media/${'c'.repeat(64)}-480.webp`,
        created_at: 1,
      });
      await db('articles').insert({
        slug: 'old',
        title: 'Old',
        summary: '',
        body: '',
        status: 'published',
        featured: false,
        created_at: 1,
        updated_at: 1,
      });
      // Up to this migration only: later ones (other features) may follow it.
      assert.ok((await pendingMigrations(db)).includes('007-lead-images'));
      await migrateUpTo(db, '007-lead-images');
      assert.ok(!(await pendingMigrations(db)).includes('007-lead-images'));
      const media = await db('media').orderBy('sha256').select('rendition_width', 'rendition_height');
      assert.deepEqual(
        media.map((m) => [Number(m.rendition_width), Number(m.rendition_height)]),
        [
          [480, 360],
          [300, 200],
        ],
        'renditions never enlarge',
      );
      const old = await db('articles').where({ slug: 'old' }).first('lead_image', 'lead_image_alt');
      assert.deepEqual([old.lead_image, old.lead_image_alt], [null, '']);
      await db('events').insert({
        slug: 'e',
        title: 'E',
        body: '',
        starts_at: 1,
        status: 'draft',
        created_at: 1,
        updated_at: 1,
        lead_image: 'b'.repeat(64),
        lead_image_alt: 'alt',
      });
    } finally {
      await db.destroy();
    }
  }

  it('adds the columns and sizes existing renditions on SQLite', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hs-migrate-'));
    try {
      await overOlderData(`sqlite:${path.join(dir, 'site.db')}`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('adds the columns and sizes existing renditions on MariaDB', async () => {
    const shared = await sharedDatabase('editor_lead_migrate');
    try {
      await overOlderData(shared.primaryUrl);
    } finally {
      await shared.drop();
    }
  });
});

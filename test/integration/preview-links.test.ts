// Shareable preview links (docs/api.md, "Preview links"): a draft or
// scheduled item's page as the producer will render it, served by the app
// alone, never stored, journaled or cacheable; a token that is wrong,
// expired or revoked is a 404 that changes nothing; only the token's keyed
// hash is kept; creating and revoking write audit rows. Real MariaDB, Redis
// and producer; only the clock is fake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedRedisUrl } from '../harness/shared';
import { replayFeed } from '../support/feed-replay';
import { journalHead, page, settled } from './producer-helpers';
import { call, inFuture, ScheduledSite, startScheduledSite, waitForStatus } from './schedule-helpers';

const HOUR = 3600_000;

describe('shareable preview links', () => {
  let site: ScheduledSite;

  before(async () => {
    site = await startScheduledSite('previews', await sharedRedisUrl(), { producer: true });
  });

  after(async () => {
    await site?.close();
  });

  async function draft(title: string, extra: Record<string, unknown> = {}): Promise<{ id: number; url: string }> {
    const res = await call(site, 'POST', '/api/articles', {
      title,
      summary: `${title} summary`,
      body: `<p>${title} body</p>`,
      section: 'news',
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return { id: Number(res.json.id), url: String(res.json.url) };
  }

  async function createLink(id: number, body: unknown = {}) {
    return call(site, 'POST', `/api/articles/${id}/previews`, body);
  }

  /** Every row of the tables a preview could touch, to show a request changed nothing. */
  async function state(): Promise<string> {
    const tables = ['preview_links', 'audit_log', 'articles', 'pages', 'journal', 'outbox', 'revisions'];
    const rows = await Promise.all(tables.map((t) => site.db(t).select('*')));
    return JSON.stringify(rows);
  }

  /** The preview banner and robots meta taken out: what is left must be the producer's page, byte for byte. */
  // A preview says noindex where the published page registers the mirrors' service worker (the app serves none).
  const withoutPreview = (html: string) =>
    html
      .replace(/<meta name="robots" content="noindex, nofollow">\n/, '<script src="/sw-register.js" defer></script>\n')
      .replace(/\n<aside class="preview wrap"[\s\S]*?<\/aside>\n/, '');

  it('shows a scheduled article exactly as the producer renders it when it goes out', async () => {
    const publishAt = inFuture(site, HOUR);
    const item = await draft('Quokka preview story', { publishAt });
    const res = await createLink(item.id);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const { token, path, url, expiresAt, state: linkState } = res.json as Record<string, string | number>;
    assert.match(String(token), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(path, `/preview/${token}`);
    assert.equal(url, `${site.app.url}${path}`);
    assert.ok(Math.abs(Number(expiresAt) - (site.clock.now() + 48 * HOUR)) < 5000, 'expires in 48 hours by default');
    assert.equal(linkState, 'active');

    const preview = await fetch(`${site.app.url}${path}`);
    assert.equal(preview.status, 200);
    assert.equal(preview.headers.get('cache-control'), 'no-store, private');
    assert.equal(preview.headers.get('x-robots-tag'), 'noindex, nofollow');
    assert.equal(preview.headers.get('referrer-policy'), 'no-referrer');
    const html = await preview.text();
    assert.match(html, /<meta name="robots" content="noindex, nofollow">/);
    assert.match(html, /<h1>Quokka preview story<\/h1>/);
    // The listing card, as archive pages will list it.
    assert.match(
      html,
      /<aside class="preview wrap"[\s\S]*<h2><a href="\/news\/quokka-preview-story">Quokka preview story<\/a><\/h2>/,
    );
    // Its stylesheet is served beside it, so the page looks as it will.
    const css = /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1];
    assert.equal((await fetch(`${site.app.url}${css}`)).status, 200);

    // Nothing of it reached the journal, a blob or the feed.
    await settled(site.db);
    assert.equal(await page(site.db, item.url), undefined);
    const { text } = await replayFeed(site.app.url, await journalHead(site.db));
    assert.ok(!text.includes('Quokka'), '/feed?after=0 holds nothing of the preview');
    for (const row of await site.db('blobs').select('body'))
      assert.ok(!Buffer.from(row.body).toString().includes('Quokka'), 'no blob holds the preview');

    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', item.id, 'published');
    await settled(site.db);
    const published = await page(site.db, item.url);
    assert.equal(published?.op, 'put');
    assert.equal(withoutPreview(html), published!.body, 'the preview is the published page, banner aside');
    const card = (await site.db('render_state').where({ topic: 'article', item_id: item.id }).first('card_html'))
      .card_html as string;
    assert.ok(html.includes(card), 'the banner shows the stored listing card');

    // Published now: the link has nothing to preview any more.
    assert.equal((await fetch(`${site.app.url}${path}`)).status, 404);
  });

  it('keeps only a keyed hash of the token, lists links without it, and audits create and revoke', async () => {
    const item = await draft('Numbat hashed token');
    const created = (await createLink(item.id, { expiresInHours: 2 })).json;
    const token = String(created.token);
    const stored = await site
      .db('preview_links')
      .where({ id: Number(created.id) })
      .first();
    assert.equal(stored.token_hash.length, 64);
    assert.ok(!JSON.stringify(stored).includes(token), 'the row does not hold the token');
    assert.ok(!(await state()).includes(token), 'no table holds the token');
    assert.equal(Number(stored.expires_at) - Number(stored.created_at), 2 * HOUR);

    const listed = await call(site, 'GET', `/api/articles/${item.id}/previews`);
    assert.equal(listed.status, 200);
    const links = listed.json.previews as Record<string, unknown>[];
    assert.deepEqual(
      links.map((l) => [l.id, l.state, l.createdBy]),
      [[created.id, 'active', 'editor1']],
    );
    assert.ok(!JSON.stringify(listed.json).includes(token));

    const revoked = await call(site, 'POST', `/api/articles/${item.id}/previews/${created.id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.state, 'revoked');
    const audit = await site
      .db('audit_log')
      .where({ target: `article:${item.id}` })
      .orderBy('id');
    assert.deepEqual(
      audit.map((r) => [r.action, r.actor_name, JSON.parse(r.detail).link]),
      [
        ['preview_created', 'editor1', created.id],
        ['preview_revoked', 'editor1', created.id],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes(token), 'the audit log holds no token');
  });

  it('answers a wrong, expired or revoked token with 404 and changes nothing', async () => {
    const item = await draft('Wallaby bad tokens');
    const live = String((await createLink(item.id, { expiresInHours: 1 })).json.token);
    const revoked = (await createLink(item.id)).json;
    await call(site, 'POST', `/api/articles/${item.id}/previews/${revoked.id}/revoke`);
    assert.equal((await fetch(`${site.app.url}/preview/${live}`)).status, 200);

    const wrong = `${live.slice(0, -2)}${live.endsWith('AA') ? 'BB' : 'AA'}`;
    await settled(site.db);
    const before = await state();
    for (const token of [wrong, 'short', `${live}x`, String(revoked.token), '%2e%2e%2fapi']) {
      const res = await fetch(`${site.app.url}/preview/${token}`);
      assert.equal(res.status, 404, token);
      assert.equal(res.headers.get('cache-control'), 'no-store, private');
      assert.ok(!(await res.text()).includes('Wallaby'), 'a 404 shows nothing of the item');
    }
    site.clock.advance(HOUR);
    assert.equal((await fetch(`${site.app.url}/preview/${live}`)).status, 404, 'expired after its hour');
    assert.equal(await state(), before, 'no request changed anything');
    const listed = await call(site, 'GET', `/api/articles/${item.id}/previews`);
    assert.deepEqual(
      (listed.json.previews as { state: string }[]).map((l) => l.state),
      ['revoked', 'expired'],
    );
  });

  it('refuses bad requests with a 4xx naming the field, writing nothing', async () => {
    const item = await draft('Bilby refusals');
    const published = await call(site, 'POST', '/api/articles', {
      title: 'Bilby already out',
      body: '<p>x</p>',
      status: 'published',
    });
    await settled(site.db);
    const before = await state();
    for (const [body, field] of [
      [{ expiresInHours: 0 }, 'expiresInHours'],
      [{ expiresInHours: 169 }, 'expiresInHours'],
      [{ expiresInHours: 1.5 }, 'expiresInHours'],
      [{ expiresInHours: '12' }, 'expiresInHours'],
      [{ token: 'mine' }, 'token'],
    ] as const) {
      const res = await createLink(item.id, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error?.field, field);
    }
    const out = await createLink(Number(published.json.id));
    assert.equal(out.status, 409);
    assert.equal(out.json.error?.field, 'status');
    assert.equal((await createLink(999999)).status, 404);
    assert.equal(
      (await call(site, 'POST', `/api/articles/${item.id}/previews/999999/revoke`)).status,
      404,
      'an unknown link',
    );
    assert.equal(await state(), before);
  });
});

// Any address (docs/mirrors.md, "Any address"): a site with every page kind
// (home, article with a lead image and a body that names the site by its
// full address, event, section, tag and month archives, feeds, sitemaps, a
// 410 tombstone, the 404 page, the mirror list page and its JSON, the
// stylesheet) is rendered by a real producer on MariaDB; no page carries an
// absolute link to the site except canonical links, og:url, feeds' self
// links and the identifiers RSS, Atom and sitemaps require to be absolute.
// A mirror serves the same bytes under any host name, its own not-found,
// tombstone and redirect answers link within it, its frozen banner links
// nowhere, and it announces Onion-Location and its own address when told.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { keyFiles, loadPrivateKey } from '../../app/feed/signing-keys';
import { publishMirrorList } from '../../bin/commands/mirrors-publish';
import { siteSigner } from '../../common/trust/statements';
import { bannerHtml } from '../../mirrors/frozen-banner';
import { rebuild } from '../../producer/rebuild';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { rawGet, startTestMirror, tempDir, eventually } from './mirror-helpers';
import { page, save, settled, startSite, type Site } from './producer-helpers';

const PUBLIC_URL = 'https://news.example';
const ONION = `http://${'c'.repeat(56)}.onion`;

/**
 * Where an absolute link to the site may stay: the canonical address of a
 * page (rel=canonical, og:url), a feed's self link, and the identifiers
 * RSS 2.0 (<link>, <guid>), Atom (<id>) and the sitemap protocol (<loc>)
 * define as absolute; the metadata for sharing and search, which Open
 * Graph (og:image), Twitter cards and schema.org JSON-LD read as absolute
 * URLs (a crawler or a share preview, not a reader's click); and the site
 * the signed mirror list belongs to (its "site", a name, not a link).
 */
const ALLOWED = [
  /<link rel="canonical" href="[^"]*">/g,
  /<meta property="og:url" content="[^"]*">/g,
  /<meta (?:property|name)="(?:og|twitter):image" content="[^"]*">/g,
  /<script type="application\/ld\+json">[\s\S]*?<\/script>/g,
  /<atom:link href="[^"]*" rel="self"[^>]*\/>/g,
  /<link rel="self" href="[^"]*"\/>/g,
  /<id>[^<]*<\/id>/g,
  /<link>[^<]*<\/link>/g,
  /<guid isPermaLink="true">[^<]*<\/guid>/g,
  /<loc>[^<]*<\/loc>/g,
  /"site": "[^"]*"/g,
];

/** The absolute references to the site's host left once the allowed places are cut out. */
function absoluteSiteLinks(body: string): string[] {
  let rest = body;
  for (const allowed of ALLOWED) rest = rest.replace(allowed, '');
  return rest.match(/(?:https?:)?\/\/news\.example[^"'<\s]*/g) ?? [];
}

describe('any address: pages link within the site, whatever host serves them', { timeout: 90_000 }, () => {
  let site: Site;
  const kinds = new Set<string>();

  before(async () => {
    site = await startSite('any_address', await sharedRedisUrl(), {
      env: { DATA_DIR: tempDir('any-address'), PUBLIC_URL },
    });
    const jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#264653' } })
      .jpeg()
      .toBuffer();
    const res = await fetch(`${site.app.url}/api/media?name=quay.jpg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.token}` },
      body: new Uint8Array(jpeg),
    });
    const image = (await res.json()) as { sha256: string; path: string };
    const other = await save(site, 'POST', '/api/articles', {
      title: 'Ferry timetable',
      body: '<p>x</p>',
      status: 'published',
    });
    await save(site, 'POST', '/api/articles', {
      title: 'Quay reopens',
      summary: 'After two years',
      body: `<p>See <a href="${PUBLIC_URL}${other.url}">the timetable</a>, <a href="http://news.example/">home</a> and <a href="https://elsewhere.example/x">elsewhere</a>.</p><p><img src="${PUBLIC_URL}${image.path}" alt="The quay"></p>`,
      section: 'news',
      tags: ['Harbour'],
      leadImage: image.sha256,
      leadImageAlt: 'The quay',
      status: 'published',
      featured: true,
    });
    await save(site, 'POST', '/api/events', {
      title: 'Quay party',
      body: `<p><a href="${PUBLIC_URL}/articles">Read more</a></p>`,
      location: 'The quay',
      startsAt: '2031-03-14T18:00:00Z',
      status: 'published',
      tags: ['Harbour'],
    });
    const hidden = await save(site, 'POST', '/api/articles', {
      title: 'Retracted',
      body: '<p>x</p>',
      status: 'published',
    });
    await settled(site.db);
    await save(site, 'PUT', `/api/articles/${hidden.id}`, { status: 'hidden' });
    await settled(site.db);
    const renderer = createRenderer(siteInfoOf(site.config));
    await rebuild({ db: site.db, renderer, restart: true });
    await publishMirrorList(
      { db: site.db, renderer, signer: siteSigner(loadPrivateKey(site.config.feedSigningKey)), site: PUBLIC_URL },
      { op: 'add', entry: { url: 'https://mirror-eu.example/', region: 'EU' }, actor: 'test' },
    );
  });
  after(async () => {
    await site?.close();
  });

  it('no page links to the site by its absolute address, except canonical, og:url and feed self links', async () => {
    const paths = (await site.db('pages').whereIn('op', ['put', 'gone']).orderBy('path').pluck('path')) as string[];
    for (const path of paths) {
      const live = (await page(site.db, path))!;
      const row = await site.db('pages').where({ path }).first('content_type');
      kinds.add(kindOf(path, live.op, String(row.content_type)));
      if (/^(image|audio|video)\//.test(row.content_type)) continue;
      assert.deepEqual(absoluteSiteLinks(live.body), [], `${path} links the site by its absolute address`);
    }
    assert.deepEqual(
      [...kinds].sort(),
      [
        '404',
        'archive',
        'article',
        'atom',
        'event',
        'home',
        'listing',
        'media',
        'mirrors',
        'mirrors.json',
        'rss',
        'sitemap',
        'stylesheet',
        'tombstone',
      ],
      'every page kind was checked',
    );
    const article = (await page(site.db, '/news/quay-reopens'))!.body;
    assert.match(article, /<a href="\/news\/ferry-timetable"[^>]*>the timetable<\/a>/);
    assert.match(article, /<a href="\/"[^>]*>home<\/a>/);
    assert.match(
      article,
      /<a href="https:\/\/elsewhere\.example\/x"[^>]*>elsewhere/,
      'links to other sites stay as they are',
    );
    assert.match(article, /<p><img src="\/media\/[0-9a-f]{64}[^"]*" alt="The quay" \/><\/p>/);
    assert.match(article, /<link rel="canonical" href="https:\/\/news\.example\/news\/quay-reopens">/);
    const atom = (await page(site.db, '/feeds/site.atom.xml'))!.body;
    assert.match(atom, /<link rel="alternate" type="text\/html" href="\/news\/quay-reopens"\/>/);
  });

  it('a mirror serves the same pages under any host name; its own answers link within it and it announces its addresses', async () => {
    const mirror = await startTestMirror({
      origins: [site.app.url],
      env: {
        MIRROR_PUBLIC_KEY: keyFiles(site.config.feedSigningKey).publicPath,
        MIRROR_PUBLIC_URL: 'https://mirror-eu.example',
        MIRROR_ONION_LOCATION: ONION,
      },
    });
    try {
      await eventually(async () => assert.equal((await rawGet(mirror.url, '/mirrors.json')).status, 200), 15_000);
      for (const host of ['mirror-eu.example', `${'c'.repeat(56)}.onion`, 'localhost']) {
        const home = await rawGet(mirror.url, '/', { host });
        assert.equal(home.status, 200);
        assert.deepEqual(absoluteSiteLinks(home.text), [], `home under ${host}`);
        assert.equal(home.headers['onion-location'], `${ONION}/`);
      }
      const article = await rawGet(mirror.url, '/news/quay-reopens');
      assert.equal(article.headers['onion-location'], `${ONION}/news/quay-reopens`);
      assert.equal((await rawGet(mirror.url, '/mirrors.json')).headers['onion-location'], undefined, 'only HTML pages');

      const missing = await rawGet(mirror.url, '/no/such/page', { host: 'mirror-eu.example' });
      assert.equal(missing.status, 404);
      assert.match(missing.text, /Page not found/, "the site's own 404 page");
      assert.deepEqual(absoluteSiteLinks(missing.text), []);
      const gone = await rawGet(mirror.url, '/news/retracted');
      assert.equal(gone.status, 410);
      assert.deepEqual(absoluteSiteLinks(gone.text), []);
      assert.doesNotMatch(bannerHtml(Date.now()), /href|https?:/, 'the frozen banner links nowhere');

      const announced = await rawGet(mirror.url, '/.well-known/hyperstatic/mirror.json');
      assert.deepEqual(JSON.parse(announced.text), { publicUrl: 'https://mirror-eu.example', onionLocation: ONION });
    } finally {
      await mirror.close();
    }
  });
});

function kindOf(path: string, op: string, contentType: string): string {
  if (op === 'gone') return 'tombstone';
  if (path === '/404.html') return '404';
  if (path === '/mirrors') return 'mirrors';
  if (path === '/mirrors.json') return 'mirrors.json';
  if (path === '/') return 'home';
  if (path.startsWith('/assets/')) return 'stylesheet';
  if (path.startsWith('/media/')) return 'media';
  if (path.startsWith('/news/')) return 'article';
  if (path.startsWith('/event/')) return 'event';
  if (path.endsWith('.rss.xml')) return 'rss';
  if (path.endsWith('.atom.xml')) return 'atom';
  if (contentType.startsWith('application/xml')) return 'sitemap';
  return /\/\d{4}-\d{2}(\/\d+)?$/.test(path) ? 'archive' : 'listing';
}

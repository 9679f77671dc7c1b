import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleFileOf, nginxConfig, objectsJson } from './bundle-format';
import type { ManifestPage } from './feed-format';

function page(path: string, contentType: string, op: 'put' | 'gone' = 'put', seq = 1): ManifestPage {
  return { path, op, sha256: 'a'.repeat(64), size: 1, contentType, lastModified: 1, kind: 'index', seq };
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const c of chunks) all += c;
  return all;
}

async function* from(pages: ManifestPage[]): AsyncGenerator<ManifestPage> {
  yield* pages;
}

describe('bundle layout', () => {
  it('stores a page without an extension as its directory index, so /articles and /articles/2026-11 can both exist', () => {
    assert.equal(bundleFileOf('/'), 'index.html');
    assert.equal(bundleFileOf('/articles'), 'articles/index.html');
    assert.equal(bundleFileOf('/articles/2026-11'), 'articles/2026-11/index.html');
    assert.equal(bundleFileOf('/feeds/site.rss.xml'), 'feeds/site.rss.xml');
    assert.equal(bundleFileOf('/sections/'), 'sections/index.html');
  });

  it('refuses a path that could leave the bundle or land in its own files', () => {
    for (const bad of ['/../etc/passwd', 'relative', '/a/./b', '/a\\b', '/.well-known/hyperstatic/manifest.ndjson'])
      assert.throws(() => bundleFileOf(bad), /unsafe path|reserved/, bad);
  });

  it('types files by their most common content type per extension and gives the rest an exact location', async () => {
    const pages = [
      page('/', 'text/html; charset=utf-8'),
      page('/feeds/a.atom.xml', 'application/atom+xml'),
      page('/feeds/b.atom.xml', 'application/atom+xml'),
      page('/feeds/a.rss.xml', 'application/rss+xml'),
      page('/news/old', 'text/html; charset=utf-8', 'gone'),
    ];
    const conf = await text(nginxConfig(() => from(pages), { root: '/srv/b', listen: '8080', epoch: 1, cursor: 9 }));
    assert.match(conf, /"application\/atom\+xml" xml;/);
    assert.match(
      conf,
      /location = "\/feeds\/a\.rss\.xml" \{\n\s+types \{ \}\n\s+default_type "application\/rss\+xml";/,
    );
    assert.doesNotMatch(conf, /location = "\/feeds\/a\.atom\.xml"/);
    assert.match(conf, /location = "\/news\/old" \{\n\s+error_page 410 "\/news\/old\/index\.html";\n\s+return 410;/);
    await assert.rejects(
      text(
        nginxConfig(() => from([page('/x', 'text/html"; evil $x')]), { root: '/', listen: '80', epoch: 1, cursor: 1 }),
      ),
      /cannot write/,
    );
  });

  it('lists every live path in objects.json, marking which files a delta holds', async () => {
    const json = JSON.parse(
      await text(
        objectsJson(from([page('/a', 'text/html', 'put', 3), page('/b', 'text/html', 'gone', 8)]), {
          epoch: 1,
          cursor: 8,
          since: 5,
        }),
      ),
    ) as { objects: { path: string; status: number; inBundle: boolean; file: string }[] };
    assert.deepEqual(
      json.objects.map((o) => [o.path, o.file, o.status, o.inBundle]),
      [
        ['/a', 'a/index.html', 200, false],
        ['/b', 'b/index.html', 410, true],
      ],
    );
  });
});

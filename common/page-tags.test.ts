import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pageTags, safeTag, tagHeaders } from './page-tags';
import { articlePath, eventPath, feedPaths, indexMonthPath, indexRootPath, sitemapShardPath } from './site-paths';

const SHA = 'ab'.repeat(32);

describe('purge tags of a page', () => {
  it('names an article or event page by its item, as the dependency model does', () => {
    assert.deepEqual(pageTags({ path: articlePath('flood-warning'), kind: 'article' }), [
      'site',
      'kind:article',
      'item:article:flood-warning',
    ]);
    assert.deepEqual(pageTags({ path: eventPath('march'), kind: 'article' }), [
      'site',
      'kind:article',
      'item:event:march',
    ]);
  });

  it('names every page of a section or tag listing, and its feeds, by the section or tag', () => {
    for (const path of [
      indexRootPath('section:world'),
      indexMonthPath('section:world', '2026-11'),
      indexMonthPath('section:world', '2026-11', 3),
    ])
      assert.deepEqual(pageTags({ path, kind: 'index' }), ['site', 'kind:index', 'section:world'], path);
    assert.deepEqual(pageTags({ path: indexMonthPath('tag:climate', '2026-10'), kind: 'index' }), [
      'site',
      'kind:index',
      'tag:climate',
    ]);
    const { rss, atom } = feedPaths('tag:climate');
    for (const path of [rss, atom])
      assert.deepEqual(pageTags({ path, kind: 'feed' }), ['site', 'kind:feed', 'tag:climate'], path);
    assert.deepEqual(pageTags({ path: feedPaths('section:world').rss, kind: 'feed' }), [
      'site',
      'kind:feed',
      'section:world',
    ]);
  });

  it('names the home page, the site-wide listings and feeds, and the sitemaps', () => {
    assert.deepEqual(pageTags({ path: '/', kind: 'index' }), ['site', 'kind:index', 'home']);
    assert.deepEqual(pageTags({ path: indexMonthPath('all', '2026-11'), kind: 'index' }), [
      'site',
      'kind:index',
      'listing:all',
    ]);
    assert.deepEqual(pageTags({ path: feedPaths('all').atom, kind: 'feed' }), ['site', 'kind:feed', 'listing:all']);
    assert.deepEqual(pageTags({ path: indexRootPath('events'), kind: 'index' }), [
      'site',
      'kind:index',
      'listing:events',
    ]);
    assert.deepEqual(pageTags({ path: sitemapShardPath('article', 0), kind: 'feed' }), [
      'site',
      'kind:feed',
      'sitemap',
    ]);
    assert.deepEqual(pageTags({ path: '/sitemap.xml', kind: 'feed' }), ['site', 'kind:feed', 'sitemap']);
  });

  it('gives an upload and its renditions one media tag, named by the original hash', () => {
    for (const path of [`/media/${SHA}.jpg`, `/media/${SHA}-480.webp`])
      assert.deepEqual(pageTags({ path, kind: 'media' }), ['site', 'kind:media', `media:${SHA}`], path);
  });

  it('gives a page its path says nothing about only the site and kind tags', () => {
    assert.deepEqual(pageTags({ path: '/about/', kind: 'article' }), ['site', 'kind:article']);
  });

  it('encodes what would split or break a tag in either header', () => {
    assert.equal(safeTag('tag:a b,c'), 'tag:a%20b%2Cc');
    assert.equal(safeTag('tag:café'), 'tag:caf%C3%A9');
    assert.equal(safeTag("tag:it's"), 'tag:it%27s');
    assert.deepEqual(pageTags({ path: '/tags/a b/', kind: 'index' }).at(-1), 'tag:a%20b');
  });

  it('joins tags with spaces for Surrogate-Key and commas for Cache-Tag', () => {
    assert.deepEqual(tagHeaders(['site', 'kind:index', 'home']), {
      'surrogate-key': 'site kind:index home',
      'cache-tag': 'site,kind:index,home',
    });
  });
});

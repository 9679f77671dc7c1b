import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { articleState, entriesOf, eventState } from './item-state';
import type { ArticleRow, EventRow } from './item-rows';

const NOW = Date.UTC(2026, 11, 7, 12);

const article = (status: ArticleRow['status']): ArticleRow => ({
  id: 7,
  slug: 'harbour',
  title: 'Harbour',
  summary: '',
  body: '<p>x</p>',
  status,
  featured: true,
  leadImage: null,
  section: { slug: 'news', name: 'News' },
  tags: [{ slug: 'quay', name: 'Quay' }],
  authors: [],
  formerSlugs: [],
  publishedAt: NOW - 3600_000,
  updatedAt: NOW,
  live: false,
  liveUpdatedAt: null,
  entries: [],
  notes: [],
  modifiedAt: null,
});

const event = (status: EventRow['status']): EventRow => ({
  id: 3,
  slug: 'fair',
  title: 'Fair',
  summary: '',
  body: '',
  location: 'Quay',
  startsAt: NOW + 86_400_000,
  endsAt: null,
  status,
  featured: false,
  leadImage: null,
  tags: [],
  authors: [],
  formerSlugs: [],
  updatedAt: NOW,
  notes: [],
  modifiedAt: null,
});

describe('item state', () => {
  it('puts a published article in its listings, sitemap and news', () => {
    const keys = entriesOf(articleState(article('published'), NOW)).map((e) => e.index_key);
    assert.deepEqual(keys.sort(), ['all', 'featured', 'news', 'section:news', 'sitemap:article', 'tag:quay']);
  });

  it('makes a deleted article, like a hidden one, invisible: in no listing, feed or sitemap (its page a tombstone)', () => {
    for (const status of ['hidden', 'deleted'] as const) {
      const state = articleState(article(status), NOW);
      assert.equal(state.visible, false, status);
      assert.deepEqual(entriesOf(state), [], status);
    }
    assert.equal(eventState(event('published')).visible, true);
    assert.equal(eventState(event('deleted')).visible, false);
    assert.deepEqual(entriesOf(eventState(event('deleted'))), []);
  });
});

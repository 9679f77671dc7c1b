import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArticleRow, EventRow } from './item-rows';
import { articleView, eventView } from './renderer';
import { articleJsonLd, articleMeta, eventJsonLd } from './structured-data';

const site = { name: 'Harbour Times', publicUrl: 'https://news.example' };
const article: ArticleRow = {
  id: 7,
  slug: 'flood-watch',
  title: 'Flood watch',
  summary: 'Neighbours keep watch.',
  body: '<p>x</p>',
  status: 'published',
  featured: false,
  leadImage: {
    src: '/media/ab.jpg',
    alt: 'The embankment',
    width: 1200,
    height: 800,
    sources: [],
  },
  authors: [],
  publishedAt: Date.UTC(2026, 10, 20, 8),
  updatedAt: Date.UTC(2026, 10, 21, 9),
  section: { slug: 'news', name: 'News' },
  tags: [{ slug: 'floods', name: 'Floods' }],
} as unknown as ArticleRow;

describe('metadata for sharing and search', () => {
  it('describes an article as a NewsArticle with absolute URLs; no named author means the site; authors are Persons with their pages', () => {
    const ld = articleJsonLd(site, '/assets/icon-1.png', articleView(article));
    assert.equal(ld['@type'], 'NewsArticle');
    assert.equal(ld.headline, 'Flood watch');
    assert.equal(ld.datePublished, '2026-11-20T08:00:00.000Z');
    assert.deepEqual(ld.author, [{ '@type': 'Organization', name: 'Harbour Times' }]);
    assert.deepEqual(ld.image, ['https://news.example/media/ab.jpg']);
    assert.equal((ld.publisher as { logo: { url: string } }).logo.url, 'https://news.example/assets/icon-1.png');
    assert.equal(ld.dateModified, undefined, 'a re-save alone must not change the page');
    const authors = [
      { slug: 'ana-lima', name: 'Ana Lima', bio: '' },
      { slug: 'bo', name: 'Bo', bio: 'Harbour desk.' },
    ];
    const named = articleJsonLd(site, '/i.png', articleView({ ...article, authors } as ArticleRow));
    assert.deepEqual(named.author, [
      { '@type': 'Person', name: 'Ana Lima', url: 'https://news.example/authors/ana-lima' },
      { '@type': 'Person', name: 'Bo', url: 'https://news.example/authors/bo' },
    ]);
  });

  it('gives Open Graph the canonical URL, the image with its size and alt text, the section and tags', () => {
    const og = articleMeta(site, articleView(article));
    assert.equal(og.url, 'https://news.example/news/flood-watch');
    assert.deepEqual(og.image, {
      url: 'https://news.example/media/ab.jpg',
      alt: 'The embankment',
      width: 1200,
      height: 800,
    });
    assert.equal(og.section, 'News');
    assert.deepEqual(og.tags, ['Floods']);
  });

  it('describes an event with its start, end and place', () => {
    const event = {
      id: 3,
      slug: 'open-day',
      title: 'Open day',
      summary: '',
      body: '<p>x</p>',
      location: 'Union Hall',
      startsAt: Date.UTC(2031, 2, 14, 18),
      endsAt: null,
      status: 'published',
      featured: false,
      leadImage: null,
      tags: [],
      authors: [],
      updatedAt: 0,
    } as unknown as EventRow;
    const ld = eventJsonLd(site, '/i.png', eventView(event));
    assert.equal(ld['@type'], 'Event');
    assert.equal(ld.startDate, '2031-03-14T18:00:00.000Z');
    assert.equal(ld.endDate, undefined);
    assert.deepEqual(ld.location, { '@type': 'Place', name: 'Union Hall', address: 'Union Hall' });
    assert.equal(ld.description, undefined, 'an empty summary is left out');
  });
});

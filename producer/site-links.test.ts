import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativeSiteLinks } from './site-links';

const SITE = 'https://news.example';

test('links naming the site by its address become root-relative; other sites are left alone', () => {
  const html =
    '<p><a href="https://news.example/news/a">a</a> <a href="http://news.example/tags/x?p=1">x</a> ' +
    '<a href="//news.example">home</a> <a href="https://news.example#top">top</a> ' +
    '<img src="https://news.example/media/abc" alt=""> <a href="https://news.example.evil/x">evil</a> ' +
    '<a href="https://other.example/news/a">other</a></p>';
  assert.equal(
    relativeSiteLinks(html, SITE),
    '<p><a href="/news/a">a</a> <a href="/tags/x?p=1">x</a> ' +
      '<a href="/">home</a> <a href="/#top">top</a> ' +
      '<img src="/media/abc" alt=""> <a href="https://news.example.evil/x">evil</a> ' +
      '<a href="https://other.example/news/a">other</a></p>',
  );
});

test('a PUBLIC_URL with a port matches only that host and port', () => {
  assert.equal(
    relativeSiteLinks(
      '<a href="http://localhost:8080/x">x</a><a href="http://localhost:9/x">y</a>',
      'http://localhost:8080',
    ),
    '<a href="/x">x</a><a href="http://localhost:9/x">y</a>',
  );
});

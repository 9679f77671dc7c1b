// The wire format's `purge` op: what a mirror accepts and refuses; the
// Hyperstatic-Position field a cache reads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BLOB_PATH, parseFeedBatch, parsePosition, type JournalEntry } from './feed-format';

const SHA = 'a'.repeat(64);

function purgeBatch(extra: Partial<JournalEntry> = {}) {
  const e: JournalEntry = {
    seq: 7,
    epoch: 1,
    batch: 6,
    path: `${BLOB_PATH}${SHA}`,
    op: 'purge',
    sha256: SHA,
    size: 0,
    contentType: '',
    lastModified: 1_700_000_000_000,
    kind: 'article',
    ...extra,
  };
  return { epoch: 1, batch: 6, entries: [e] };
}

describe('parseFeedBatch and purge entries', () => {
  test('accepts a purge of /blobs/SHA naming that sha', () => {
    assert.equal(parseFeedBatch(purgeBatch()).entries[0].op, 'purge');
  });

  test('refuses a purge without a sha256, at another path, with a size or carrying a body', () => {
    assert.throws(() => parseFeedBatch(purgeBatch({ sha256: null })), /bad sha256/);
    assert.throws(() => parseFeedBatch(purgeBatch({ path: '/news/x' })), /purge/);
    assert.throws(() => parseFeedBatch(purgeBatch({ path: `${BLOB_PATH}${'b'.repeat(64)}` })), /purge/);
    assert.throws(() => parseFeedBatch(purgeBatch({ size: 12 })), /purge/);
    assert.throws(() => parseFeedBatch(purgeBatch({ inline: 'T0xE' })), /purge/);
  });

  test('still refuses an unknown op', () => {
    assert.throws(() => parseFeedBatch(purgeBatch({ op: 'erase' as never })), /unknown op/);
  });
});

describe('parsePosition', () => {
  test('reads a whole number, and nothing else, as a journal position', () => {
    assert.equal(parsePosition('0'), 0);
    assert.equal(parsePosition('4711'), 4711);
    for (const bad of [undefined, '', '-1', '1.5', ' 7', '7 ', '0x10', '1e3', '9'.repeat(16), ['1', '2']])
      assert.equal(parsePosition(bad), undefined, JSON.stringify(bad));
  });
});

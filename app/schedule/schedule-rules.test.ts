import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dueChanges, NotDueError, scheduleChanges } from './schedule-rules';

const NOW = Date.parse('2026-12-07T09:00:00Z');
const H = 3600_000;

describe('scheduleChanges', () => {
  it('stores a future publication and take-down', () => {
    assert.deepEqual(scheduleChanges(null, { publishAt: NOW + H, unpublishAt: NOW + 2 * H }, NOW), {
      publish_at: NOW + H,
      unpublish_at: NOW + 2 * H,
    });
  });

  it('refuses a publication at or before now, naming publishAt', () => {
    assert.throws(() => scheduleChanges(null, { publishAt: NOW }, NOW), { field: 'publishAt', status: 400 });
  });

  it('refuses a take-down before the stored publication', () => {
    assert.throws(() => scheduleChanges({ status: 'draft', publish_at: NOW + 2 * H }, { unpublishAt: NOW + H }, NOW), {
      field: 'unpublishAt',
    });
  });

  it('refuses to schedule a published item (409)', () => {
    assert.throws(() => scheduleChanges({ status: 'published' }, { publishAt: NOW + H }, NOW), {
      field: 'publishAt',
      status: 409,
    });
  });

  it('publishing now clears a pending publication; null cancels', () => {
    assert.deepEqual(scheduleChanges({ status: 'draft', publish_at: NOW + H }, { status: 'published' }, NOW), {
      publish_at: null,
    });
    assert.deepEqual(scheduleChanges({ status: 'draft' }, { publishAt: null, unpublishAt: null }, NOW), {
      publish_at: null,
      unpublish_at: null,
    });
  });

  it('back-dates publishedAt but never into the future', () => {
    assert.deepEqual(scheduleChanges(null, { publishedAt: NOW - H }, NOW), { published_at: NOW - H });
    assert.throws(() => scheduleChanges(null, { publishedAt: NOW + 1 }, NOW), { field: 'publishedAt' });
  });
});

describe('dueChanges', () => {
  it('publishes a draft with its scheduled instant as the publication date', () => {
    assert.deepEqual(
      dueChanges({ status: 'draft', publish_at: NOW, published_at: null }, { column: 'publish_at', now: NOW }),
      {
        status: 'published',
        publish_at: null,
        published_at: NOW,
      },
    );
  });

  it('keeps a back-dated publication date', () => {
    const row = { status: 'draft', publish_at: NOW, published_at: NOW - 99 * H };
    assert.equal(dueChanges(row, { column: 'publish_at', now: NOW }).published_at, NOW - 99 * H);
  });

  it('leaves a hidden item hidden (the moderator wins) and clears the schedule', () => {
    assert.deepEqual(dueChanges({ status: 'hidden', publish_at: NOW }, { column: 'publish_at', now: NOW }), {
      publish_at: null,
    });
  });

  it('takes a published item down to draft', () => {
    assert.deepEqual(dueChanges({ status: 'published', unpublish_at: NOW }, { column: 'unpublish_at', now: NOW }), {
      status: 'draft',
      unpublish_at: null,
    });
  });

  it('is not due when cleared (already applied) or moved later', () => {
    assert.throws(
      () => dueChanges({ status: 'draft', publish_at: null }, { column: 'publish_at', now: NOW }),
      NotDueError,
    );
    assert.throws(
      () => dueChanges({ status: 'draft', publish_at: NOW + 1 }, { column: 'publish_at', now: NOW }),
      NotDueError,
    );
  });
});

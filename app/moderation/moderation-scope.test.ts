import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedModerationActions, moderationRefusal } from './moderation';

describe('moderation scope', () => {
  const pendingDraft = { status: 'draft', featured: false, submission: 'pending' as const };

  it('lets editors and admins take any action on any item', () => {
    for (const role of ['admin', 'editor'] as const)
      for (const action of ['publish', 'hide', 'feature', 'unfeature'] as const)
        assert.equal(
          moderationRefusal(role, action, { status: 'hidden', featured: false, submission: undefined }),
          undefined,
        );
  });

  it('keeps moderators to submissions: publish while pending and not hidden, hide any, never feature', () => {
    const refuse = (action: 'publish' | 'hide' | 'feature', target: Parameters<typeof moderationRefusal>[2]) =>
      moderationRefusal('moderator', action, target);
    assert.match(refuse('publish', { ...pendingDraft, submission: undefined })!, /moderation queue only/);
    assert.match(refuse('hide', { ...pendingDraft, submission: undefined })!, /moderation queue only/);
    assert.match(refuse('feature', pendingDraft)!, /featuring/);
    assert.match(refuse('publish', { ...pendingDraft, status: 'hidden' })!, /legal reason/);
    assert.match(refuse('publish', { ...pendingDraft, submission: 'reviewed' })!, /already reviewed/);
    assert.equal(refuse('publish', pendingDraft), undefined);
    assert.equal(refuse('hide', { status: 'published', featured: false, submission: 'reviewed' }), undefined);
  });

  it('offers only the buttons that would change something and are allowed', () => {
    assert.deepEqual(allowedModerationActions('moderator', pendingDraft), ['publish', 'hide']);
    assert.deepEqual(allowedModerationActions('moderator', { ...pendingDraft, status: 'hidden' }), []);
    assert.deepEqual(
      allowedModerationActions('editor', { status: 'published', featured: true, submission: undefined }),
      ['hide', 'unfeature'],
    );
  });
});

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
    assert.deepEqual(allowedModerationActions('moderator', pendingDraft), ['publish', 'hide', 'delete']);
    assert.deepEqual(allowedModerationActions('moderator', { ...pendingDraft, status: 'hidden' }), []);
    assert.deepEqual(
      allowedModerationActions('editor', { status: 'published', featured: true, submission: undefined }),
      ['hide', 'unfeature', 'delete'],
    );
    assert.deepEqual(
      allowedModerationActions('admin', { status: 'deleted', featured: true, submission: undefined }),
      [],
      'a deleted item offers nothing',
    );
  });

  it('lets a moderator delete a submission unless it was hidden; editors and admins delete anything', () => {
    assert.equal(moderationRefusal('moderator', 'delete', pendingDraft), undefined);
    assert.equal(moderationRefusal('moderator', 'delete', { ...pendingDraft, submission: 'reviewed' }), undefined);
    assert.match(moderationRefusal('moderator', 'delete', { ...pendingDraft, submission: undefined })!, /queue only/);
    assert.match(moderationRefusal('moderator', 'delete', { ...pendingDraft, status: 'hidden' })!, /legal reason/);
    for (const role of ['admin', 'editor'] as const)
      assert.equal(
        moderationRefusal(role, 'delete', { status: 'hidden', featured: false, submission: undefined }),
        undefined,
      );
  });

  it('lets nobody change a deleted item, and deleting it again is no refusal (it changes nothing)', () => {
    const deleted = { status: 'deleted', featured: false, submission: undefined };
    for (const role of ['admin', 'editor', 'moderator'] as const)
      for (const action of ['publish', 'hide', 'feature', 'unfeature'] as const)
        assert.match(moderationRefusal(role, action, deleted)!, /deleted/, `${role} ${action}`);
    assert.equal(moderationRefusal('admin', 'delete', deleted), undefined);
  });
});

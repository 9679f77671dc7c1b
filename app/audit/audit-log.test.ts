import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditedAction } from '../content/item-revisions';
import { parseAuditFilter } from './audit-log';

describe('audit log rules', () => {
  it('reads a filter: whole UTC days, the to day included, pages of the given size', () => {
    assert.deepEqual(
      parseAuditFilter({ actor: 'sam', action: 'login', from: '2026-05-01', to: '2026-05-02', page: '3' }, 50),
      {
        actor: 'sam',
        action: 'login',
        from: Date.UTC(2026, 4, 1),
        to: Date.UTC(2026, 4, 3),
        page: 3,
        limit: 50,
        offset: 100,
      },
    );
    assert.deepEqual(parseAuditFilter({ actor: '', action: '' }, 50).offset, 0);
  });

  it('names the field of a bad filter', () => {
    for (const [query, field] of [
      [{ action: 'sneeze' }, 'action'],
      [{ from: '2026-02-30' }, 'from'],
      [{ to: ['2026-01-01'] }, 'to'],
      [{ page: '-1' }, 'page'],
      [{ actor: ['a', 'b'] }, 'actor'],
    ] as const)
      assert.throws(() => parseAuditFilter(query as Record<string, unknown>, 50), { field }, JSON.stringify(query));
  });

  it('calls a save a publish or a hide only when it changed the status so', () => {
    assert.equal(auditedAction('create', undefined, 'published'), 'publish');
    assert.equal(auditedAction('create', undefined, 'draft'), undefined);
    assert.equal(auditedAction('edit', 'published', 'published'), undefined);
    assert.equal(auditedAction('edit', 'published', 'hidden'), 'hide');
    assert.equal(auditedAction('restore', 'draft', 'draft'), 'restore');
    assert.equal(auditedAction('feature', 'published', 'published'), 'feature');
    assert.equal(auditedAction('delete', 'published', 'deleted'), 'delete');
    assert.equal(auditedAction('delete', 'draft', 'deleted'), 'delete', 'a draft deleted is audited too');
  });
});

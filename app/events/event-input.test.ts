import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDateTime, parseEventInput } from './event-input';

describe('event input', () => {
  it('accepts an RFC 3339 date-time with an offset and stores the instant', () => {
    assert.equal(parseDateTime('2026-11-22T18:30:00+01:00', 'startsAt'), Date.UTC(2026, 10, 22, 17, 30));
    assert.equal(parseDateTime('2028-02-29T10:00Z', 'startsAt'), Date.UTC(2028, 1, 29, 10));
  });

  it('refuses impossible dates instead of rolling them over', () => {
    for (const bad of [
      '2026-02-29T10:00:00Z',
      '2026-04-31T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:60:00Z',
      '2026-01-01T10:00:61Z',
    ]) {
      assert.throws(() => parseDateTime(bad, 'startsAt'), /startsAt is not a real date/, bad);
    }
  });

  it('refuses dates without an offset or in other formats, naming the field', () => {
    for (const bad of ['2026-01-01T10:00:00', '2026-01-01', 'tomorrow', 1767261600000]) {
      assert.throws(() => parseDateTime(bad, 'endsAt'), /endsAt must be/, String(bad));
    }
  });

  it('refuses a control character in the location, naming the field', () => {
    const ok = { title: 't', body: 'b', startsAt: '2026-11-22T18:30:00Z' };
    assert.throws(
      () => parseEventInput({ ...ok, location: 'Hall\u0000B' }, 'create'),
      (e: Error & { field?: string }) => e.field === 'location' && /U\+0000/.test(e.message),
    );
  });

  it('requires title, body and startsAt on create but nothing on update', () => {
    assert.throws(() => parseEventInput({ title: 'x', body: 'y' }, 'create'), /startsAt/);
    assert.deepEqual(parseEventInput({}, 'update'), {});
  });

  it('refuses an end before the start and tags with markup or path characters', () => {
    assert.throws(
      () =>
        parseEventInput(
          { title: 'x', body: 'y', startsAt: '2026-01-02T10:00:00Z', endsAt: '2026-01-01T10:00:00Z' },
          'create',
        ),
      /endsAt must not be before startsAt/,
    );
    assert.throws(() => parseEventInput({ tags: ['a/b'] }, 'update'), /tag/);
    assert.throws(() => parseEventInput({ tags: ['<b>x</b>'] }, 'update'), /tag/);
  });
});

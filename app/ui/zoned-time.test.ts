import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromZonedLocal, toZonedLocal, zoneLabel } from './zoned-time';

describe('zoned time', () => {
  it('reads a wall time in the site zone as the instant it names, winter and summer', () => {
    assert.equal(fromZonedLocal('2026-12-07T09:30', 'Europe/Berlin', 'publishAt'), Date.parse('2026-12-07T08:30:00Z'));
    assert.equal(fromZonedLocal('2026-07-07T09:30', 'Europe/Berlin', 'publishAt'), Date.parse('2026-07-07T07:30:00Z'));
    assert.equal(fromZonedLocal('2026-12-07T09:30', 'America/New_York', 'x'), Date.parse('2026-12-07T14:30:00Z'));
    assert.equal(fromZonedLocal('2026-12-07T09:30', 'Asia/Kolkata', 'x'), Date.parse('2026-12-07T04:00:00Z'));
    assert.equal(fromZonedLocal('2026-12-07T09:30', 'UTC', 'x'), Date.parse('2026-12-07T09:30:00Z'));
  });

  it('shows an instant as the wall time in the site zone', () => {
    assert.equal(toZonedLocal(Date.parse('2026-12-07T08:30:00Z'), 'Europe/Berlin'), '2026-12-07T09:30');
    assert.equal(toZonedLocal(null, 'Europe/Berlin'), '');
  });

  it('round-trips across the spring-forward day', () => {
    for (const local of ['2026-03-29T01:59', '2026-03-29T03:00', '2026-03-28T12:00', '2026-03-30T12:00'])
      assert.equal(toZonedLocal(fromZonedLocal(local, 'Europe/Berlin', 'x'), 'Europe/Berlin'), local);
  });

  it('refuses a wall time the clocks skip, and a malformed one, naming the field', () => {
    assert.throws(() => fromZonedLocal('2026-03-29T02:30', 'Europe/Berlin', 'publishAt'), { field: 'publishAt' });
    assert.throws(() => fromZonedLocal('2026-12-07 09:30', 'Europe/Berlin', 'unpublishAt'), { field: 'unpublishAt' });
    assert.throws(() => fromZonedLocal('2027-02-30T10:00', 'Europe/Berlin', 'startsAt'), /not a real date/);
    assert.throws(() => fromZonedLocal('2027-02-10T25:00', 'Europe/Berlin', 'startsAt'), /not a real date/);
  });

  it('labels the zone with its offset', () => {
    assert.equal(zoneLabel('Europe/Berlin', Date.parse('2026-12-07T08:30:00Z')), 'Europe/Berlin, GMT+01:00');
    assert.equal(zoneLabel('UTC', 0), 'UTC');
  });
});

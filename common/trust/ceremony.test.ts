import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  brokenSignatures,
  delegationState,
  MAX_EXPIRY_MS,
  parseEpochRange,
  parseExpiry,
  parseRootKeyList,
  statementDigest,
  thresholdReport,
} from './ceremony';
import { checkThreshold, keyIdOf, signRootStatement, type Delegation, type Signed } from './statements';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const root = () => generateKeyPairSync('ed25519').privateKey;
const [a, b, c, stranger] = [root(), root(), root(), root()];
const roots = new Set([a, b, c].map((k) => keyIdOf(k)));

const delegation: Delegation = {
  type: 'delegation',
  version: 1,
  site: 'primary',
  key: keyIdOf(root()),
  epochs: { from: 3, to: null },
  issued: NOW,
  expires: NOW + 90 * DAY,
};
const unsigned: Signed<Delegation> = { statement: delegation, signatures: [] };

describe('threshold counting', () => {
  it('counts each pinned root once, however many times it signed', () => {
    const once = signRootStatement(unsigned, a);
    const twice: Signed = { statement: delegation, signatures: [...once.signatures, ...once.signatures] };
    const report = thresholdReport(twice, roots, 2);
    assert.deepEqual(
      report.signatures.map((s) => s.status),
      ['valid', 'duplicate'],
    );
    assert.equal(report.valid, 1);
    assert.equal(report.met, false);
    assert.throws(() => checkThreshold(twice, roots, 2), /1 valid root signature\(s\); 2 needed/);
  });

  it('does not count a key that is not pinned, nor a signature that does not verify', () => {
    const byStranger = signRootStatement(signRootStatement(unsigned, stranger), a);
    const forged = { key: keyIdOf(b), sig: byStranger.signatures[0].sig };
    const signed: Signed = { statement: delegation, signatures: [...byStranger.signatures, forged] };
    const report = thresholdReport(signed, roots, 2);
    assert.deepEqual(
      report.signatures.map((s) => [s.key, s.status]),
      [
        [keyIdOf(stranger), 'unknown-key'],
        [keyIdOf(a), 'valid'],
        [keyIdOf(b), 'bad-signature'],
      ],
    );
    assert.equal(report.met, false);
    assert.deepEqual(brokenSignatures(signed), [keyIdOf(b)], "the stranger's own signature is genuine, b's is not");
  });

  it('meets 2 of 3 with two distinct roots, and a changed statement breaks every signature', () => {
    const signed = signRootStatement(signRootStatement(unsigned, a), c);
    assert.deepEqual(thresholdReport(signed, roots, 2), {
      signatures: [
        { key: keyIdOf(a), status: 'valid' },
        { key: keyIdOf(c), status: 'valid' },
      ],
      valid: 2,
      threshold: 2,
      met: true,
    });
    const widened: Signed = { ...signed, statement: { ...delegation, epochs: { from: 1, to: null } } };
    assert.equal(thresholdReport(widened, roots, 1).valid, 0);
    assert.deepEqual(brokenSignatures(widened), [keyIdOf(a), keyIdOf(c)]);
    assert.notEqual(statementDigest(widened.statement), statementDigest(delegation));
  });
});

describe('epoch ranges', () => {
  it('reads open-ended, closed and single-epoch ranges', () => {
    assert.deepEqual(parseEpochRange('3-'), { from: 3, to: null });
    assert.deepEqual(parseEpochRange('3-5'), { from: 3, to: 5 });
    assert.deepEqual(parseEpochRange(' 7 '), { from: 7, to: 7 });
    assert.deepEqual(parseEpochRange('0-0'), { from: 0, to: 0 });
  });

  it('refuses a backwards, negative or wordy range, naming it', () => {
    assert.throws(() => parseEpochRange('5-3'), /ends \(3\) before it starts \(5\)/);
    for (const bad of ['-3', 'a-b', '', '3--', '1.5-', '3-5-7', '9999999999999999-'])
      assert.throws(() => parseEpochRange(bad), /epochs must be FROM-/, bad);
  });
});

describe('expiry', () => {
  it('reads durations from now and dates as UTC', () => {
    assert.equal(parseExpiry('90d', NOW), NOW + 90 * DAY);
    assert.equal(parseExpiry('12h', NOW), NOW + 12 * 3_600_000);
    assert.equal(parseExpiry('2w', NOW), NOW + 14 * DAY);
    assert.equal(parseExpiry('1y', NOW), NOW + 365 * DAY);
    assert.equal(parseExpiry('2026-06-01', NOW), Date.parse('2026-06-01T00:00:00Z'));
    assert.equal(parseExpiry('2026-06-01T08:30', NOW), Date.parse('2026-06-01T08:30:00Z'));
    assert.equal(parseExpiry('2026-06-01T08:30:00+02:00', NOW), Date.parse('2026-06-01T06:30:00Z'));
  });

  it('refuses the past, more than ten years, an impossible date and anything else', () => {
    assert.throws(() => parseExpiry('2026-02-28', NOW), /not in the future/);
    assert.throws(() => parseExpiry('0d', NOW), /not in the future/);
    assert.throws(() => parseExpiry('11y', NOW), /more than 10 years/);
    assert.equal(parseExpiry('10y', NOW) - NOW <= MAX_EXPIRY_MS, true);
    assert.throws(() => parseExpiry('2026-13-45', NOW), /not a real date/);
    for (const bad of ['90', '90 days', 'soon', '-5d', '3m'])
      assert.throws(() => parseExpiry(bad, NOW), /a duration \(90d, 12h, 2w, 1y\) or a date/, bad);
  });
});

describe('root key lists', () => {
  it('takes commas, spaces, newlines and # comments', () => {
    const [ka, kb] = [keyIdOf(a), keyIdOf(b)];
    assert.deepEqual(parseRootKeyList(`${ka},${kb}`), [ka, kb]);
    assert.deepEqual(parseRootKeyList(`# alice\n${ka}  # laptop\n\n${kb}\n`), [ka, kb]);
    assert.throws(() => parseRootKeyList(`${ka},${ka}`), /listed twice/);
    assert.throws(() => parseRootKeyList(`${ka},abc`), /"abc" is not a root key id/);
  });
});

describe('delegation state', () => {
  it('covers an epoch in range until it expires or its key is revoked', () => {
    const closed = { ...delegation, epochs: { from: 3, to: 4 } };
    assert.equal(delegationState(delegation, 3, NOW, new Set()).covers, true);
    assert.equal(delegationState(delegation, 99, NOW, new Set()).covers, true, 'open-ended');
    assert.equal(delegationState(delegation, 2, NOW, new Set()).covers, false);
    assert.equal(delegationState(closed, 5, NOW, new Set()).covers, false);
    assert.deepEqual(delegationState(delegation, 3, delegation.expires, new Set()), {
      revoked: false,
      expired: true,
      covers: false,
    });
    assert.deepEqual(delegationState(delegation, 3, NOW, new Set([delegation.key])), {
      revoked: true,
      expired: false,
      covers: false,
    });
  });
});

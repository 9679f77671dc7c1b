import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, DEFAULT_LOGIN_LIMITS, loginKeys } from './login-limiter';
import { passwordProblem } from './passwords';

describe('login backoff', () => {
  it('lets the free tries through, then doubles the wait from 30 s up to 15 minutes', () => {
    const waits = [4, 5, 6, 7, 8, 9, 10, 40].map((n) => backoffMs(n, 5, DEFAULT_LOGIN_LIMITS) / 1000);
    assert.deepEqual(waits, [0, 30, 60, 120, 240, 480, 900, 900]);
  });

  it("counts a trusted browser's tries under its own key instead of the account's", () => {
    assert.deepEqual(
      loginKeys('Alice', '203.0.113.5', DEFAULT_LOGIN_LIMITS).map((k) => k.key),
      ['address:203.0.113.5', 'account:alice'],
    );
    assert.deepEqual(
      loginKeys('Alice', '203.0.113.5', DEFAULT_LOGIN_LIMITS, 'nonce123').map((k) => [k.key, k.limit]),
      [
        ['address:203.0.113.5', 20],
        ['browser:nonce123', 5],
      ],
    );
  });
});

describe('password rules', () => {
  it('refuses short, overlong, common (in any case) and name-holding passwords, and accepts a passphrase', () => {
    assert.match(passwordProblem('short')!, /at least 10/);
    assert.match(passwordProblem('x'.repeat(1001))!, /at most 1000/);
    for (const common of ['password123', 'Password123', 'QWERTYUIOP', '1q2w3e4r5t'])
      assert.match(passwordProblem(common)!, /common passwords/, common);
    assert.match(passwordProblem('sam.jones-2026!', 'sam.jones')!, /user name/);
    assert.equal(passwordProblem('correct horse battery', 'admin1'), undefined);
  });
});

// A start that fails names the component and the variable to change.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../common/config';
import { startingAs, StartupError, variableToChange } from './startup-errors';

describe('startup errors', () => {
  const config = loadConfig({
    DATA_DIR: '/srv/hs',
    DATABASE_URL: 'mysql://app:pw@db.example:3307/hs',
    REDIS_URL: 'redis://queue.example:6380',
  });

  it('tells the database from Redis by the port refused', () => {
    assert.equal(variableToChange({ code: 'ECONNREFUSED', address: '10.0.0.5', port: 3307 }, config), 'DATABASE_URL');
    assert.equal(variableToChange({ code: 'ECONNREFUSED', address: '10.0.0.6', port: 6380 }, config), 'REDIS_URL');
    assert.equal(variableToChange({ code: 'ECONNREFUSED', port: 9 }, config), undefined);
    assert.equal(variableToChange({ code: 'ER_ACCESS_DENIED_ERROR' }, config), 'DATABASE_URL');
  });

  it('names the folder variable of a path it could not use', () => {
    assert.equal(variableToChange({ code: 'EACCES', path: '/srv/hs/mirror/blobs' }, config), 'MIRROR_DATA_DIR');
    assert.equal(
      variableToChange({ code: 'EACCES', path: '/srv/hs/keys/feed-ed25519.key' }, config),
      'FEED_SIGNING_KEY',
    );
    assert.equal(variableToChange({ code: 'EROFS', path: path.join('/srv/hs', 'x') }, config), 'DATA_DIR');
  });

  it('wraps a failure with the component and the variable, and leaves named errors alone', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.6:6380'), {
      code: 'ECONNREFUSED',
      port: 6380,
    });
    await assert.rejects(
      startingAs('producer', config, () => Promise.reject(refused)),
      (error: unknown) =>
        error instanceof StartupError &&
        error.message === 'the producer could not start: connect ECONNREFUSED 10.0.0.6:6380; check REDIS_URL',
    );
    const named = new StartupError('already named', undefined);
    await assert.rejects(
      startingAs('mirror', config, () => Promise.reject(named)),
      (e) => e === named,
    );
  });
});

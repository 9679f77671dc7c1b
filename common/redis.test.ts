import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectRedis } from './redis';

describe('connectRedis', () => {
  it('connects to the one server of a URL', () => {
    const client = connectRedis('redis://:pw@127.0.0.1:6380/2', { lazyConnect: true });
    assert.equal(client.options.port, 6380);
    assert.equal(client.options.password, 'pw');
    assert.equal(client.options.db, 2);
    assert.equal(client.options.sentinels, null);
    client.disconnect();
  });

  it("asks the Sentinels for the master, with REDIS_URL's credentials and database but not its host", () => {
    const client = connectRedis(
      {
        url: 'rediss://hs:p%40ss@ignored.example:1/3',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
        ],
        masterName: 'site-a',
        sentinelPassword: 'spw',
      },
      { lazyConnect: true },
    );
    const o = client.options;
    assert.deepEqual(o.sentinels, [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
    ]);
    assert.equal(o.name, 'site-a');
    assert.equal(o.sentinelPassword, 'spw');
    assert.equal(o.username, 'hs');
    assert.equal(o.password, 'p@ss');
    assert.equal(o.db, 3);
    assert.deepEqual(o.tls, {});
    assert.equal(o.enableTLSForSentinelMode, true);
    assert.equal(o.failoverDetector, true);
    assert.equal(o.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")), 2);
    assert.equal(o.reconnectOnError?.(new Error('ERR wrong number of arguments')), false);
    client.disconnect();
  });

  it('refuses a target with neither a URL nor Sentinels', () => {
    assert.throws(() => connectRedis({}, {}), /set REDIS_URL or REDIS_SENTINELS/);
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { keyIdOf } from './trust/statements';
import { ConfigError, describeVariables, loadConfig, requireRedis } from './config';

const rootA = keyIdOf(generateKeyPairSync('ed25519').publicKey);
const rootB = keyIdOf(generateKeyPairSync('ed25519').publicKey);

describe('configuration', () => {
  it('works with no environment at all (the embedded quick start)', () => {
    const config = loadConfig({});
    assert.equal(config.appPort, 3000);
    assert.equal(config.proxyPort, 8080);
    assert.match(config.databaseUrl, /^sqlite:.*hyperstatic\.sqlite$/);
    assert.ok(Object.isFrozen(config));
  });

  it('keeps operator endpoints off the public tier unless an operator opens them', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.mirrorInternalPort, undefined);
    assert.equal(defaults.proxyInternalPort, undefined);
    assert.equal(defaults.mirrorAdminToken, '');
    assert.equal(defaults.proxyAdminToken, '');
    assert.equal(defaults.internalBindHost, '127.0.0.1');
    const opened = loadConfig({ MIRROR_INTERNAL_PORT: '9081', PROXY_INTERNAL_PORT: '0' });
    assert.equal(opened.mirrorInternalPort, 9081);
    assert.equal(opened.proxyInternalPort, 0);
  });

  it('names the variable that holds a bad value', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ APP_PORT: 'abc' }, 'APP_PORT', /integer/],
      [{ APP_PORT: '70000' }, 'APP_PORT', /between/],
      [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL', /mysql/],
      [{ DATABASE_URL: 'mysql://u:p@h:3306/' }, 'DATABASE_URL', /name a database/],
      [{ REDIS_URL: 'http://x' }, 'REDIS_URL', /redis:\/\//],
      [{ PROXY_UPSTREAMS: 'ftp://x' }, 'PROXY_UPSTREAMS', /http/],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of/],
      [{ PROXY_HEURISTIC_FACTOR: 'x' }, 'PROXY_HEURISTIC_FACTOR', /number/],
      [{ PROXY_MIN_TTL: '100', PROXY_MAX_TTL: '10' }, 'PROXY_MIN_TTL', /PROXY_MAX_TTL/],
      [{ PROXY_ACCESS_LOG: 'maybe' }, 'PROXY_ACCESS_LOG', /true or false/],
      [{ PROXY_PURGE_MODE: 'gentle' }, 'PROXY_PURGE_MODE', /hard or soft/],
      [{ REDIS_PREFIX: 'a b' }, 'REDIS_PREFIX', /letters/],
      [{ MIRROR_ROOT_KEYS: 'not-a-key' }, 'MIRROR_ROOT_KEYS', /"not-a-key" is not a root key id/],
      [{ MIRROR_ROOT_KEYS: `${rootA},${rootA}` }, 'MIRROR_ROOT_KEYS', /listed twice/],
      [
        { MIRROR_ROOT_KEYS: `${rootA},${rootB}`, MIRROR_ROOT_THRESHOLD: '3' },
        'MIRROR_ROOT_THRESHOLD',
        /only 2 root key/,
      ],
      [{ MIRROR_ROOT_THRESHOLD: '0' }, 'MIRROR_ROOT_THRESHOLD', /between 1 and 32/],
      [{ MIRROR_INTERNAL_PORT: 'internal' }, 'MIRROR_INTERNAL_PORT', /integer/],
      [{ PROXY_INTERNAL_PORT: '70000' }, 'PROXY_INTERNAL_PORT', /between/],
      [{ MIRROR_ADMIN_TOKEN: 'short' }, 'MIRROR_ADMIN_TOKEN', /at least 16 characters/],
      [{ PROXY_ADMIN_TOKEN: 'a token with spaces in it' }, 'PROXY_ADMIN_TOKEN', /no spaces/],
      [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY', /"true" is none of these/],
      [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY', /"10.0.0.0\/33"/],
      [{ TRUST_PROXY: '0' }, 'TRUST_PROXY', /between/],
    ];
    for (const [env, variable, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === variable &&
          message.test(error.message) &&
          error.message.startsWith(variable),
        variable,
      );
    }
  });

  it('reads TRUST_PROXY as express takes it: none by default, a hop count, or addresses and ranges', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,::1' }).trustProxy, [
      'loopback',
      '10.0.0.0/8',
      '::1',
    ]);
  });

  it('reads root keys inline or from a file, with the threshold defaulting to 1', () => {
    assert.deepEqual(loadConfig({}).mirrorRootKeys, [], 'no roots pinned: the legacy single key');
    const inline = loadConfig({ MIRROR_ROOT_KEYS: ` ${rootA}, ${rootB} ` });
    assert.deepEqual(inline.mirrorRootKeys, [rootA, rootB]);
    assert.equal(inline.mirrorRootThreshold, 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-roots-'));
    const file = path.join(dir, 'roots.txt');
    fs.writeFileSync(file, `# alice\n${rootA}\n# bob\n${rootB}\n`);
    try {
      const fromFile = loadConfig({ MIRROR_ROOT_KEYS: file, MIRROR_ROOT_THRESHOLD: '2' });
      assert.deepEqual([fromFile.mirrorRootKeys, fromFile.mirrorRootThreshold], [[rootA, rootB], 2]);
      fs.writeFileSync(file, `${rootA}\nnonsense\n`);
      assert.throws(
        () => loadConfig({ MIRROR_ROOT_KEYS: file }),
        /^ConfigError: MIRROR_ROOT_KEYS: "nonsense" .* \(in /,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('requires REDIS_URL for processes that cannot use the in-process queue', () => {
    assert.throws(() => requireRedis(loadConfig({}), 'app'), /REDIS_URL: is required for `hyperstatic app`/);
    assert.deepEqual(requireRedis(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }), 'app'), {
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('takes Redis Sentinels instead of REDIS_URL, with the master name and an optional password', () => {
    const config = loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, [::1]:26380,sentinel-3:26381' });
    assert.deepEqual(requireRedis(config, 'producer'), {
      url: undefined,
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 'sentinel-3', port: 26381 },
      ],
      masterName: 'mymaster',
      sentinelPassword: undefined,
    });
    const named = loadConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_MASTER: 'site-a',
      REDIS_SENTINEL_PASSWORD: 'pw',
      REDIS_URL: 'redis://:secret@ignored:6379/2',
    });
    assert.deepEqual(requireRedis(named, 'app'), {
      url: 'redis://:secret@ignored:6379/2',
      sentinels: [{ host: 's1', port: 26379 }],
      masterName: 'site-a',
      sentinelPassword: 'pw',
    });
    for (const bad of ['s1', 's1:0', 's1:70000', 'a b:1'])
      assert.throws(() => loadConfig({ REDIS_SENTINELS: bad }), /^ConfigError: REDIS_SENTINELS: expected host:port/);
    assert.throws(() => loadConfig({ REDIS_SENTINEL_MASTER: 'my master' }), /REDIS_SENTINEL_MASTER: use 1-64/);
  });

  it('reads MIRROR_FRAME_ANCESTORS as CSP sources, quoting the keywords, and refuses anything that could add a directive', () => {
    assert.equal(loadConfig({}).mirrorFrameAncestors, "'none'");
    assert.equal(loadConfig({ MIRROR_FRAME_ANCESTORS: "'none'" }).mirrorFrameAncestors, "'none'");
    assert.equal(
      loadConfig({ MIRROR_FRAME_ANCESTORS: 'self  https://partner.example' }).mirrorFrameAncestors,
      "'self' https://partner.example",
    );
    for (const bad of ['', 'none self', "'self'; script-src *", 'javascript:x', 'https://a.example/path'])
      assert.throws(
        () => loadConfig({ MIRROR_FRAME_ANCESTORS: bad }),
        /^ConfigError: MIRROR_FRAME_ANCESTORS: expected none/,
        bad,
      );
  });

  it('lists every variable with its default for --help', () => {
    const help = describeVariables();
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'APP_PORT', 'PROXY_UPSTREAMS', 'MIRROR_ORIGIN_URLS'])
      assert.match(help, new RegExp(`^  ${name} .*\\(default: `, 'm'));
  });
});

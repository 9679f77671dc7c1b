// The key ceremony (docs/trust.md, "Key ceremony") through the real
// `hyperstatic` executable on SQLite: three root holders, a 2-of-3
// delegation signed on "separate machines" (folders), checked, installed on
// the origin and listed; and each refusal exits non-zero naming the problem
// and changes nothing (no file written or rewritten, no row stored).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrateLatest } from '../../app/db/migrate';
import { loadTrustBundle } from '../../app/feed/trust-statements';
import { createDatabase, type Database } from '../../common/db/database';
import { runCli, type CliRun } from '../support/cli';
import { keyIdOf, parseSigned, type Delegation, type Signed } from '../../common/trust/statements';

describe('keys ceremony through the CLI', () => {
  let dir: string;
  let db: Database;
  let env: NodeJS.ProcessEnv;
  const roots: string[] = [];
  let siteKey: string;

  function cli(...args: string[]): Promise<CliRun> {
    return runCli(args, { cwd: dir, env });
  }

  async function ok(...args: string[]): Promise<string> {
    const res = await cli(...args);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  /** Runs a command that must fail: non-zero exit, the message on stderr. */
  async function refused(message: RegExp, ...args: string[]): Promise<CliRun> {
    const res = await cli(...args);
    assert.notEqual(res.code, 0, `${args.join(' ')} should fail; said ${res.stdout}`);
    assert.match(res.stderr, message);
    return res;
  }

  const file = (name: string) => path.join(dir, name);
  const statementRows = async () => Number((await db('trust_statements').count({ n: '*' }))[0].n);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-keys-cli-'));
    env = { ...process.env, DATA_DIR: path.join(dir, 'origin'), LOG_LEVEL: 'silent' };
    for (const name of [
      'DATABASE_URL',
      'DATABASE_NODES',
      'FEED_SIGNING_KEY',
      'MIRROR_ROOT_KEYS',
      'MIRROR_ROOT_THRESHOLD',
    ])
      delete env[name];
    fs.mkdirSync(path.join(dir, 'origin'));
    db = createDatabase(`sqlite:${path.join(dir, 'origin', 'hyperstatic.sqlite')}`);
    await migrateLatest(db);
  });

  after(async () => {
    await db?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('three holders make root keys, each owner-only, and the site key id is printed', async () => {
    const outs = await Promise.all(
      ['alice', 'bob', 'carol'].map((h) => ok('keys', 'root', 'init', '--out', `${h}/root.key`)),
    );
    for (const [i, holder] of ['alice', 'bob', 'carol'].entries()) {
      const id = /root key id: +(\S+)/.exec(outs[i])![1];
      assert.equal(fs.readFileSync(file(`${holder}/root.pub`), 'utf8'), `${id}\n`);
      assert.equal(fs.statSync(file(`${holder}/root.key`)).mode & 0o077, 0, 'the private root key is owner-only');
      assert.match(outs[i], /offline media/);
      roots.push(id);
    }
    const init = await ok('keys', 'init');
    siteKey = /site key id: +(\S+)/.exec(init)![1];
    assert.equal((await ok('keys', 'show')).trim(), siteKey);
  });

  test('a 2-of-3 delegation: made by one root, signed by a second, checked, installed and listed', async () => {
    const rootList = roots.join(',');
    const made = await ok(
      'keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '1-', '--expires', '20d',
      '--root-key', 'alice/root.key', '--out', 'primary.json', '--roots', rootList,
    ); // prettier-ignore
    assert.match(made, /may sign for "primary"/);
    const below = await refused(/1 valid root signature\(s\), 2 needed/, 'keys', 'check', 'primary.json', '--roots', rootList, '--threshold', '2'); // prettier-ignore
    assert.match(below.stdout, /result: DOES NOT MEET the threshold \(1 of 2\)/);

    assert.match(
      await ok('keys', 'sign', 'primary.json', '--root-key', 'bob/root.key', '--roots', rootList, '--threshold', '2'),
      /2 signature\(s\); 2 of 2 needed/,
    );
    const checked = await ok('keys', 'check', 'primary.json', '--roots', rootList, '--threshold', '2');
    assert.match(checked, /epochs: +1- \(1 and every later epoch\)/);
    assert.match(checked, /result: meets the threshold \(2 of 2\)/);
    assert.equal((checked.match(/ valid$/gm) ?? []).length, 2);

    assert.match(
      await ok('keys', 'install', 'primary.json', '--roots', rootList, '--threshold', '2'),
      /installed as statement #1/,
    );
    assert.match(await ok('keys', 'install', 'primary.json'), /already installed as #1 .*nothing changed/);
    const bundle = await loadTrustBundle(db);
    assert.equal(bundle.delegations.length, 1);
    assert.deepEqual(bundle.delegations[0], parseSigned(JSON.parse(fs.readFileSync(file('primary.json'), 'utf8'))));

    const list = await ok('keys', 'list');
    assert.match(list, /^current epoch: 1; this site's key: \S+ \(covered by #1\)$/m);
    assert.match(
      list,
      /^1 +delegation +primary +\S+ +1- +\S+ \S+ +2 +expires in 20 days, THIS SITE, covers the current epoch$/m,
    );
    assert.match(list, /^warning: delegation #1 \(primary, .*\) expires in 20 days: renew it/m);
    const json = JSON.parse(await ok('keys', 'list', '--json')) as { siteKeyCoveredBy: number[]; epoch: number };
    assert.deepEqual([json.epoch, json.siteKeyCoveredBy], [1, [1]]);
  });

  test('a standby delegated ahead for epoch 2- is listed, not covering epoch 1; a revoked key is marked and cannot be delegated again', async () => {
    const standby = keyIdOf(generateKeyPairSync('ed25519').publicKey); // created on the standby site
    await ok('keys', 'delegate', '--site-key', standby, '--site', 'standby', '--epochs', '2-', '--expires', '1y', '--root-key', 'carol/root.key', '--out', 'standby.json'); // prettier-ignore
    await ok('keys', 'install', 'standby.json');
    assert.match(await ok('keys', 'list'), /^2 +delegation +standby +\S+ +2- +\S+ \S+ +1 +expires in 365 days$/m);
    await ok('keys', 'revoke', '--site-key', standby, '--reason', 'laptop stolen', '--root-key', 'carol/root.key', '--out', 'revoke.json'); // prettier-ignore
    await ok('keys', 'sign', 'revoke.json', '--root-key', 'alice/root.key');
    await ok('keys', 'install', 'revoke.json', '--roots', roots.join(','), '--threshold', '2');
    const list = await ok('keys', 'list');
    assert.match(list, /^2 +delegation +standby +\S+ +2- .*REVOKED$/m);
    assert.match(list, /^3 +revocation +- +\S+ +- .*revokes: laptop stolen$/m);
    fs.rmSync(file('standby.json'));
    await ok('keys', 'delegate', '--site-key', standby, '--site', 'standby', '--epochs', '3-', '--expires', '1y', '--root-key', 'carol/root.key', '--out', 'standby.json'); // prettier-ignore
    await refused(/is revoked .*revocation is permanent/, 'keys', 'install', 'standby.json');
    assert.equal(await statementRows(), 3);
  });

  test('refuses to overwrite a root key, leaving it as it was', async () => {
    const before = fs.readFileSync(file('alice/root.key'));
    await refused(/exists; refusing to overwrite a root key/, 'keys', 'root', 'init', '--out', 'alice/root.key');
    assert.deepEqual(fs.readFileSync(file('alice/root.key')), before);
  });

  test('refuses a revocation without a reason and a delegation with backwards epochs, writing no file', async () => {
    await refused(
      /--reason/,
      'keys',
      'revoke',
      '--site-key',
      siteKey,
      '--root-key',
      'alice/root.key',
      '--out',
      'r.json',
    );
    await refused(/--reason: say why/, 'keys', 'revoke', '--site-key', siteKey, '--reason', '  ', '--root-key', 'alice/root.key', '--out', 'r.json'); // prettier-ignore
    await refused(/epochs 5-3: the range ends \(3\) before it starts \(5\)/, 'keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '5-3', '--expires', '90d', '--root-key', 'alice/root.key', '--out', 'e.json'); // prettier-ignore
    await refused(/expiry must be a duration/, 'keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '5-', '--expires', 'soon', '--root-key', 'alice/root.key', '--out', 'e.json'); // prettier-ignore
    assert.equal(fs.existsSync(file('r.json')) || fs.existsSync(file('e.json')), false);
  });

  test('refuses to sign with a key that is not a pinned root, leaving the file as it was', async () => {
    await ok('keys', 'root', 'init', '--out', 'mallory/root.key');
    const before = fs.readFileSync(file('primary.json'));
    await refused(/is not one of the pinned root keys; nothing was signed/, 'keys', 'sign', 'primary.json', '--root-key', 'mallory/root.key', '--roots', roots.join(',')); // prettier-ignore
    assert.deepEqual(fs.readFileSync(file('primary.json')), before);
  });

  test('refuses to install a statement below the threshold of the roots given, storing nothing', async () => {
    await ok('keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '1-', '--expires', '90d', '--root-key', 'alice/root.key', '--out', 'renewal.json'); // prettier-ignore
    const rows = await statementRows();
    await refused(/1 valid root signature\(s\); 2 needed/, 'keys', 'install', 'renewal.json', '--roots', roots.join(','), '--threshold', '2'); // prettier-ignore
    await refused(/a threshold of 4 cannot be met by 3 root key/, 'keys', 'install', 'renewal.json', '--roots', roots.join(','), '--threshold', '4'); // prettier-ignore
    assert.equal(await statementRows(), rows);
  });

  test('a statement edited after signing is refused by check, sign and install', async () => {
    const signed = JSON.parse(fs.readFileSync(file('primary.json'), 'utf8')) as Signed<Delegation>;
    signed.statement.epochs = { from: 0, to: null }; // widen what the roots agreed to
    fs.writeFileSync(file('tampered.json'), JSON.stringify(signed));
    const rows = await statementRows();
    const check = await refused(/0 valid root signature/, 'keys', 'check', 'tampered.json', '--roots', roots.join(','), '--threshold', '2'); // prettier-ignore
    assert.equal((check.stdout.match(/BAD SIGNATURE$/gm) ?? []).length, 2);
    await refused(/changed after it was signed/, 'keys', 'install', 'tampered.json');
    await refused(/changed after it was signed/, 'keys', 'sign', 'tampered.json', '--root-key', 'carol/root.key');
    assert.equal(await statementRows(), rows);
    assert.deepEqual(JSON.parse(fs.readFileSync(file('tampered.json'), 'utf8')), signed);
  });
});

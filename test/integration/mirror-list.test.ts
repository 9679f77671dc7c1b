// `hyperstatic mirrors` against real MariaDB and Redis, a running app and
// producer, and a real mirror pinning two of two root keys (docs/trust.md,
// "The mirror list"): bad input is refused naming the problem and changes
// nothing; add, list and remove keep the table and publish a newly signed
// list; the list reaches the mirror through the feed as /mirrors and
// /mirrors.json; the JSON verifies offline with the root key ids, and a
// tampered copy, or one checked against other roots, is refused.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initKeyPair, loadPrivateKey } from '../../app/feed/signing-keys';
import { installStatement } from '../../app/feed/trust-statements';
import { register } from '../../bin/commands/mirrors';
import { verifyMirrorList, type MirrorList } from '../../common/trust/mirror-list';
import { keyIdOf, signRootStatement, type Delegation, type Signed } from '../../common/trust/statements';
import { sharedRedisUrl } from '../harness/shared';
import { runCli, runCommand, setEnv, type CommandOutput } from '../support/cli';
import { eventually, startTestMirror, tempDir } from './mirror-helpers';
import { journalHead, page, startSite, type Site } from './producer-helpers';

const DAY = 86_400_000;
const roots = [generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey];
const ROOT_IDS = roots.map(keyIdOf).join(',');

function delegate(siteKey: KeyObject): Signed<Delegation> {
  const issued = Date.now() - 60_000;
  const statement: Delegation = {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: keyIdOf(siteKey),
    epochs: { from: 1, to: null },
    issued,
    expires: issued + 90 * DAY,
  };
  return roots.reduce((s, root) => signRootStatement(s, root), { statement, signatures: [] } as Signed<Delegation>);
}

describe('hyperstatic mirrors', { timeout: 90_000 }, () => {
  let site: Site;
  let dataDir: string;
  let restoreEnv = () => {};

  before(async () => {
    dataDir = tempDir('mirror-list');
    site = await startSite('mirror_list', await sharedRedisUrl(), { env: { DATA_DIR: dataDir } });
    const siteKey = loadPrivateKey(site.config.feedSigningKey);
    await installStatement(site.db, delegate(siteKey), { now: Date.now(), roots: roots.map(keyIdOf), threshold: 2 });
    restoreEnv = setEnv({
      DATA_DIR: dataDir,
      DATABASE_URL: site.config.databaseUrl,
      REDIS_URL: site.config.redisUrl,
      REDIS_PREFIX: site.config.redisPrefix,
      LOG_LEVEL: 'silent',
      MIRROR_ROOT_KEYS: '',
    });
  });
  after(async () => {
    restoreEnv();
    await site?.close();
  });

  function run(args: string[]): Promise<CommandOutput> {
    return runCommand(register, ['mirrors', ...args]);
  }

  async function snapshot() {
    return {
      head: await journalHead(site.db),
      rows: await site.db('mirror_list').orderBy('id').pluck('url'),
    };
  }

  async function liveList(): Promise<MirrorList> {
    return JSON.parse((await page(site.db, '/mirrors.json'))!.body) as MirrorList;
  }

  it('refuses bad input with a message naming the problem, and changes nothing', async () => {
    await run(['add', 'https://mirror-one.example/']);
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['add', 'ftp://files.example/site'], /url must start with https:\/\/ or http:\/\/; got ftp:/],
      [['add', 'mirror-two.example'], /url is not a URL: "mirror-two.example"/],
      [['add', 'https://user:secret@mirror-two.example/'], /url must not carry a user name or password/],
      [
        ['add', 'https://mirror-two.example/', '--kind', 'cdn'],
        /kind must be one of mirror, onion, static, bundle; got "cdn"/,
      ],
      [['add', 'https://mirror-two.example/', '--kind', 'onion'], /an onion entry needs an \.onion address/],
      [['add', `http://${'a'.repeat(56)}.onion/`], /is an \.onion address: use kind onion/],
      [['add', 'http://short.onion/', '--kind', 'onion'], /short\.onion is not a v3 onion address/],
      [['add', 'https://mirror-two.example/', '--region', 'x'.repeat(65)], /region is longer than 64 characters/],
      [['add', 'https://mirror-two.example/', '--note', 'two\nlines'], /note must be one line of text/],
      [['add', 'https://mirror-one.example'], /https:\/\/mirror-one\.example\/ is already in the list/],
      [['remove', 'https://never-listed.example/'], /https:\/\/never-listed\.example\/ is not in the list/],
    ];
    process.env.DATABASE_URL = site.shared.replicaUrl;
    try {
      await assert.rejects(run(['add', 'https://mirror-two.example/']), /the database \(DATABASE_URL\) is read-only/);
    } finally {
      process.env.DATABASE_URL = site.config.databaseUrl;
    }
    assert.deepEqual(await snapshot(), before, 'the standby refused and nothing changed');
    for (const [args, message] of cases) {
      await assert.rejects(run(args), message, args.join(' '));
      assert.deepEqual(await snapshot(), before, `${args.join(' ')} changed nothing`);
    }
    await run(['remove', 'https://mirror-one.example/']);
  });

  it('add, list and remove keep the table and publish a newly signed list each time', async () => {
    const onion = `http://${'b'.repeat(56)}.onion/`;
    const added = await run([
      'add',
      'https://mirror-eu.example',
      '--region',
      'EU',
      '--note',
      'run by a partner',
      '--by',
      'ops',
    ]);
    assert.match(
      added.out,
      /signed the list of 1 place\(s\) with key .+ at epoch 1; published \/mirrors and \/mirrors\.json/,
    );
    assert.equal(added.err, '', 'the key is delegated: no warning');
    await run(['add', onion, '--kind', 'onion']);
    const listed = JSON.parse((await run(['list', '--json'])).out) as { url: string; kind: string; addedBy: string }[];
    assert.deepEqual(
      listed.map((m) => [m.url, m.kind]),
      [
        ['https://mirror-eu.example/', 'mirror'],
        [onion, 'onion'],
      ],
    );
    assert.equal(listed[0].addedBy, 'ops');
    assert.match(
      (await run(['list'])).out,
      /URL\s+KIND\s+REGION[^\n]*\n-+.*\nhttps:\/\/mirror-eu\.example\/\s+mirror\s+EU\s+run by a partner/s,
    );
    const list = await liveList();
    assert.deepEqual(
      list.mirrors.map((m) => m.url),
      ['https://mirror-eu.example/', onion],
    );
    const html = (await page(site.db, '/mirrors'))!.body;
    assert.match(html, /<a href="https:\/\/mirror-eu\.example\/" rel="nofollow">/);
    assert.match(html, /Onion service \(Tor Browser\)/);
    assert.match(html, /<a href="\/mirrors\.json">/);

    await run(['remove', onion]);
    assert.deepEqual(
      (await liveList()).mirrors.map((m) => m.url),
      ['https://mirror-eu.example/'],
    );
    assert.doesNotMatch((await page(site.db, '/mirrors'))!.body, /\.onion/);
    const roots2 = { roots: new Set(roots.map(keyIdOf)), threshold: 2 };
    assert.equal(verifyMirrorList(await liveList(), roots2).list.mirrors.length, 1);
  });

  it('reaches a mirror through the feed; its JSON verifies offline with the root keys; a tampered copy is refused', async () => {
    const mirror = await startTestMirror({
      origins: [site.app.url],
      env: { MIRROR_ROOT_KEYS: ROOT_IDS, MIRROR_ROOT_THRESHOLD: '2', MIRROR_PUBLIC_KEY: '' },
    });
    try {
      await run(['add', 'https://static.example/site/', '--kind', 'static', '--region', 'Americas']);
      let served: MirrorList | undefined;
      await eventually(async () => {
        const res = await fetch(`${mirror.url}/mirrors.json`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
        served = (await res.json()) as MirrorList;
        assert.ok(served.mirrors.some((m) => m.url === 'https://static.example/site/'));
      }, 15_000);
      const mirrorsPage = await (await fetch(`${mirror.url}/mirrors`)).text();
      assert.match(mirrorsPage, /https:\/\/static\.example\/site\//);
      assert.match(
        await (await fetch(`${mirror.url}/mirrors`)).text(),
        /<a href="\/mirrors">Other places to read this site<\/a>/,
      );

      const dir = tempDir('mirror-list-verify');
      const file = path.join(dir, 'mirrors.json');
      fs.writeFileSync(file, JSON.stringify(served));
      const ok = await run(['verify', file, '--roots', ROOT_IDS, '--threshold', '2']);
      assert.match(ok.out, /^verified: the mirror list of http:\/\/localhost:8080, signed .* at epoch 1\n/);
      assert.match(ok.out, /static\thttps:\/\/static\.example\/site\/\tAmericas/);
      assert.match((await run(['verify', `${mirror.url}/mirrors.json`, '--roots', ROOT_IDS])).out, /^verified:/);
      const trust = `${mirror.url}/.well-known/hyperstatic/trust.json`;
      assert.match((await run(['verify', file, '--roots', ROOT_IDS, '--trust', trust])).out, /^verified:/);

      const tampered = structuredClone(served!);
      tampered.mirrors[tampered.mirrors.length - 1].url = 'https://attacker.example/';
      fs.writeFileSync(file, JSON.stringify(tampered));
      await assert.rejects(
        run(['verify', file, '--roots', ROOT_IDS]),
        /the mirror list's signature does not verify: it was changed after signing/,
      );
      const other = [generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey];
      fs.writeFileSync(file, JSON.stringify(served));
      await assert.rejects(
        run(['verify', file, '--roots', other.map(keyIdOf).join(','), '--threshold', '2']),
        /no delegation signed by 2 of the pinned root keys covers the signing key/,
      );

      // The real CLI, as a reader runs it: exit 1 and one line naming the problem.
      fs.writeFileSync(file, JSON.stringify(tampered));
      const cli = await runCli(['mirrors', 'verify', file, '--roots', ROOT_IDS], {
        env: { ...process.env, LOG_LEVEL: 'silent' },
      });
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /^hyperstatic: the mirror list's signature does not verify.*\(HS_TRUST_REFUSED\)\n$/);
      assert.equal(cli.stdout, '');
    } finally {
      await mirror.close();
    }
  });

  it('signs with an undelegated key, but warns that readers cannot verify the list until the key is delegated', async () => {
    const anchor = { roots: new Set(roots.map(keyIdOf)), threshold: 2 };
    process.env.FEED_SIGNING_KEY = initKeyPair(path.join(tempDir('mirror-list-key'), 'site.key')).privatePath;
    try {
      const { err } = await run(['sign']);
      assert.match(err, /warning: no installed delegation covers this site's key at epoch 1/);
      const list = await liveList();
      assert.throws(() => verifyMirrorList(list, anchor), /no delegation signed by 2 of the pinned root keys covers/);
    } finally {
      delete process.env.FEED_SIGNING_KEY;
    }
    await run(['sign']);
    assert.equal(verifyMirrorList(await liveList(), anchor).delegation.site, 'primary');
  });
});

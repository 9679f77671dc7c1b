// `hyperstatic bundle export`, `bundle verify` and `mirror --from-bundle`
// through the real executable, on a running embedded site: a whole-site
// bundle verifies against the pinned key and, once roots delegate the site
// key, against 2 of 3 root keys (and not against other roots); one byte
// changed, a symlink, a `..` path, a missing or extra file, another key and
// an expired heartbeat are each refused with a message naming the problem; a delta holds only what changed; a new mirror
// takes its copy from the bundle and then follows the feed (an article saved
// after the export reaches it); nginx from Debian's package serves the tree
// with the generated config: the right content types and 410 for a gone page.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metaFile, type BundleInfo } from '../../common/bundle-format';
import { publicKeyBase64, parsePublicKey } from '../../common/feed-format';
import { keyIdOf } from '../../common/trust/statements';
import { TrustState } from '../../common/trust/trust-state';
import { verifyBundle } from '../../mirrors/bundle/verify';
import { freePort } from '../harness/free-port';
import { waitFor } from '../harness/wait';
import { runCli, type CliRun } from '../support/cli';
import { startHyperstatic, type HyperstaticProcess } from '../support/processes';

const PATIENCE = 60_000;
const NGINX = '/usr/sbin/nginx';

describe('hyperstatic bundle', { timeout: 240_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-bundle-'));
  const dataDir = path.join(work, 'data');
  const publicKeyFile = path.join(dataDir, 'keys', 'feed-ed25519.pub');
  let site: HyperstaticProcess;
  let appUrl: string;
  let token: string;
  let bundle: string;
  let cursor: number;
  let delta: string;
  const env = () => ({ ...process.env, LOG_LEVEL: 'silent', DATA_DIR: dataDir });
  const cli = (args: string[]): Promise<CliRun> => runCli(args, { env: env() });
  const verify = (dir: string, extra: string[] = []) =>
    cli(['bundle', 'verify', dir, '--public-key', publicKeyFile, ...extra]);

  async function save(title: string): Promise<string> {
    return (await saveItem(title)).url;
  }

  async function saveItem(title: string): Promise<{ id: number; url: string }> {
    const res = await fetch(`${appUrl}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, body: '<p>Text</p>', status: 'published' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { id: number; url: string };
  }

  async function manifestHead(): Promise<{ cursor: number; text: string }> {
    const text = await (await fetch(`${appUrl}/manifest`)).text();
    return { cursor: (JSON.parse(text.split('\n')[0]) as { cursor: number }).cursor, text };
  }

  /** A copy of the bundle to damage. */
  function copyOf(label: string): string {
    const dir = path.join(work, label);
    fs.cpSync(bundle, dir, { recursive: true, verbatimSymlinks: true });
    return dir;
  }

  before(async () => {
    const appPort = await freePort();
    site = await startHyperstatic(
      ['all'],
      {
        DATA_DIR: dataDir,
        APP_PORT: String(appPort),
        MIRROR_PORT: String(await freePort()),
        PROXY_ACCESS_LOG: 'false',
      },
      { portVariable: 'PROXY_PORT', timeoutMs: PATIENCE },
    );
    appUrl = `http://127.0.0.1:${appPort}`;
    await waitFor(async () => (await fetch(`${appUrl}/manifest`)).ok, { what: 'the app', timeoutMs: PATIENCE });
    const created = await cli(['token', 'create', '--user', 'admin']);
    assert.equal(created.code, 0, created.stderr);
    token = created.stdout.trim();
    // A gone page: published, then hidden, so its tombstone is in the bundle.
    const hidden = await saveItem('Withdrawn story');
    const res = await fetch(`${appUrl}/api/moderation/articles/${hidden.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'hide', reason: 'withdrawn' }),
    });
    assert.equal(res.status, 200, await res.text());
    await waitFor(async () => (await manifestHead()).text.includes(`"path":"${hidden.url}","op":"gone"`), {
      what: 'the withdrawn story to be a tombstone',
      timeoutMs: PATIENCE,
    });
  });
  after(async () => {
    await site?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('exports the whole site and verifies it offline against the pinned key', async () => {
    bundle = path.join(work, 'bundle');
    const res = await cli(['bundle', 'export', bundle, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const info = JSON.parse(res.stdout) as BundleInfo & { files: number };
    cursor = info.cursor;
    assert.equal(info.since, 0);
    assert.equal(info.files, info.pages, 'every live page is a file');
    assert.ok(fs.statSync(path.join(bundle, 'index.html')).isFile());
    const manifest = fs.readFileSync(path.join(bundle, metaFile('manifest')), 'utf8');
    assert.match(manifest.split('\n')[0], new RegExp(`"cursor":${cursor}`));
    const ok = await verify(bundle);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      new RegExp(`verified .*: ${info.files} page files match the signed manifest of journal entry ${cursor}`),
    );
  });

  it('verifies up to root keys: a site key delegated by 2 of 3 roots, refused against other roots', async () => {
    const roots: string[] = [];
    for (const holder of ['alice', 'bob', 'carol']) {
      const made = await cli(['keys', 'root', 'init', '--out', path.join(work, holder, 'root.key')]);
      assert.equal(made.code, 0, made.stderr);
      roots.push(/root key id: +(\S+)/.exec(made.stdout)![1]);
    }
    const siteKey = (await cli(['keys', 'show'])).stdout.trim();
    const statement = path.join(work, 'primary.json');
    const steps = [
      ['keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '1-', '--expires', '30d', '--root-key', path.join(work, 'alice', 'root.key'), '--out', statement],
      ['keys', 'sign', statement, '--root-key', path.join(work, 'bob', 'root.key')],
      ['keys', 'install', statement, '--roots', roots.join(','), '--threshold', '2'],
    ]; // prettier-ignore
    for (const step of steps) {
      const res = await cli(step);
      assert.equal(res.code, 0, `${step.join(' ')}: ${res.stderr}`);
    }
    const rooted = path.join(work, 'rooted');
    const exported = await cli(['bundle', 'export', rooted]);
    assert.equal(exported.code, 0, exported.stderr);
    const ok = await cli(['bundle', 'verify', rooted, '--roots', roots.join(','), '--threshold', '2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /signed by a site key delegated by 2 of 3 root keys/);
    const strangers = await cli(['bundle', 'verify', rooted, '--roots', roots.slice(1).join(','), '--threshold', '2']);
    assert.equal(strangers.code, 1);
    assert.match(strangers.stderr, /manifest\.ndjson: wrong signature: no delegation names key/);
  });

  it('refuses one changed byte, naming the file', async () => {
    const dir = copyOf('tampered');
    const file = path.join(dir, 'index.html');
    const bytes = fs.readFileSync(file);
    bytes[100] ^= 1;
    fs.writeFileSync(file, bytes);
    const res = await verify(dir);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /index\.html \(\/\) was changed/);
  });

  it('refuses a symlink anywhere in the bundle', async () => {
    const dir = copyOf('symlink');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'news', 'passwd'));
    const res = await verify(dir);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /news\/passwd is a symlink/);
  });

  it('refuses a manifest path outside the bundle', async () => {
    const dir = copyOf('dotdot');
    const file = path.join(dir, metaFile('manifest'));
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1].replace(/"path":"[^"]*"/, '"path":"/../../etc/cron.d/x"');
    fs.writeFileSync(file, lines.join('\n'));
    const res = await verify(dir);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /manifest\.ndjson line 2: manifest line has an unsafe or missing path/);
    assert.match(res.stderr, /wrong signature/);
  });

  it('refuses a missing file and an extra one', async () => {
    const dir = copyOf('missing');
    fs.rmSync(path.join(dir, 'articles', 'index.html'));
    fs.writeFileSync(path.join(dir, 'planted.html'), '<script>alert(1)</script>');
    const res = await verify(dir);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /articles\/index\.html \(\/articles\) is missing/);
    assert.match(res.stderr, /planted\.html is not in the signed manifest/);
  });

  it('refuses a bundle signed by another key, and an nginx.conf changed after export', async () => {
    const stranger = publicKeyBase64(generateKeyPairSync('ed25519').publicKey);
    const res = await verify(bundle, ['--public-key', stranger]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /manifest\.ndjson: wrong signature: key .* is not the pinned key/);
    const dir = copyOf('nginx');
    fs.appendFileSync(path.join(dir, metaFile('nginx')), '# types { text/html js; }\n');
    const changed = await verify(dir);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /nginx\.conf was changed/);
  });

  it('refuses a bundle whose heartbeat has expired', async () => {
    const heartbeat = JSON.parse(fs.readFileSync(path.join(bundle, metaFile('heartbeat')), 'utf8')) as {
      validUntil: number;
    };
    const pinned = keyIdOf(parsePublicKey(fs.readFileSync(publicKeyFile, 'utf8')));
    await assert.doesNotReject(verifyBundle(bundle, new TrustState({ kind: 'pinned', key: pinned })));
    await assert.rejects(
      verifyBundle(bundle, new TrustState({ kind: 'pinned', key: pinned }), () => heartbeat.validUntil + 1),
      /heartbeat\.json expired at .*: the bundle is no longer vouched for/,
    );
  });

  it('exports only the changes since a cursor, and that delta verifies', async () => {
    const url = await save('Delta story');
    await waitFor(async () => (await manifestHead()).text.includes(`"path":"${url}"`), {
      what: 'the delta story to be rendered',
      timeoutMs: PATIENCE,
    });
    delta = path.join(work, 'delta');
    const res = await cli(['bundle', 'export', delta, '--since', String(cursor), '--json']);
    assert.equal(res.code, 0, res.stderr);
    const info = JSON.parse(res.stdout) as BundleInfo;
    assert.equal(info.since, cursor);
    assert.ok(info.files > 0 && info.files < info.pages, `${info.files} of ${info.pages} pages changed`);
    assert.ok(fs.existsSync(path.join(delta, url.slice(1), 'index.html')));
    const ok = await verify(delta);
    assert.equal(ok.code, 0, ok.stderr);
    const tooLate = await cli(['bundle', 'export', path.join(work, 'late'), '--since', '999999999']);
    assert.equal(tooLate.code, 1);
    assert.match(tooLate.stderr, /--since 999999999 is after the journal head/);
    assert.equal(fs.existsSync(path.join(work, 'late')), false, 'nothing written');
  });

  it('bootstraps a mirror from the bundle, which then follows the feed', async () => {
    const mirrorDir = path.join(work, 'mirror');
    const mirror = await startHyperstatic(
      ['mirror', '--from-bundle', bundle, '--origin', appUrl, '--data-dir', mirrorDir],
      { LOG_LEVEL: 'info', MIRROR_PUBLIC_KEY: publicKeyFile },
      { portVariable: 'MIRROR_PORT', timeoutMs: PATIENCE },
    );
    try {
      assert.match(mirror.output(), new RegExp(`"cursor":${cursor}.*loaded the copy from a bundle`));
      assert.doesNotMatch(mirror.output(), /bootstrapped from the origin manifest/);
      const url = await save('Saved after the export');
      await waitFor(async () => (await fetch(`${mirror.url}${url}`)).status === 200, {
        what: 'the article saved after the export on the mirror',
        timeoutMs: PATIENCE,
      });
    } finally {
      await mirror.stop();
    }
  });

  it('refuses to load a delta into a copy that lacks the pages before it', async () => {
    const res = await runCli(
      ['mirror', '--from-bundle', delta, '--origin', appUrl, '--data-dir', path.join(work, 'm3')],
      {
        env: { ...env(), MIRROR_PORT: String(await freePort()), MIRROR_PUBLIC_KEY: publicKeyFile },
      },
    );
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, new RegExp(`holds only changes after journal entry ${cursor}; this copy is at 0`));
  });

  it('refuses to start a mirror from a tampered bundle, writing nothing', async () => {
    const dir = copyOf('tampered-for-mirror');
    fs.appendFileSync(path.join(dir, 'index.html'), ' ');
    const mirrorDir = path.join(work, 'm2');
    const res = await runCli(['mirror', '--from-bundle', dir, '--origin', appUrl, '--data-dir', mirrorDir], {
      env: { ...env(), MIRROR_PORT: String(await freePort()), MIRROR_PUBLIC_KEY: publicKeyFile },
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /index\.html \(\/\) was changed/);
    const blobs = fs
      .readdirSync(path.join(mirrorDir, 'blobs'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile());
    assert.deepEqual(blobs, [], 'no page of the refused bundle reached the store');
  });

  it('is served by nginx with the generated config: content types and 410 for a gone page', async () => {
    assert.ok(fs.existsSync(NGINX), `nginx from Debian's package is installed at ${NGINX}`);
    const port = await freePort();
    const served = path.join(work, 'served');
    // Started as root, nginx's workers read files as `nobody`: the tree must be readable by others, as on a host.
    fs.chmodSync(work, 0o755);
    const res = await cli(['bundle', 'export', served, '--nginx-listen', `127.0.0.1:${port}`]);
    assert.equal(res.code, 0, res.stderr);
    const nginx = await startNginx(path.join(work, 'nginx'), path.join(served, metaFile('nginx')), port);
    try {
      const base = `http://127.0.0.1:${port}`;
      const home = await fetch(`${base}/`);
      assert.equal(home.status, 200);
      assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(await home.text(), fs.readFileSync(path.join(served, 'index.html'), 'utf8'));
      const rss = await fetch(`${base}/feeds/site.rss.xml`);
      assert.equal(rss.headers.get('content-type'), 'application/rss+xml; charset=utf-8');
      const articles = await fetch(`${base}/articles`);
      assert.equal(articles.status, 200);
      const gone = fs
        .readFileSync(path.join(served, metaFile('manifest')), 'utf8')
        .split('\n')
        .map((l) => (l ? (JSON.parse(l) as { op?: string; path?: string }) : {}))
        .find((p) => p.op === 'gone');
      assert.ok(gone?.path, 'the site has a gone page');
      const tombstone = await fetch(`${base}${gone.path}`);
      assert.equal(tombstone.status, 410);
      assert.equal(tombstone.headers.get('content-type'), 'text/html; charset=utf-8');
    } finally {
      nginx.kill('SIGTERM');
    }
  });
});

/** nginx as this user, in the foreground, with the bundle's server block included in its http block. */
async function startNginx(prefix: string, include: string, port: number): Promise<ChildProcess> {
  fs.mkdirSync(prefix, { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  const temp = (name: string) => `${name}_temp_path ${path.join(prefix, name)};`;
  fs.writeFileSync(
    conf,
    [
      'daemon off;',
      `pid ${path.join(prefix, 'nginx.pid')};`,
      'error_log stderr;',
      'events {}',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `  ${temp(n)}`),
      `  include ${include};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(NGINX, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${errors}`);
        const res = await fetch(`http://127.0.0.1:${port}/`);
        if (!res.ok) throw new Error(`nginx answered ${res.status}: ${errors}`);
        return true;
      },
      { what: 'nginx to serve the bundle', timeoutMs: 10_000 },
    );
  } catch (error) {
    // Not left running when it never answered.
    child.kill('SIGTERM');
    throw error;
  }
  return child;
}

// `hyperstatic backup` / `hyperstatic restore` on the embedded site, through
// the real executable: a backup taken while editors save is exactly the site
// at the journal entry it names; a backup of a quiet site restores into a
// fresh data folder that starts and serves the same site (the same signed
// manifest, byte for byte, the same pages and media); the archive and the
// private key are never readable by others; and bad input (a missing file, a
// damaged or foreign archive, a non-empty target, an existing --out, a
// MariaDB site) is refused with a message naming it, changing nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createDatabase, type Database } from '../../common/db/database';
import { freePort } from '../harness/free-port';
import { waitFor } from '../harness/wait';
import { runCli, type CliRun } from '../support/cli';
import { HyperstaticProcess, startHyperstatic } from '../support/processes';

// First renders of the sample site share two cores with everything else.
const PATIENCE = 60_000;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
}

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const res = await cli(args, env);
  assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

interface Site {
  process: HyperstaticProcess;
  appUrl: string;
  publicUrl: string;
}

async function startSite(dataDir: string): Promise<Site> {
  const [appPort, mirrorPort] = [await freePort(), await freePort()];
  const env = {
    DATA_DIR: dataDir,
    APP_PORT: String(appPort),
    MIRROR_PORT: String(mirrorPort),
    PROXY_ACCESS_LOG: 'false',
  };
  const process = await startHyperstatic(['all'], env, { portVariable: 'PROXY_PORT', timeoutMs: PATIENCE });
  return { process, appUrl: `http://127.0.0.1:${appPort}`, publicUrl: process.url };
}

async function manifest(site: Site): Promise<{ text: string; cursor: number }> {
  const text = await (await fetch(`${site.appUrl}/manifest`)).text();
  return { text, cursor: (JSON.parse(text.split('\n')[0]) as { cursor: number }).cursor };
}

/** path → "op sha256" of every live page in a manifest. */
function pagesOf(text: string): Map<string, string> {
  const pages = new Map<string, string>();
  for (const line of text.trim().split('\n').slice(1, -1)) {
    const p = JSON.parse(line) as { path: string; op: string; sha256: string };
    pages.set(p.path, `${p.op} ${p.sha256}`);
  }
  return pages;
}

/** The live pages as they were at journal entry `head`, replayed from the journal of `db`. */
async function pagesAt(db: Database, head: number): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  for (const e of (await db('journal').where('seq', '<=', head).orderBy('seq')) as {
    path: string;
    op: string;
    sha256: string;
  }[]) {
    if (e.op === 'delete') pages.delete(e.path);
    else if (e.op === 'put' || e.op === 'gone') pages.set(e.path, `${e.op} ${e.sha256}`);
  }
  return pages;
}

/** Every entry under `dir` with its size and mode, to show a refused command changed nothing. */
function snapshot(dir: string): string[] {
  if (!fs.existsSync(dir)) return ['(absent)'];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      const st = fs.statSync(file);
      return `${path.relative(dir, file)} ${st.size} ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`;
    })
    .sort();
}

describe('hyperstatic backup and restore (embedded mode)', () => {
  let dir: string;
  let origin: Site;
  let token: string;
  let originDb: Database;
  const restored: Site[] = [];
  const data = (name: string) => path.join(dir, name);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-backup-'));
    origin = await startSite(data('site'));
    token = (
      await waitFor(() => /API token for admin: (hs_\S+)/.exec(origin.process.output()) ?? undefined, {
        what: 'the banner with a token',
        timeoutMs: PATIENCE,
      })
    )[1];
    const png = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#c04020' } })
      .png()
      .toBuffer();
    const upload = await fetch(`${origin.appUrl}/api/media?name=photo.png`, {
      method: 'POST',
      body: png,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    });
    assert.equal(upload.status, 201, await upload.clone().text());
    // Media go public with the first published item that shows them (app/media/shown-media.ts).
    const shown = await fetch(`${origin.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        title: 'The photo',
        body: '<p>p</p>',
        leadImage: ((await upload.json()) as { sha256: string }).sha256,
        leadImageAlt: 'photo',
        status: 'published',
      }),
    });
    assert.equal(shown.status, 201, await shown.clone().text());
    originDb = createDatabase(`sqlite:${data('site/hyperstatic.sqlite')}`);
  });

  after(async () => {
    for (const site of [origin, ...restored]) await site?.process.kill();
    await originDb?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const publish = (title: string) =>
    fetch(`${origin.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title, body: `<p>${title}</p>`, status: 'published' }),
    });

  it('copies the site as it was at one journal entry while editors keep saving', async () => {
    let writing = true;
    const urls = new Map<string, string>();
    const writer = (async () => {
      while (writing) {
        const title = `Saved during the backup ${urls.size}`;
        const res = await publish(title);
        assert.equal(res.status, 201, await res.clone().text());
        urls.set(title, ((await res.json()) as { url: string }).url);
      }
    })();
    await waitFor(() => urls.size >= 3 || undefined, { what: 'the first saves', timeoutMs: PATIENCE });
    const summary = JSON.parse(
      await ok(['backup', '--out', data('busy.tar.gz'), '--data-dir', data('site'), '--json']),
    ) as { journalHead: number; pages: number; files: number };
    const savedDuringBackup = urls.size;
    await waitFor(() => urls.size >= savedDuringBackup + 3 || undefined, { what: 'saves after the backup' });
    writing = false;
    await writer;
    assert.equal(fs.statSync(data('busy.tar.gz')).mode & 0o777, 0o600, 'the archive holds the private key');

    await ok(['restore', data('busy.tar.gz'), '--data-dir', data('busy')]);
    assert.equal(fs.statSync(data('busy/keys/feed-ed25519.key')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(data('busy/keys')).mode & 0o777, 0o700);
    const copyDb = createDatabase(`sqlite:${data('busy/hyperstatic.sqlite')}`);
    let titles: string[];
    try {
      const state = await copyDb('cluster_state').first('journal_head');
      assert.equal(Number(state.journal_head), summary.journalHead);
      // Saves are rendered after they are answered: wait for the journal to pass the backup's entry.
      await waitFor(async () => ((await manifest(origin)).cursor > summary.journalHead ? true : undefined), {
        what: 'the site writing on after the backup',
        timeoutMs: PATIENCE,
      });
      const journal = (db: Database) => db('journal').where('seq', '<=', summary.journalHead).orderBy('seq');
      assert.deepEqual(await journal(copyDb), await journal(originDb), 'the same history up to that entry');
      assert.equal(Number((await copyDb('journal').max({ n: 'seq' }))[0].n), summary.journalHead, 'and nothing after');
      const pages = new Map<string, string>();
      for (const p of (await copyDb('pages').whereNot('op', 'delete')) as {
        path: string;
        op: string;
        sha256: string;
      }[])
        pages.set(p.path, `${p.op} ${p.sha256}`);
      assert.deepEqual(pages, await pagesAt(originDb, summary.journalHead), 'the pages as they were at that entry');
      assert.equal(pages.size, summary.pages);
      titles = ((await copyDb('articles').whereLike('title', 'Saved during the backup %')) as { title: string }[]).map(
        (a) => a.title,
      );
    } finally {
      await copyDb.destroy();
    }
    assert.ok(titles.length >= 3 && titles.length < urls.size, `holds the saves made before it (${titles.length})`);

    // Saves the copy holds whose renders had not run yet are rendered by the restored site (its outbox).
    const site = await startSite(data('busy'));
    restored.push(site);
    await waitFor(
      async () => {
        const served = pagesOf((await manifest(site)).text);
        return titles.every((t) => served.get(urls.get(t)!)?.startsWith('put ')) || undefined;
      },
      { what: 'every save in the backup served by the restored site', timeoutMs: PATIENCE, intervalMs: 500 },
    );
    assert.equal(await site.process.stop(), 0);
  });

  it('restores a quiet site into a fresh folder that serves the same site, signed by the same key', async () => {
    // Quiet: the renders of the saves above are done when the head stops moving.
    let last = -1;
    await waitFor(
      async () => {
        const { cursor } = await manifest(origin);
        const still = cursor === last;
        last = cursor;
        return still || undefined;
      },
      { what: 'the journal head to settle', timeoutMs: PATIENCE, intervalMs: 1500 },
    );
    await ok(['backup', '--out', data('quiet.tar.gz')], { DATA_DIR: data('site') });
    await ok(['restore', data('quiet.tar.gz'), '--data-dir', data('fresh')]);
    const site = await startSite(data('fresh'));
    restored.push(site);
    const [mine, theirs] = [await manifest(origin), await manifest(site)];
    assert.equal(theirs.text, mine.text, 'the same pages, hashes and cursor, and the same signature over them');

    const photo = (await originDb('media').first('path', 'rendition_path')) as { path: string; rendition_path: string };
    for (const page of ['/', photo.path, photo.rendition_path]) {
      const served = await waitFor(
        async () => {
          const res = await fetch(`${site.publicUrl}${page}`);
          return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
        },
        { what: `${page} through the restored site's mirror and proxy`, timeoutMs: PATIENCE },
      );
      const original = Buffer.from(await (await fetch(`${origin.publicUrl}${page}`)).arrayBuffer());
      assert.ok(served.equals(original), `${page} is served byte for byte as the original serves it`);
    }
    assert.ok(fs.existsSync(data(`fresh/media/${path.basename(photo.path).replace(/\.\w+$/, '')}`)));
    assert.equal(await site.process.stop(), 0);
  });

  it('refuses a missing file, a damaged or foreign archive and a non-empty target, changing nothing', async () => {
    const good = data('quiet.tar.gz');
    const damaged = data('damaged.tar.gz');
    const bytes = fs.readFileSync(good);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    const truncated = data('truncated.tar.gz');
    fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, 2000));
    const foreign = data('foreign.tar.gz');
    fs.mkdirSync(data('foreign-src'));
    fs.writeFileSync(data('foreign-src/notes.txt'), 'not a backup');
    await new Promise<void>((resolve, reject) =>
      spawn('tar', ['-czf', foreign, '-C', data('foreign-src'), 'notes.txt']).once('close', (c) =>
        c === 0 ? resolve() : reject(new Error(`tar ${c}`)),
      ),
    );
    const cases: [string[], RegExp][] = [
      [['restore', data('missing.tar.gz'), '--data-dir', data('t')], /missing\.tar\.gz: no such file/],
      [['restore', damaged, '--data-dir', data('t')], /damaged\.tar\.gz is not a readable backup archive|damaged/],
      [['restore', truncated, '--data-dir', data('t')], /truncated\.tar\.gz is not a readable backup archive/],
      [['restore', foreign, '--data-dir', data('t')], /foreign\.tar\.gz failed verification.*not a hyperstatic backup/],
      [['restore', good, '--data-dir', data('fresh')], /fresh is not empty .*--force/],
      [['restore', good], /required option '--data-dir <dir>' not specified/],
    ];
    for (const [args, message] of cases) {
      const before = [snapshot(data('t')), snapshot(data('fresh')), fs.readdirSync(dir).sort()];
      const res = await cli(args);
      assert.notEqual(res.code, 0, `${args.join(' ')} should fail`);
      assert.match(res.stderr, message);
      assert.deepEqual([snapshot(data('t')), snapshot(data('fresh')), fs.readdirSync(dir).sort()], before);
    }

    const archive = fs.readFileSync(good);
    const existing = await cli(['backup', '--out', good, '--data-dir', data('site')]);
    assert.notEqual(existing.code, 0);
    assert.match(existing.stderr, /quiet\.tar\.gz already exists; a backup never overwrites a file/);
    assert.ok(fs.readFileSync(good).equals(archive));
    const mariadb = await cli(['backup', '--out', data('db.tar.gz')], {
      DATA_DIR: data('site'),
      DATABASE_URL: 'mysql://u:p@127.0.0.1:1/hyperstatic',
    });
    assert.notEqual(mariadb.code, 0);
    assert.match(mariadb.stderr, /DATABASE_URL is MariaDB\/MySQL.*mariabackup or mariadb-dump/);
    assert.ok(!fs.existsSync(data('db.tar.gz')));
    const empty = await cli(['backup', '--out', data('empty.tar.gz'), '--data-dir', data('empty')]);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /no database at .*empty\/hyperstatic\.sqlite: is DATA_DIR \(or DATABASE_URL\) right\?/);
    assert.ok(!fs.existsSync(data('empty.tar.gz')));

    // --force replaces the database, media, keys and the mirror copy (ahead of the restored journal).
    const forced = await ok(['restore', good, '--data-dir', data('fresh'), '--force']);
    assert.match(forced, /replaced hyperstatic\.sqlite, .*keys, .*mirror/);
    assert.ok(!fs.existsSync(data('fresh/mirror')));
    assert.equal(fs.statSync(data('fresh/keys/feed-ed25519.key')).mode & 0o777, 0o600);
  });
});

// The compiled build (`npm run build`, docs/operations.md "Install"): an
// install made the way production makes one (the build in dist/, only the
// production dependencies: no tsx, no TypeScript) runs the CLI, the embedded
// site and the proxy's cluster workers with no TypeScript loader; and the
// launcher's rule picks compiled code or the sources predictably.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDir } from '../harness/cleanup';
import { freePort } from '../harness/free-port';
import { waitFor } from '../harness/wait';
import { HyperstaticProcess, startHyperstatic } from '../support/processes';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const LAUNCHER = path.join(ROOT, 'bin', 'hyperstatic.js');
// First renders of the sample site share two cores with everything else.
const PATIENCE = 60_000;

/** Links every package `npm ci --omit=dev` would install (package-lock.json entries not marked dev) into `dir`. */
function linkProductionDependencies(dir: string): void {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key)?.[1];
    if (!name || entry.dev) continue;
    const installed = path.join(ROOT, 'node_modules', name);
    if (!fs.existsSync(installed)) continue; // an optional package for another platform
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.symlinkSync(installed, path.join(dir, name), 'dir');
  }
}

/**
 * A module preloaded with --require that records, when its process exits, the
 * node options and every module the process loaded: one JSON file per process
 * (cluster workers inherit the option), so a loader cannot hide.
 */
function writeProbe(file: string, outDir: string): void {
  fs.writeFileSync(
    file,
    `'use strict';
process.on('exit', () => {
  require('node:fs').writeFileSync(
    require('node:path').join(${JSON.stringify(outDir)}, process.pid + '.json'),
    JSON.stringify({ execArgv: process.execArgv, modules: Object.keys(require.cache) }),
  );
});
`,
  );
}

interface Loaded {
  readonly execArgv: string[];
  readonly modules: string[];
}

function readProbes(dir: string): Loaded[] {
  const loaded = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Loaded);
  for (const file of fs.readdirSync(dir)) fs.rmSync(path.join(dir, file));
  return loaded;
}

function assertNoTypeScript(loaded: Loaded[]): void {
  assert.ok(loaded.length > 0, 'no process reported what it loaded');
  for (const { execArgv, modules } of loaded) {
    assert.ok(!execArgv.some((a) => /tsx/.test(a)), `node options ${execArgv.join(' ')}`);
    const typescript = modules.filter(
      (m) => /\.[cm]?ts$/.test(m) || /[/\\]node_modules[/\\](tsx|esbuild|typescript)[/\\]/.test(m),
    );
    assert.deepEqual(typescript, [], 'TypeScript sources or a TypeScript loader were loaded');
  }
}

describe('the compiled build, installed without dev dependencies', () => {
  let temp: string;
  let install: string;
  let cli: string;
  let probe: string;
  let probes: string;
  const env = { NODE_ENV: '', NODE_OPTIONS: '', LOG_LEVEL: 'warn', PROXY_ACCESS_LOG: 'false' };

  before(async () => {
    temp = makeTempDir('build');
    install = path.join(temp, 'hyperstatic');
    await run(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--out-dir', path.join(install, 'dist')], {
      timeout: 300_000,
    });
    fs.mkdirSync(path.join(install, 'bin'));
    cli = path.join(install, 'bin', 'hyperstatic.js');
    fs.copyFileSync(LAUNCHER, cli);
    linkProductionDependencies(path.join(install, 'node_modules'));
    probe = path.join(temp, 'probe.js');
    probes = path.join(temp, 'probes');
    fs.mkdirSync(probes);
    writeProbe(probe, probes);
  });
  after(() => removeTempDir(temp));

  it('holds compiled JavaScript and the files it reads at run time, and no tests or sources', () => {
    const files = fs.readdirSync(path.join(install, 'dist'), { recursive: true, encoding: 'utf8' });
    for (const file of [
      'bin/cli.js',
      'cache-proxy/worker.js',
      'app/ui/templates/login.njk',
      'app/ui/static/editor.js',
      'app/ui/static/rich-editor.js',
      'producer/templates/article.njk',
      'producer/templates/site.css',
      'fixtures/sample-site.json',
    ])
      assert.ok(files.includes(file), `dist/${file} is missing`);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') || f.includes('.test.') || f === 'bin/hyperstatic.js'),
      [],
    );
  });

  it('runs `hyperstatic --help` and `help db` with no TypeScript loader', async () => {
    for (const args of [['--help'], ['help', 'db']]) {
      const { stdout } = await run(process.execPath, ['--require', probe, cli, ...args], {
        env: { ...process.env, ...env },
      });
      assert.match(stdout, /^Usage: hyperstatic /m, args.join(' '));
      assertNoTypeScript(readProbes(probes));
    }
  });

  describe('`hyperstatic all` and a multi-core proxy in front of its mirror', () => {
    let all: HyperstaticProcess | undefined;
    let proxy: HyperstaticProcess | undefined;
    after(async () => {
      await proxy?.kill();
      await all?.kill();
    });

    it('serve the public site and the editor, and every process ran compiled code alone', async () => {
      const [appPort, mirrorPort] = [await freePort(), await freePort()];
      all = await startHyperstatic(
        ['all'],
        { ...env, DATA_DIR: path.join(temp, 'data'), APP_PORT: String(appPort), MIRROR_PORT: String(mirrorPort) },
        { cli, nodeArgs: ['--require', probe], portVariable: 'PROXY_PORT', timeoutMs: PATIENCE },
      );
      const home = await waitFor(
        async () => {
          const res = await fetch(`${all!.url}/`);
          return res.status === 200 ? res.text() : undefined;
        },
        { what: 'the home page through the embedded proxy', timeoutMs: PATIENCE },
      );
      assert.match(home, /<html/i);
      const appUrl = `http://127.0.0.1:${appPort}`;
      const login = await fetch(`${appUrl}/editor/login`);
      assert.equal(login.status, 200);
      assert.match(await login.text(), /<form/i, 'the editor renders its templates from dist/');
      assert.equal((await fetch(`${appUrl}/editor/static/editor.css`)).status, 200);
      assert.equal((await fetch(`${appUrl}/editor/static/rich-editor.js`)).status, 200, 'the bundled editor script');

      proxy = await startHyperstatic(
        ['proxy'],
        { ...env, LOG_LEVEL: 'info', PROXY_WORKERS: '2', PROXY_UPSTREAMS: `http://127.0.0.1:${mirrorPort}` },
        { cli, nodeArgs: ['--require', probe], portVariable: 'PROXY_PORT', timeoutMs: PATIENCE },
      );
      assert.equal(await (await fetch(`${proxy.url}/`)).text(), home);
      // The first worker answers before the second has started; the primary handles SIGTERM only after both.
      await waitFor(() => proxy!.output().includes('cache proxy cluster listening'), {
        what: 'both proxy workers',
        timeoutMs: PATIENCE,
      });

      assert.equal(await proxy.stop(), 0, proxy.output());
      assert.equal(await all.stop(), 0, all.output());
      const loaded = readProbes(probes);
      assertNoTypeScript(loaded);
      // The embedded process, the proxy's primary and its two workers.
      assert.equal(loaded.length, 4, JSON.stringify(loaded.map((l) => l.modules.filter((m) => m.includes('dist')))));
      const workers = loaded.filter((l) => l.modules.includes(path.join(install, 'dist', 'cache-proxy', 'worker.js')));
      assert.equal(workers.length, 2, 'both proxy workers run dist/cache-proxy/worker.js');
    });
  });
});

describe('which code bin/hyperstatic.js runs', () => {
  let tree: string;
  const launch = (env: Record<string, string>) =>
    run(process.execPath, [path.join(tree, 'bin', 'hyperstatic.js')], {
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });

  before(() => {
    // A checkout in miniature: sources that say "sources", a build that says "compiled".
    tree = makeTempDir('launcher');
    fs.mkdirSync(path.join(tree, 'bin'));
    fs.copyFileSync(LAUNCHER, path.join(tree, 'bin', 'hyperstatic.js'));
    fs.writeFileSync(path.join(tree, 'bin', 'cli.ts'), "const ran: string = 'sources';\nprocess.stdout.write(ran);\n");
    fs.mkdirSync(path.join(tree, 'dist', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'dist', 'bin', 'cli.js'), "process.stdout.write('compiled');\n");
    fs.mkdirSync(path.join(tree, 'node_modules'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'tsx'), path.join(tree, 'node_modules', 'tsx'), 'dir');
  });
  after(() => removeTempDir(tree));

  it('runs the sources through tsx in development, even when a build exists', async () => {
    assert.equal((await launch({ NODE_ENV: '' })).stdout, 'sources');
    assert.equal((await launch({ NODE_ENV: 'development' })).stdout, 'sources');
  });

  it('runs the build with NODE_ENV=production, or when tsx is not installed', async () => {
    assert.equal((await launch({ NODE_ENV: 'production' })).stdout, 'compiled');
    fs.renameSync(path.join(tree, 'node_modules'), path.join(tree, 'node_modules.off'));
    try {
      assert.equal((await launch({ NODE_ENV: '' })).stdout, 'compiled');
    } finally {
      fs.renameSync(path.join(tree, 'node_modules.off'), path.join(tree, 'node_modules'));
    }
  });

  it('stops with exit status 2 and names `npm run build` when production has no build', async () => {
    fs.rmSync(path.join(tree, 'dist'), { recursive: true });
    await assert.rejects(launch({ NODE_ENV: 'production' }), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? '', /no compiled build at .*dist.*Run `npm run build`/);
      return true;
    });
  });
});

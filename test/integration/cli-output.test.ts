// What an operator sees from the real executable: help that fits the command,
// quiet exits on closed pipes, JSON errors for --json, log lines with level
// names, and the first start's credentials set apart after the log lines.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { variableNames } from '../../common/config';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return collect(spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }));
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-cli-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the CLI on a closed pipe', () => {
  for (const args of [['--help'], ['db', '--help'], ['help', 'env']]) {
    it(`\`hyperstatic ${args.join(' ')} | head -1\` exits cleanly with no stack trace`, async () => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the CLI (which takes a moment to load) writes a byte: every write meets EPIPE.
      child.stdout.destroy();
      const run = await collect(child);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
    });
  }
});

describe('help', () => {
  it("a command's --help lists its own flags and only the variables it reads", async () => {
    const run = await cli(['proxy', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /--upstream <urls>/);
    assert.match(run.stdout, /^ {2}PROXY_CACHE_BYTES /m);
    assert.match(run.stdout, /^ {2}LOG_LEVEL /m);
    assert.doesNotMatch(run.stdout, /DATABASE_URL|APP_PORT|MIRROR_ORIGIN_URLS/);
    assert.match(run.stdout, /hyperstatic help env/);

    const status = await cli(['db', 'status', '--help']);
    assert.match(status.stdout, /--json/);
    assert.match(status.stdout, /^ {2}DATABASE_ADMIN_USER /m);
    assert.doesNotMatch(status.stdout, /PROXY_/);
  });

  it('`help env` lists every variable; the top-level help points to it', async () => {
    const run = await cli(['help', 'env']);
    assert.equal(run.code, 0, run.stderr);
    for (const name of variableNames()) assert.match(run.stdout, new RegExp(`^ {2}${name} `, 'm'), name);
    const top = await cli(['--help']);
    assert.match(top.stdout, /hyperstatic help env/);
    assert.doesNotMatch(top.stdout, /PROXY_CACHE_BYTES/);
  });
});

describe('--json errors', () => {
  it('`db status --json` on the embedded SQLite site answers a JSON error and exits 1', async () => {
    const run = await cli(['db', 'status', '--json'], { DATA_DIR: tempDir(), DATABASE_URL: '', DATABASE_NODES: '' });
    assert.equal(run.code, 1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.match(error.message, /SQLite has no replicas/);
    assert.equal(run.stderr, '');
  });

  it('a configuration error and an unknown flag are JSON too, naming the variable and the flag', async () => {
    const bad = await cli(['db', 'status', '--json'], { PROXY_CACHE_BYTES: 'lots' });
    assert.equal(bad.code, 2);
    assert.deepEqual(JSON.parse(bad.stdout).error.variable, 'PROXY_CACHE_BYTES');
    const flag = await cli(['db', 'status', '--json', '--bogus']);
    assert.equal(flag.code, 1);
    assert.equal(JSON.parse(flag.stdout).error.code, 'commander.unknownOption');
    assert.match(JSON.parse(flag.stdout).error.message, /--bogus/);
  });
});

describe('logs of the embedded mode', () => {
  it('carry level names; the first start prints the credentials once, after the log lines; a restart does not', async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'info' };
    const args = ['all', '--app-port', '0', '--public-port', '0', '--mirror-port', '0'];

    async function startAndStop(): Promise<Run> {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
      const done = collect(child);
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          if (/Stop with Ctrl-C[\s\S]*\n\n/.test(seen)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before it was running: ${seen}`)));
      });
      child.kill('SIGINT');
      return done;
    }

    const first = await startAndStop();
    const lines = first.stdout.split('\n');
    const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(json.length >= 5);
    for (const line of json) assert.equal(typeof line.level, 'string', JSON.stringify(line));
    for (const role of ['app', 'producer', 'mirror', 'proxy', 'all']) {
      const started = json.find((l) => l.role === role);
      assert.ok(started, `no startup line for ${role}`);
      assert.equal(started.version, JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
      if (role !== 'producer') assert.equal(typeof started.port, 'number', role);
    }
    const block = first.stdout.indexOf('FIRST START');
    assert.ok(block > 0, first.stdout);
    const lastStartLine = Math.max(
      ...json.filter((l) => l.role).map((l) => first.stdout.indexOf(JSON.stringify(l).slice(0, 60))),
    );
    assert.ok(block > lastStartLine, 'the credentials block comes after the startup lines');
    assert.match(first.stdout.slice(block), /Editor login: +admin \/ \S{10,}/);
    assert.match(first.stdout.slice(block), /user passwd admin/);
    // The embedded proxy writes no access log unless asked to.
    assert.ok(!json.some((l) => l.component === 'proxy' && 'status' in l && 'path' in l));

    const second = await startAndStop();
    assert.doesNotMatch(second.stdout, /FIRST START|Editor login/);
    assert.match(second.stdout, /hyperstatic user passwd admin/);
  });
});

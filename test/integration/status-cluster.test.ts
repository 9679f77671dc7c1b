// `hyperstatic status` against real processes (issue 20, "Truthful status"):
// a healthy cluster exits 0; with one producer killed and one mirror frozen
// (SIGSTOP: its sockets still accept, nothing answers) the table and the exit
// code say so within the thresholds, and say so again when the mirror thaws.
// The embedded mode (`hyperstatic all`) is checked on its own ports, proxy
// included.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/free-port';
import { sharedDatabase, sharedRedisUrl, SharedDatabase } from '../harness/shared';
import { HyperstaticProcess, startHyperstatic } from '../support/processes';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
const STALE_SECONDS = 3;
const REPORT_INTERVAL_MS = 300;
const PATIENCE = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs `hyperstatic status` until `done` accepts a run; the last run when it never does. */
async function statusUntil(env: Record<string, string>, args: string[], done: (run: Run) => boolean): Promise<Run> {
  const deadline = Date.now() + PATIENCE;
  for (;;) {
    const run = await cli(['status', ...args], env);
    if (done(run)) return run;
    if (Date.now() > deadline) assert.fail(`status never said what was expected:\n${run.stdout}\n${run.stderr}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function row(screen: string, first: string): string {
  const line = screen.split('\n').find((l) => l.startsWith(`${first} `));
  assert.ok(line, `no row for ${first} in:\n${screen}`);
  return line;
}

describe('`hyperstatic status` with app, two producers, two mirrors and a proxy as real processes', () => {
  let shared: SharedDatabase;
  const processes: HyperstaticProcess[] = [];
  let env: Record<string, string>;
  let statusEnv: Record<string, string>;
  let producer2: HyperstaticProcess;
  let mirror2: HyperstaticProcess;
  let mirror2Internal: string;

  before(async () => {
    shared = await sharedDatabase('status');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-status-'));
    env = {
      DATABASE_URL: shared.primaryUrl,
      REDIS_URL: await sharedRedisUrl(),
      REDIS_PREFIX: shared.database,
      DATA_DIR: dataDir,
      FEED_HEARTBEAT_MS: '500',
      FEED_HEARTBEAT_VALID_MS: '5000',
    };
    const run = (args: string[]) => execFileSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    run(['db', 'migrate']);
    run(['seed']);
    const credentials = ['m1', 'm2'].map((name) =>
      Object.fromEntries(
        run(['mirror', 'credentials', 'add', name])
          .toString()
          .trim()
          .split('\n')
          .map((l) => l.split('=', 2)),
      ),
    );
    const app = await startHyperstatic(['app'], env, { portVariable: 'APP_PORT' });
    processes.push(app);
    const producers = [
      await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT' }),
      await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT' }),
    ];
    processes.push(...producers);
    producer2 = producers[1];
    const mirrors: HyperstaticProcess[] = [];
    const mirrorInternals: string[] = [];
    for (const [i, credential] of credentials.entries()) {
      const internalPort = await freePort();
      mirrors.push(
        await startHyperstatic(
          ['mirror'],
          {
            ...env,
            ...credential,
            MIRROR_ORIGIN_URLS: app.url,
            MIRROR_DATA_DIR: path.join(dataDir, `mirror${i + 1}`),
            MIRROR_INTERNAL_PORT: String(internalPort),
            MIRROR_STATUS_INTERVAL_MS: String(REPORT_INTERVAL_MS),
          },
          { portVariable: 'MIRROR_PORT' },
        ),
      );
      mirrorInternals.push(`http://127.0.0.1:${internalPort}`);
    }
    processes.push(...mirrors);
    mirror2 = mirrors[1];
    mirror2Internal = mirrorInternals[1];
    const proxyInternalPort = await freePort();
    processes.push(
      await startHyperstatic(
        ['proxy'],
        {
          ...env,
          PROXY_UPSTREAMS: mirrors.map((m) => m.url).join(','),
          PROXY_ACCESS_LOG: 'false',
          PROXY_INTERNAL_PORT: String(proxyInternalPort),
        },
        { portVariable: 'PROXY_PORT' },
      ),
    );
    statusEnv = {
      DATABASE_URL: shared.primaryUrl,
      STATUS_APP_URLS: app.url,
      STATUS_PRODUCER_URLS: producers.map((p) => p.url).join(','),
      STATUS_MIRROR_URLS: mirrorInternals.join(','),
      STATUS_PROXY_URLS: `http://127.0.0.1:${proxyInternalPort}`,
      STATUS_STALE_SECONDS: String(STALE_SECONDS),
      STATUS_LAG_SECONDS: '60',
      STATUS_TIMEOUT_MS: '1000',
    };
  });

  after(async () => {
    mirror2?.signal('SIGCONT');
    for (const p of processes.reverse()) await p.kill();
    await shared?.drop();
  });

  it('exits 0 and says ok once every process is ready and every mirror has reported', async (t) => {
    const run = await statusUntil(statusEnv, [], (r) => r.code === 0);
    t.diagnostic(`healthy cluster:\n${run.stdout}`);
    assert.match(run.stdout, /^STATUS {4}ok: 6 process\(es\) ready, 2 mirror report\(s\) current/m);
    for (const name of ['m1', 'm2']) assert.match(row(run.stdout, name), new RegExp(`^${name}\\s+ok\\s`));
    assert.equal(run.stdout.match(/^(app|producer|mirror|proxy)\s+http\S+\s+ready\s+\d+$/gm)?.length, 6);
    assert.match(run.stdout, /^PROXIES\nPROXY\s+HIT RATIO/m);
  });

  it('with a producer killed and a mirror frozen, shows both down at once and the mirror unknown past the threshold, exiting 1', async (t) => {
    await producer2.kill();
    mirror2.signal('SIGSTOP');
    const frozenAt = Date.now();

    const now = await cli(['status'], statusEnv);
    assert.equal(now.code, 1, now.stderr);
    assert.match(now.stdout, new RegExp(`^producer\\s+${producer2.url}\\s+DOWN\\s+-\\s+ECONNREFUSED$`, 'm'));
    assert.match(
      now.stdout,
      new RegExp(`^mirror\\s+${mirror2Internal}\\s+DOWN\\s+-\\s+no answer within 1000 ms$`, 'm'),
    );
    assert.match(
      now.stdout,
      /^STATUS {4}\d+ problem\(s\): producer http:\S+ down: ECONNREFUSED; mirror http:\S+ down: /m,
    );

    // Its last report was sent at most one interval before the freeze: past the threshold it counts for nothing.
    await new Promise((r) => setTimeout(r, frozenAt + STALE_SECONDS * 1000 + REPORT_INTERVAL_MS + 200 - Date.now()));
    const later = await cli(['status'], statusEnv);
    t.diagnostic(`one mirror frozen and one producer killed:\n${later.stdout}`);
    assert.equal(later.code, 1, later.stderr);
    assert.match(row(later.stdout, 'm2'), /^m2\s+UNKNOWN\s+\d+\s+\d+\s+\?\s+\?\s+\?\s+\?\s+\d+\s/);
    assert.match(row(later.stdout, 'm1'), /^m1\s+ok\s/);
    assert.match(later.stdout, /mirror m2 unknown: last report \d+ s old \(over 3 s\)/);

    const json = await cli(['status', '--json'], statusEnv);
    assert.equal(json.code, 1);
    const status = JSON.parse(json.stdout) as {
      healthy: boolean;
      problems: string[];
      mirrors: { name: string; state: string }[];
      processes: { kind: string; url: string; state: string }[];
    };
    assert.equal(status.healthy, false);
    assert.deepEqual(
      status.processes.filter((p) => p.state !== 'ready').map((p) => [p.kind, p.url, p.state]),
      [
        ['producer', producer2.url, 'down'],
        ['mirror', mirror2Internal, 'down'],
      ],
    );
    assert.deepEqual(
      status.mirrors.map((m) => [m.name, m.state]),
      [
        ['m1', 'ok'],
        ['m2', 'unknown'],
      ],
    );
  });

  it('when the mirror thaws, names only the killed producer', async () => {
    mirror2.signal('SIGCONT');
    const run = await statusUntil(statusEnv, ['--json'], (r) => {
      const s = JSON.parse(r.stdout) as { problems: string[] };
      return s.problems.length === 1;
    });
    assert.equal(run.code, 1);
    assert.deepEqual((JSON.parse(run.stdout) as { problems: string[] }).problems, [
      `producer ${producer2.url} down: ECONNREFUSED`,
    ]);
  });
});

describe('`hyperstatic status` in the embedded mode', () => {
  let embedded: HyperstaticProcess | undefined;

  after(async () => {
    embedded?.signal('SIGCONT');
    await embedded?.kill();
  });

  it('checks the embedded app, mirror and proxy on their configured ports, and says DOWN when the process freezes', async (t) => {
    const env = {
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'hs-status-all-')),
      APP_PORT: String(await freePort()),
      MIRROR_PORT: String(await freePort()),
      MIRROR_INTERNAL_PORT: String(await freePort()),
      PROXY_INTERNAL_PORT: String(await freePort()),
      PROXY_ACCESS_LOG: 'false',
      STATUS_TIMEOUT_MS: '1000',
    };
    embedded = await startHyperstatic(['all'], env, { portVariable: 'PROXY_PORT', timeoutMs: PATIENCE });
    const statusEnv = { ...env, PROXY_PORT: String(embedded.port) };
    const healthy = await statusUntil(statusEnv, [], (r) => r.code === 0);
    t.diagnostic(`embedded:\n${healthy.stdout}`);
    assert.match(healthy.stdout, new RegExp(`^app\\s+http://127\\.0\\.0\\.1:${env.APP_PORT}\\s+ready\\s`, 'm'));
    assert.match(
      healthy.stdout,
      new RegExp(`^mirror\\s+http://127\\.0\\.0\\.1:${env.MIRROR_INTERNAL_PORT}\\s+ready\\s`, 'm'),
    );
    assert.match(
      healthy.stdout,
      new RegExp(`^proxy\\s+http://127\\.0\\.0\\.1:${env.PROXY_INTERNAL_PORT}\\s+ready\\s`, 'm'),
    );
    assert.match(
      healthy.stdout,
      new RegExp(`^http://127\\.0\\.0\\.1:${env.PROXY_INTERNAL_PORT}\\s+(-|\\d+\\.\\d%)\\s+\\d+`, 'm'),
    );

    embedded.signal('SIGSTOP');
    const frozen = await cli(['status'], statusEnv);
    assert.equal(frozen.code, 1, frozen.stderr);
    assert.equal(
      frozen.stdout.match(/^(app|mirror|proxy)\s+http\S+\s+DOWN\s+-\s+no answer within 1000 ms$/gm)?.length,
      3,
    );
    assert.match(frozen.stdout, /^STATUS {4}3 problem\(s\): app http:\S+ down: no answer within 1000 ms; mirror /m);
  });
});
